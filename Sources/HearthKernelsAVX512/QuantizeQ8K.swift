import _Builtin_intrinsics.intel

/// ggml's `quantize_row_q8_K` (and, with `positiveTies`, the per-row values of `ggml_quantize_mat_q8_K_4x8`; see
/// HearthKernels `ExactKernels.quantizeRowQ8_KPositiveTies`) for `k` floats (a multiple of 256), 16 lanes at a
/// time; the scalar versions are the reference and a test checks the bits agree. Per 256-block: amax = max |x|;
/// the scale's sign comes from the first element of magnitude amax (`positiveTies`: + when any element equals
/// +amax); iscale = −127/max; q = round-half-even(iscale·x) clamped to [−128, 127] (`vcvtps2dq` under the
/// default rounding mode equals ggml's `nearest_int` here, |iscale·x| ≤ 127); bsums per 16; d = 1/iscale.
/// Scalar, this was 5 % of a gemma-3-270m 512-token prefill.
/// Lanes where a and b hold the same bits (`_mm512_cmpeq_epi32_mask` and the float compares are macros Swift
/// cannot import; non-NaN floats are equal when their bits are).
@inline(__always) private func equalLanes(_ a: __m512i, _ b: __m512i) -> __mmask16 {
    let x = _mm512_xor_si512(a, b)
    return _mm512_testn_epi32_mask(x, x)
}

public func avx512QuantizeQ8K(_ x: UnsafePointer<Float>, k: Int, positiveTies: Bool, _ dst: UnsafeMutableRawPointer) {
    let absMask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFF_FFFF))
    for b in 0..<(k / 256) {
        let src = x + b * 256, blk = dst + b * 292
        var m = _mm512_setzero_ps()
        for v in 0..<16 { m = _mm512_max_ps(m, _mm512_and_ps(_mm512_loadu_ps(src + 16 * v), absMask)) }
        let amax = _mm512_reduce_max_ps(m)
        if !(amax > 0) {
            blk.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
            continue
        }
        var negative = false
        if positiveTies {
            var anyPositive = false
            let va = _mm512_set1_epi32(Int32(bitPattern: amax.bitPattern))
            for v in 0..<16 where equalLanes(_mm512_castps_si512(_mm512_loadu_ps(src + 16 * v)), va) != 0 {
                anyPositive = true
            }
            negative = !anyPositive
        } else {
            let va = _mm512_set1_epi32(Int32(bitPattern: amax.bitPattern))
            for v in 0..<16 {
                let hits = equalLanes(_mm512_castps_si512(_mm512_and_ps(_mm512_loadu_ps(src + 16 * v), absMask)), va)
                if hits != 0 {
                    negative = src[16 * v + Int(UInt16(hits).trailingZeroBitCount)] < 0
                    break
                }
            }
        }
        let maxSigned = negative ? -amax : amax
        let iscale = -127 / maxSigned
        let vs = _mm512_set1_ps(iscale)
        let hi = _mm512_set1_epi32(127), lo = _mm512_set1_epi32(-128)
        for v in 0..<16 {
            let q = _mm512_max_epi32(lo, _mm512_min_epi32(hi, _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(src + 16 * v), vs))))
            _mm_storeu_si128((blk + 4 + 16 * v).assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(q))
            blk.storeBytes(of: Int16(truncatingIfNeeded: _mm512_reduce_add_epi32(q)), toByteOffset: 260 + 2 * v,
                           as: Int16.self)
        }
        blk.storeBytes(of: 1 / iscale, as: Float.self)
    }
}
