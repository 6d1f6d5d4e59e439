import _Builtin_intrinsics.intel
import HearthTensors

/// AVX-512 versions of `ExactKernels.dotQ4_K` (HearthKernels/ExactQ4K.swift): ggml's repacked x86 Q4_K kernels
/// (`ggml_gemv_q4_K_8x8_q8_K`, `ggml_gemm_q4_K_8x8_q8_K`). Their integer sums (sub-block dots times 6-bit scales,
/// bsums times mins) are exact, so any order gives the same int32; what must match is where the float FMAs fall:
/// once per 256-block for GEMV tokens, once per pair of 32-element sub-blocks for GEMM tokens.

/// The Q8_K activation row of one token rearranged for `avx512ExactGemvQ4K8` (ExactQ4KGemv.swift): per 256-block four 64-byte groups
/// [sub-block 0 | 2], [1 | 3], [4 | 6], [5 | 7] (matching the low/high nibbles of the block's two 64-byte halves),
/// then the eight sub-block quant sums as Int32 and d, padding to 320, then the sums again as int16 in lanes 8–15
/// and 24–31 of a 64-byte vector (the rest zero: `avx512ExactGemvQ4K8` multiplies it with [scales, mins] of two
/// rows). `dst` holds `k/256 · avx512Q4KActBytesPerBlock` bytes.
public let avx512Q4KActBytesPerBlock = 256 + 32 + 4 + 28 + 64

