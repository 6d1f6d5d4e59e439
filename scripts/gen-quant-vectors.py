#!/usr/bin/env python3
"""Writes the quantization test vectors under Tests/HearthKernelsTests/Vectors/.

For every type the Swift kernels know there is a `<T>.blocks` file (raw little-endian block bytes: random bits
with sane finite scales, plus a few edge cases) and a `<T>.floats` file with what gguf.quants (or, for the types
gguf has no class for — F32, Q8_1, Q8_K — a few lines of numpy below) dequantizes them to, as little-endian f32.
Types that can be quantized also get `<T>.qsrc` (f32 input) and `<T>.qblocks` (the expected bytes): from
gguf.quants for F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0; from the numpy ports of ggml's
quantize_row_q8_1_ref / quantize_row_q8_K_ref below for Q8_1 / Q8_K.
`manifest.json` lists them all. Deterministic: fixed seed.

Usage: python3 scripts/gen-quant-vectors.py   (needs numpy and the `gguf` package)
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "HearthKernelsTests", "Vectors")

rng = np.random.default_rng(SEED)

# name -> (ggml id, block size, block bytes)
TYPES = {
    "F32": (0, 1, 4), "F16": (1, 1, 2), "BF16": (30, 1, 2),
    "Q4_0": (2, 32, 18), "Q4_1": (3, 32, 20), "Q5_0": (6, 32, 22), "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34), "Q8_1": (9, 32, 36),
    "Q2_K": (10, 256, 84), "Q3_K": (11, 256, 110), "Q4_K": (12, 256, 144), "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210), "Q8_K": (15, 256, 292),
}
# byte offsets of the fp16 scale fields in each block
HALF_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "Q8_1": [0, 2],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
}
SPECIAL_HALVES = [0x0000, 0x8000, 0x0001, 0x03FF, 0x8200, 0x3C00, 0xBC00, 0x7BFF]  # 0, -0, subnormals, ±1, max


def random_half_scales(n):
    """Finite fp16 scales of both signs across several decades."""
    mag = 10.0 ** rng.uniform(-5, 0.5, size=n)
    sign = np.where(rng.random(n) < 0.3, -1.0, 1.0)
    return (mag * sign).astype(np.float16)


def random_blocks(name, n_blocks):
    _, _, bb = TYPES[name]
    raw = rng.integers(0, 256, size=(n_blocks, bb), dtype=np.uint8)
    if name in HALF_FIELDS:
        fields = HALF_FIELDS[name]
        for fi, off in enumerate(fields):
            h = random_half_scales(n_blocks).view(np.uint16)
            # blocks 1... carry the edge-case scales (rotated per field); block 0 keeps random ones
            for bi in range(1, n_blocks):
                if bi % 2 == 1 or len(fields) == 1:
                    h[bi] = SPECIAL_HALVES[(bi + 3 * fi) % len(SPECIAL_HALVES)]
            raw[:, off:off + 2] = h.astype("<u2").reshape(-1, 1).view(np.uint8).reshape(n_blocks, 2)
    if name == "Q8_K":
        d = (10.0 ** rng.uniform(-4, 0, size=n_blocks) * np.where(rng.random(n_blocks) < 0.3, -1, 1)).astype(np.float32)
        d[0] = 0.0
        raw[:, 0:4] = d.view(np.uint8).reshape(n_blocks, 4)
        qs = raw[:, 4:260].view(np.int8).astype(np.int16)
        bsums = qs.reshape(n_blocks, 16, 16).sum(axis=-1).astype("<i2")
        raw[:, 260:292] = bsums.view(np.uint8).reshape(n_blocks, 32)
    return raw


def dequant_reference(name, raw):
    if name == "F32":
        return raw.view("<f4").reshape(-1).copy()
    if name == "F16":
        return raw.view("<f2").astype(np.float32).reshape(-1)
    if name == "Q8_1":  # no gguf class: x = d * q
        d = raw[:, 0:2].copy().view("<f2").astype(np.float32)
        return (raw[:, 4:36].view(np.int8).astype(np.float32) * d).reshape(-1)
    if name == "Q8_K":  # no gguf class: x = d * q with an f32 d
        d = raw[:, 0:4].copy().view("<f4")
        return (d * raw[:, 4:260].view(np.int8).astype(np.float32)).reshape(-1)
    return dequantize(raw.reshape(-1), getattr(T, name)).astype(np.float32).reshape(-1)


def quantize_q8_1(x):
    """numpy port of ggml quantize_row_q8_1_ref."""
    blocks = x.reshape(-1, 32)
    out = []
    for b in blocks:
        amax = np.float32(np.max(np.abs(b)))
        d = np.float32(amax / np.float32(127))
        idv = np.float32(0) if d == 0 else np.float32(np.float32(1) / d)
        v = (b * idv).astype(np.float32)
        a = np.abs(v)
        fl = np.floor(a)
        q = (np.sign(v) * (fl + np.floor(2 * (a - fl)))).astype(np.int8)  # roundf: half away from zero
        s = np.float32(np.float32(int(q.astype(np.int32).sum())) * d)
        out.append(np.concatenate([np.array([d], "<f2").view(np.uint8), np.array([s], "<f2").view(np.uint8),
                                   q.view(np.uint8)]))
    return np.stack(out)


def quantize_q8_k(x):
    """numpy port of ggml quantize_row_q8_K_ref (an all-zero block gets zero d, quants and bsums)."""
    blocks = x.reshape(-1, 256)
    out = []
    for b in blocks:
        i = int(np.argmax(np.abs(b)))  # first index of the largest magnitude, as ggml's strict '>'
        mx = np.float32(b[i])
        if np.abs(mx) == 0:
            out.append(np.zeros(292, np.uint8))
            continue
        iscale = np.float32(np.float32(-127.0) / mx)
        v = np.rint((iscale * b).astype(np.float32))  # nearest_int: ties to even
        q = np.minimum(127, v).astype(np.int8)
        bsums = q.astype(np.int16).reshape(16, 16).sum(axis=-1).astype("<i2")
        d = np.float32(np.float32(1.0) / iscale)
        out.append(np.concatenate([np.array([d], "<f4").view(np.uint8), q.view(np.uint8), bsums.view(np.uint8)]))
    return np.stack(out)


def quant_sources(name, n_blocks):
    """Float blocks to quantize: random magnitudes across decades plus edge-case blocks."""
    _, bs, _ = TYPES[name]
    bs = max(bs, 32)
    x = (rng.standard_normal((n_blocks, bs)) * (10.0 ** rng.uniform(-3, 2, size=(n_blocks, 1)))).astype(np.float32)
    x[0] = 0.0                                               # all zero: d = 0 path
    x[1] = 1.25                                              # constant: max == min for Q4_1/Q5_1
    x[2] = rng.uniform(-1, 1, bs).astype(np.float32); x[2][5] = -3.0   # negative extreme
    # exact ties: with amax 127 the scale is 1 and x.5 lands exactly on a rounding tie
    x[3] = (rng.integers(-126, 126, bs) + 0.5).astype(np.float32); x[3][7] = -127.0
    if n_blocks > 4:
        x[4] = np.abs(x[4])                                  # all positive
        x[4][3] = x[4].max() * 2                             # positive extreme
    if n_blocks > 5 and name in ("F16", "BF16"):
        x[5][:5] = [1e-6, -3e-8, 70000.0, 65519.99, -1e-40]   # half subnormals, overflow, f32 subnormal
    return x.reshape(-1)


def write(path, arr):
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(np.ascontiguousarray(arr).tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {"seed": SEED, "gguf": getattr(gguf, "__version__", "unknown"), "numpy": np.__version__,
                "types": []}
    gguf_quantizable = {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"}
    for name, (tid, bs, bb) in TYPES.items():
        entry = {"name": name, "id": tid, "blockSize": bs, "blockBytes": bb}
        # --- dequantize vectors
        if bs == 1:
            n = 512
            if name == "F32":
                vals = (rng.standard_normal(n) * 10.0 ** rng.uniform(-30, 30, n)).astype(np.float32)
                vals[:6] = [0.0, -0.0, np.inf, -np.inf, 1e-45, -3.4e38]
                raw = vals.view(np.uint8).reshape(n, 4)
            else:
                bits = rng.integers(0, 65536, size=n, dtype=np.uint32).astype(np.uint16)
                bits[:8] = [0x0000, 0x8000, 0x0001, 0x8001, 0x7C00 if name == "F16" else 0x7F80,
                            0xFC00 if name == "F16" else 0xFF80, 0x3C00 if name == "F16" else 0x3F80, 0x03FF]
                if name == "F16":  # no NaNs: payload handling is not part of the contract
                    nan = (bits & 0x7C00) == 0x7C00
                    nan &= (bits & 0x03FF) != 0
                    bits[nan] &= 0xBFFF
                else:
                    nan = ((bits & 0x7F80) == 0x7F80) & ((bits & 0x007F) != 0)
                    bits[nan] &= 0xBFFF
                raw = bits.astype("<u2").view(np.uint8).reshape(n, 2)
        else:
            nb = 16 if bs == 32 else 5
            raw = random_blocks(name, nb)
        floats = dequant_reference(name, raw)
        assert floats.dtype == np.float32 and floats.size == raw.shape[0] * bs
        write(f"{name}.blocks", raw)
        write(f"{name}.floats", floats.astype("<f4"))
        entry["elements"] = int(floats.size)
        # --- quantize vectors
        if name in gguf_quantizable or name in ("Q8_1", "Q8_K"):
            nb = 8 if bs <= 32 else 4
            src = quant_sources(name, nb)
            if name in gguf_quantizable:
                q = quantize(src, getattr(T, name))
                q = np.asarray(q).view(np.uint8).reshape(-1)
                entry["quantizer"] = "gguf.quants"
            elif name == "Q8_1":
                q = quantize_q8_1(src).reshape(-1)
                # its d and qs must agree with gguf's Q8_0 (same algorithm)
                q80 = quantize(src, T.Q8_0).reshape(-1, 34)
                q81 = q.reshape(-1, 36)
                assert (q80[:, 0:2] == q81[:, 0:2]).all() and (q80[:, 2:] == q81[:, 4:]).all()
                entry["quantizer"] = "numpy port of quantize_row_q8_1_ref"
            else:
                q = quantize_q8_k(src).reshape(-1)
                entry["quantizer"] = "numpy port of quantize_row_q8_K_ref"
            write(f"{name}.qsrc", src.astype("<f4"))
            write(f"{name}.qblocks", q)
            entry["quantizeElements"] = int(src.size)
        manifest["types"].append(entry)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print(f"wrote {len(manifest['types'])} types, {total} bytes to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
