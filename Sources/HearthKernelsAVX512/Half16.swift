import _Builtin_intrinsics.intel
import CHearthPrefetch
import HearthTensors

/// Float → half and ggml's table GELU, sixteen lanes at a time with `vcvtps2ph` (round to nearest even, as ggml's
/// `GGML_FP32_TO_FP16` on x86 with F16C) and `vcvtph2ps`. The scalar references are HearthTensors' `floatToHalf`
/// / `halfToFloat` and `Ops.geglu`: same bits, NaN included (a NaN lane becomes the scalar's 0x7E00 | sign; the
/// hardware would keep part of its payload). In a gemma3 prefill the scalar conversions were 5 % of the time.

/// Half bits of 16 floats, NaN lanes as `floatToHalf` writes them.
@inline(__always)
private func toHalf16(_ v: __m512) -> __m256i {
    let f = unsafeBitCast(v, to: SIMD16<Float>.self)
    let nan = f .!= f
    if !any(nan) { return hearth_cvtps_ph(v) }
    // A NaN with only the quiet bit (and its sign) converts to 0x7E00 | sign, as `floatToHalf` gives.
    let bits = unsafeBitCast(v, to: SIMD16<UInt32>.self)
    let canonical = unsafeBitCast((bits & 0x8000_0000) | 0x7FC0_0000, to: SIMD16<Float>.self)
    return hearth_cvtps_ph(unsafeBitCast(f.replacing(with: canonical, where: nan), to: __m512.self))
}

/// y[i] = half bits of x[i], i < n.
public func avx512FloatToHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ n: Int) {
    var i = 0
    while i + 16 <= n {
        let h = toHalf16(_mm512_loadu_ps(x + i))
        _mm256_storeu_si256(UnsafeMutableRawPointer(y + i).assumingMemoryBound(to: __m256i_u.self), h)
        i += 16
    }
    while i < n { y[i] = floatToHalf(x[i]); i += 1 }
}

/// GeGLU in place with ggml's half table: gate = x ≤ −10 ? 0 : x ≥ 10 ? x·up : half(table[half(x)])·up.
/// `table` must hold 65 537 entries (the 32-bit gather of entry 65 535 reads one past it).
public func avx512GEGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int,
                        table: UnsafePointer<UInt16>, scalar: (Float, Float) -> Float) {
    let lo = SIMD16<Float>(repeating: -10), hi = SIMD16<Float>(repeating: 10)
    let low16 = _mm512_set1_epi32(0xFFFF)
    var i = 0
    while i + 16 <= n {
        let x = _mm512_loadu_ps(gate + i), u = _mm512_loadu_ps(up + i)
        let idx = _mm512_cvtepu16_epi32(toHalf16(x))
        let g = _mm512_and_si512(hearth_gather_scale2(idx, UnsafeRawPointer(table)), low16)
        let r = unsafeBitCast(_mm512_mul_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(g)), u), to: SIMD16<Float>.self)
        let xv = unsafeBitCast(x, to: SIMD16<Float>.self), uv = unsafeBitCast(u, to: SIMD16<Float>.self)
        let out = r.replacing(with: xv * uv, where: xv .>= hi).replacing(with: 0, where: xv .<= lo)
        _mm512_storeu_ps(gate + i, unsafeBitCast(out, to: __m512.self))
        i += 16
    }
    while i < n { gate[i] = scalar(gate[i], up[i]); i += 1 }
}