public func avx512PrepareQ4KActivation(_ act: UnsafeRawPointer, k: Int, _ dst: UnsafeMutableRawPointer) {
    let nb = k / 256
    // d_t of every block as floats, repeated for 8 more (see `avx512Q4KActBytes`).
    let da = (dst + nb * avx512Q4KActBytesPerBlock).assumingMemoryBound(to: Float.self)
    for j in 0..<(nb + 8) { da[j] = act.loadUnaligned(fromByteOffset: (j % nb) * 292, as: Float.self) }
    for b in 0..<nb {
        let y = act + b * 292, o = dst + b * avx512Q4KActBytesPerBlock
        for (g, (s0, s1)) in [(0, 2), (1, 3), (4, 6), (5, 7)].enumerated() {
            (o + 64 * g).copyMemory(from: y + 4 + 32 * s0, byteCount: 32)
            (o + 64 * g + 32).copyMemory(from: y + 4 + 32 * s1, byteCount: 32)
        }
        for s in 0..<8 {
            let v = Int32(y.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                &+ Int32(y.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
            o.storeBytes(of: v, toByteOffset: 256 + 4 * s, as: Int32.self)
        }
        o.storeBytes(of: y.loadUnaligned(as: Float.self), toByteOffset: 288, as: Float.self)
        for i in 0..<32 { o.storeBytes(of: Int16(0), toByteOffset: 320 + 2 * i, as: Int16.self) }
        for s in 0..<8 {
            // |sum of 32 int8| ≤ 4096: fits int16.
            let v = Int16(truncatingIfNeeded: o.loadUnaligned(fromByteOffset: 256 + 4 * s, as: Int32.self))
            o.storeBytes(of: v, toByteOffset: 320 + 2 * (8 + s), as: Int16.self)
            o.storeBytes(of: v, toByteOffset: 320 + 2 * (24 + s), as: Int16.self)
        }
    }
}

/// The 8 scales and 8 mins of a Q4_K block (12 packed bytes at `p`) as two UInt64 of bytes (ggml's utmp).
@inline(__always) private func q4KScalesMins(_ p: UnsafeRawPointer) -> (UInt64, UInt64) {
    let u0 = p.loadUnaligned(as: UInt32.self), u1 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let u2 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let k1: UInt32 = 0x3f3f_3f3f, k2: UInt32 = 0x0f0f_0f0f, k3: UInt32 = 0x0303_0303
    let t3 = ((u2 >> 4) & k2) | (((u1 >> 6) & k3) << 4)
    let t1 = (u2 & k2) | (((u0 >> 6) & k3) << 4)
    let scales = UInt64(u0 & k1) | UInt64(t1) << 32
    let mins = UInt64(u1 & k1) | UInt64(t3) << 32
    return (scales, mins)
}


// MARK: - Prefill: 16 rows a panel, one token at a time

/// Panel bytes per 256 columns: quants [sub-block 8][chunk 8][row 16][4 bytes] (4096), scales and mins
/// [sub-block 8][row 16] Int32 (2 × 512), d and dmin [row 16] (2 × 64).
public let avx512Q4KPanelBytesPerBlock = 4096 + 1024 + 128

/// Decodes rows r0..<r0+16 (rows past `rowEnd` repeat the last one) into `panel`.
private func fillPanelQ4K(w: UnsafeRawPointer, rowBytes: Int, r0: Int, rowEnd: Int, nb: Int,
                          panel: UnsafeMutableRawPointer) {
    let m4 = _mm512_set1_epi8(0x0F)
    @inline(__always) func row(_ j: Int) -> UnsafeRawPointer { w + min(r0 + j, rowEnd - 1) * rowBytes }
    // Quants: for each block and 32-byte chunk p, rows j and j + 8 share a register ([row j | row j + 8], eight
    // u32 each); an 8×8 u32 transpose in both 256-bit halves then gives line (sub-block, c) = u32 c of rows
    // 0…15, stored whole (a 16-row × 4-byte transpose; with one scalar store per u32 the fill was 4× the
    // arithmetic of an 8-token GEMM).
    let join = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0)
    let lowLanes = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0), highLanes = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2)
    @inline(__always) func transposeStore(_ r: UnsafePointer<__m512i>, _ line: UnsafeMutableRawPointer) {
        let t0 = _mm512_unpacklo_epi32(r[0], r[1]), t1 = _mm512_unpackhi_epi32(r[0], r[1])
        let t2 = _mm512_unpacklo_epi32(r[2], r[3]), t3 = _mm512_unpackhi_epi32(r[2], r[3])
        let t4 = _mm512_unpacklo_epi32(r[4], r[5]), t5 = _mm512_unpackhi_epi32(r[4], r[5])
        let t6 = _mm512_unpacklo_epi32(r[6], r[7]), t7 = _mm512_unpackhi_epi32(r[6], r[7])
        @inline(__always) func out(_ c: Int, _ u: __m512i, _ v: __m512i) {
            _mm512_storeu_si512(line + c * 64, _mm512_permutex2var_epi64(u, lowLanes, v))
            _mm512_storeu_si512(line + (c + 4) * 64, _mm512_permutex2var_epi64(u, highLanes, v))
        }
        out(0, _mm512_unpacklo_epi64(t0, t2), _mm512_unpacklo_epi64(t4, t6))
        out(1, _mm512_unpackhi_epi64(t0, t2), _mm512_unpackhi_epi64(t4, t6))
        out(2, _mm512_unpacklo_epi64(t1, t3), _mm512_unpacklo_epi64(t5, t7))
        out(3, _mm512_unpackhi_epi64(t1, t3), _mm512_unpackhi_epi64(t5, t7))
    }
    withUnsafeTemporaryAllocation(of: __m512i.self, capacity: 16) { regs in
        guard let lo = regs.baseAddress else { return }
        let hi = lo + 8
        for b in 0..<nb {
            let pb = panel + b * avx512Q4KPanelBytesPerBlock
            for p in 0..<4 {
                for j in 0..<8 {
                    let a = row(j) + b * 144 + 16 + 32 * p, c = row(j + 8) + b * 144 + 16 + 32 * p
                    let raw = _mm512_permutex2var_epi64(_mm512_castsi256_si512(a.loadUnaligned(as: __m256i.self)), join,
                                                        _mm512_castsi256_si512(c.loadUnaligned(as: __m256i.self)))
                    lo[j] = _mm512_and_si512(raw, m4)
                    hi[j] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4)
                }
                transposeStore(lo, pb + (2 * p) * 8 * 64)
                transposeStore(hi, pb + (2 * p + 1) * 8 * 64)
            }
        }
    }
    for j in 0..<16 {
        let row = row(j)
        for b in 0..<nb {
            let x = row + b * 144, pb = panel + b * avx512Q4KPanelBytesPerBlock
            let (sc8, mn8) = q4KScalesMins(x + 4)
            for s in 0..<8 {
                pb.storeBytes(of: Int32(truncatingIfNeeded: (sc8 >> (8 * UInt64(s))) & 0xFF),
                              toByteOffset: 4096 + s * 64 + 4 * j, as: Int32.self)
                pb.storeBytes(of: Int32(truncatingIfNeeded: (mn8 >> (8 * UInt64(s))) & 0xFF),
                              toByteOffset: 4608 + s * 64 + 4 * j, as: Int32.self)
            }
            pb.storeBytes(of: Float(x.loadUnaligned(as: Float16.self)), toByteOffset: 5120 + 4 * j, as: Float.self)
            pb.storeBytes(of: Float(x.loadUnaligned(fromByteOffset: 2, as: Float16.self)),
                          toByteOffset: 5184 + 4 * j, as: Float.self)
        }
    }
}

/// Sub-block `s` dots of the 16 panel rows with token block `yb` (Q8_K), times the rows' scales.
@inline(__always)
private func scaledDots(_ pb: UnsafeRawPointer, _ yb: UnsafeRawPointer, _ s: Int) -> __m512i {
    var dot = _mm512_setzero_si512()
    let q = pb + s * 512, a = yb + 4 + 32 * s
    for c in 0..<8 {
        dot = _mm512_dpbusd_epi32(dot, _mm512_loadu_si512(q + 64 * c),
                                  _mm512_set1_epi32(a.loadUnaligned(fromByteOffset: 4 * c, as: Int32.self)))
    }
    return _mm512_mullo_epi32(dot, _mm512_loadu_si512(pb + 4096 + 64 * s))
}

/// `scaledDots` for two tokens at once (each panel load serves both).
@inline(__always)
private func scaledDots2(_ pb: UnsafeRawPointer, _ ya: UnsafeRawPointer, _ yb: UnsafeRawPointer,
                         _ s: Int) -> (__m512i, __m512i) {
    var da = _mm512_setzero_si512(), db = _mm512_setzero_si512()
    let q = pb + s * 512, a = ya + 4 + 32 * s, b = yb + 4 + 32 * s
    for c in 0..<8 {
        let w = _mm512_loadu_si512(q + 64 * c)
        da = _mm512_dpbusd_epi32(da, w, _mm512_set1_epi32(a.loadUnaligned(fromByteOffset: 4 * c, as: Int32.self)))
        db = _mm512_dpbusd_epi32(db, w, _mm512_set1_epi32(b.loadUnaligned(fromByteOffset: 4 * c, as: Int32.self)))
    }
    let sc = _mm512_loadu_si512(pb + 4096 + 64 * s)
    return (_mm512_mullo_epi32(da, sc), _mm512_mullo_epi32(db, sc))
}

/// The 16 panel rows' GEMM- or GEMV-arithmetic results for tokens `ta` and `tb` (both on the same side of
/// `gemmTokens`, which is a multiple of 4).
@inline(__always)
private func panelTokens2(_ panel: UnsafeRawPointer, nb: Int, _ ya: UnsafeRawPointer, _ yb: UnsafeRawPointer,
                          gemm: Bool) -> (__m512, __m512) {
    var accA = _mm512_setzero_ps(), accmA = _mm512_setzero_ps()
    var accB = _mm512_setzero_ps(), accmB = _mm512_setzero_ps()
    for b in 0..<nb {
        let pb = panel + b * avx512Q4KPanelBytesPerBlock, a = ya + b * 292, c = yb + b * 292
        let d = _mm512_loadu_ps(pb + 5120), dmin = _mm512_loadu_ps(pb + 5184)
        let daA = _mm512_set1_ps(a.loadUnaligned(as: Float.self)), daB = _mm512_set1_ps(c.loadUnaligned(as: Float.self))
        let ddA = _mm512_mul_ps(d, daA), dmA = _mm512_mul_ps(dmin, daA)
        let ddB = _mm512_mul_ps(d, daB), dmB = _mm512_mul_ps(dmin, daB)
        var isA = _mm512_setzero_si512(), imA = _mm512_setzero_si512()
        var isB = _mm512_setzero_si512(), imB = _mm512_setzero_si512()
        for s in 0..<8 {
            let (xa, xb) = scaledDots2(pb, a, c, s)
            isA = _mm512_add_epi32(isA, xa)
            isB = _mm512_add_epi32(isB, xb)
            let mins = _mm512_loadu_si512(pb + 4608 + 64 * s)
            let bsA = Int32(a.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                &+ Int32(a.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
            let bsB = Int32(c.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                &+ Int32(c.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
            imA = _mm512_add_epi32(imA, _mm512_mullo_epi32(_mm512_set1_epi32(bsA), mins))
            imB = _mm512_add_epi32(imB, _mm512_mullo_epi32(_mm512_set1_epi32(bsB), mins))
            if gemm && s & 1 == 1 {
                accA = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isA), ddA, accA)
                accmA = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imA), dmA, accmA)
                accB = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isB), ddB, accB)
                accmB = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imB), dmB, accmB)
                isA = _mm512_setzero_si512(); imA = _mm512_setzero_si512()
                isB = _mm512_setzero_si512(); imB = _mm512_setzero_si512()
            }
        }
        if !gemm {
            accA = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isA), ddA, accA)
            accmA = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imA), dmA, accmA)
            accB = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isB), ddB, accB)
            accmB = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imB), dmB, accmB)
        }
    }
    return (_mm512_sub_ps(accA, accmA), _mm512_sub_ps(accB, accmB))
}

/// Q4_K rows rowStart..<rowEnd × tokens 0..<nTokens (`acts`: k/256 Q8_K blocks a token), 16 rows a panel;
/// tokens below `gemmTokens` take ggml's GEMM arithmetic, the rest its GEMV arithmetic. `panel` holds
/// `k/256 · avx512Q4KPanelBytesPerBlock` bytes. With `interleaved` (the same rows repacked sixteen at a time,
/// ExactQ4KInterleaved.swift; rowStart a multiple of 16) the panels are filled from that layout.
public func avx512ExactGemmQ4K(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                               acts: UnsafeRawPointer, nTokens: Int, gemmTokens: Int,
                               y: UnsafeMutablePointer<Float>, yStride: Int, panel: UnsafeMutableRawPointer,
                               interleaved: UnsafeRawPointer? = nil) {
    let nb = k / 256, aRow = nb * 292
    var r0 = rowStart
    while r0 < rowEnd {
        if let iw = interleaved, r0 % 16 == 0, rowEnd - r0 >= 16 {
            fillPanelQ4KR16(iw + r0 / 16 * nb * avx512Q4KR16BlockBytes, nb: nb, panel: panel)
        } else {
            fillPanelQ4K(w: w, rowBytes: rowBytes, r0: r0, rowEnd: rowEnd, nb: nb, panel: panel)
        }
        let mask = __mmask16(truncatingIfNeeded: (1 << min(16, rowEnd - r0)) - 1)
        // Token pairs (an even t and t+1 are on the same side of gemmTokens), then an odd last token alone.
        var t = 0
        while t + 1 < nTokens {
            let (ra, rb) = panelTokens2(panel, nb: nb, acts + t * aRow, acts + (t + 1) * aRow, gemm: t < gemmTokens)
            _mm512_mask_storeu_ps(y + t * yStride + r0, mask, ra)
            _mm512_mask_storeu_ps(y + (t + 1) * yStride + r0, mask, rb)
            t += 2
        }
        for t in t..<nTokens {
            let gemm = t < gemmTokens
            var acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps()
            for b in 0..<nb {
                let pb = UnsafeRawPointer(panel + b * avx512Q4KPanelBytesPerBlock), yb = acts + t * aRow + b * 292
                let da = _mm512_set1_ps(yb.loadUnaligned(as: Float.self))
                let dd = _mm512_mul_ps(_mm512_loadu_ps(pb + 5120), da)
                let dm = _mm512_mul_ps(_mm512_loadu_ps(pb + 5184), da)
                var isum = _mm512_setzero_si512(), imin = _mm512_setzero_si512()
                for s in 0..<8 {
                    isum = _mm512_add_epi32(isum, scaledDots(pb, yb, s))
                    let bs = Int32(yb.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                        &+ Int32(yb.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
                    imin = _mm512_add_epi32(imin, _mm512_mullo_epi32(_mm512_set1_epi32(bs),
                                                                     _mm512_loadu_si512(pb + 4608 + 64 * s)))
                    if gemm && s & 1 == 1 {
                        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), dd, acc)
                        accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imin), dm, accm)
                        isum = _mm512_setzero_si512()
                        imin = _mm512_setzero_si512()
                    }
                }
                if !gemm {
                    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), dd, acc)
                    accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imin), dm, accm)
                }
            }
            _mm512_mask_storeu_ps(y + t * yStride + r0, mask, _mm512_sub_ps(acc, accm))
        }
        r0 += 16
    }
}
