import _Builtin_intrinsics.intel
import HearthTensors

/// AVX-512 version of `ExactKernels` (HearthKernels/ExactPath.swift): the same per-dot arithmetic as ggml's x86
/// kernels — eight lanes of 4-element integer sums, one FMA per block by d_w·d_a, ggml's horizontal-sum order —
/// computed for two tokens at once in the halves of a 512-bit register, four tokens per weight row pass.

/// Quantizes `tokens` rows of `k` floats into ggml Q8_0 (or Q8_1 when `q81`) blocks, `k/32` blocks per row.
public func avx512QuantizeGGML(_ x: UnsafePointer<Float>, k: Int, tokenStart: Int, tokenEnd: Int, q81: Bool,
                               _ dst: UnsafeMutableRawPointer) {
    let bytes = q81 ? 36 : 34, nb = k / 32
    let absMask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFF_FFFF))
    for t in tokenStart..<tokenEnd {
        for b in 0..<nb {
            let src = x + t * k + 32 * b
            let blk = dst + (t * nb + b) * bytes
            let v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16)
            let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, absMask), _mm512_and_ps(v1, absMask)))
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let vid = _mm512_set1_ps(id)
            // cvtps_epi32 rounds half to even under the default MXCSR, like _mm256_round_ps(_MM_ROUND_NEAREST).
            let i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid)), i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid))
            let qs = blk + (q81 ? 4 : 2)
            _mm_storeu_si128(qs.assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(i0))
            _mm_storeu_si128((qs + 16).assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(i1))
            blk.storeBytes(of: floatToHalf(d), as: UInt16.self)
            if q81 {
                let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1))
                (blk + 2).storeBytes(of: floatToHalf(d * Float(sum)), as: UInt16.self)
            }
        }
    }
}

/// ggml's `hsum_float_8` order: ((l4+l0)+(l6+l2)) + ((l5+l1)+(l7+l3)).
@inline(__always) private func hsum8(_ v: SIMD8<Float>) -> Float {
    ((v[4] + v[0]) + (v[6] + v[2])) + ((v[5] + v[1]) + (v[7] + v[3]))
}

/// Q4_1 block → 32 unsigned bytes in element order (low nibbles, then high nibbles).
@inline(__always) private func q41Bytes(_ p: UnsafeRawPointer) -> __m256i {
    let raw = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
    let m = _mm_set1_epi8(0x0F)
    let lo = _mm_and_si128(raw, m), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m)
    return _mm256_set_m128i(hi, lo)
}

/// y[t * yStride + r] for rows rowStart..<rowEnd and all tokens: weights Q4_1 (with Q8_1 activations) or Q8_0
/// (with Q8_0 activations), activations as written by `avx512QuantizeGGML`.
public func avx512ExactMatmul(q41: Bool, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                              acts: UnsafeRawPointer, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
    let nb = k / 32
    let wBytes = q41 ? 20 : 34, aBytes = q41 ? 36 : 34, aq = q41 ? 4 : 2
    let aRow = nb * aBytes
    let upper: __mmask16 = 0xFF00
    for r in rowStart..<rowEnd {
        let wr = w + r * rowBytes
        var t = 0
        while t < nTokens {
            let nt = min(4, nTokens - t)
            // Tokens t, t+1 in acc01 (low/high halves), t+2, t+3 in acc23; missing tokens reuse the last one.
            let a0 = acts + t * aRow, a1 = acts + min(t + 1, nTokens - 1) * aRow
            let a2 = acts + min(t + 2, nTokens - 1) * aRow, a3 = acts + min(t + 3, nTokens - 1) * aRow
            var acc01 = _mm512_setzero_ps(), acc23 = _mm512_setzero_ps()
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            for b in 0..<nb {
                let wb = wr + b * wBytes
                let dw = halfToFloat(wb.loadUnaligned(as: UInt16.self))
                let qx: __m256i
                if q41 {
                    let mw = halfToFloat((wb + 2).loadUnaligned(as: UInt16.self))
                    s0 = s0.addingProduct(mw, halfToFloat((a0 + b * aBytes + 2).loadUnaligned(as: UInt16.self)))
                    s1 = s1.addingProduct(mw, halfToFloat((a1 + b * aBytes + 2).loadUnaligned(as: UInt16.self)))
                    s2 = s2.addingProduct(mw, halfToFloat((a2 + b * aBytes + 2).loadUnaligned(as: UInt16.self)))
                    s3 = s3.addingProduct(mw, halfToFloat((a3 + b * aBytes + 2).loadUnaligned(as: UInt16.self)))
                    qx = q41Bytes(wb + 4)
                } else {
                    qx = _mm256_loadu_si256((wb + 2).assumingMemoryBound(to: __m256i_u.self))
                }
                let ab0 = a0 + b * aBytes, ab1 = a1 + b * aBytes, ab2 = a2 + b * aBytes, ab3 = a3 + b * aBytes
                let y0 = _mm256_loadu_si256((ab0 + aq).assumingMemoryBound(to: __m256i_u.self))
                let y1 = _mm256_loadu_si256((ab1 + aq).assumingMemoryBound(to: __m256i_u.self))
                let y2 = _mm256_loadu_si256((ab2 + aq).assumingMemoryBound(to: __m256i_u.self))
                let y3 = _mm256_loadu_si256((ab3 + aq).assumingMemoryBound(to: __m256i_u.self))
                var x512 = _mm512_broadcast_i64x4(qx)
                var y01 = _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(y0), 0xF0, y1)
                var y23 = _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(y2), 0xF0, y3)
                var x23 = x512
                if !q41 {
                    // Signed × signed via |x| and sign(y, x), as ggml's mul_sum_i8_pairs_float.
                    let ax = _mm512_abs_epi8(x512)
                    let neg = _mm512_movepi8_mask(x512)
                    y01 = _mm512_mask_sub_epi8(y01, neg, _mm512_setzero_si512(), y01)
                    y23 = _mm512_mask_sub_epi8(y23, neg, _mm512_setzero_si512(), y23)
                    x512 = ax
                    x23 = ax
                }
                let p01 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), x512, y01))
                let p23 = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), x23, y23))
                let d0 = dw * halfToFloat(ab0.loadUnaligned(as: UInt16.self))
                let d1 = dw * halfToFloat(ab1.loadUnaligned(as: UInt16.self))
                let d2 = dw * halfToFloat(ab2.loadUnaligned(as: UInt16.self))
                let d3 = dw * halfToFloat(ab3.loadUnaligned(as: UInt16.self))
                let dd01 = _mm512_mask_blend_ps(upper, _mm512_set1_ps(d0), _mm512_set1_ps(d1))
                let dd23 = _mm512_mask_blend_ps(upper, _mm512_set1_ps(d2), _mm512_set1_ps(d3))
                acc01 = _mm512_fmadd_ps(dd01, p01, acc01)
                acc23 = _mm512_fmadd_ps(dd23, p23, acc23)
            }
            let v01 = unsafeBitCast(acc01, to: SIMD16<Float>.self), v23 = unsafeBitCast(acc23, to: SIMD16<Float>.self)
            let r0 = hsum8(v01.lowHalf) + s0, r1 = hsum8(v01.highHalf) + s1
            let r2 = hsum8(v23.lowHalf) + s2, r3 = hsum8(v23.highHalf) + s3
            y[t * yStride + r] = r0
            if nt > 1 { y[(t + 1) * yStride + r] = r1 }
            if nt > 2 { y[(t + 2) * yStride + r] = r2 }
            if nt > 3 { y[(t + 3) * yStride + r] = r3 }
            t += 4
        }
    }
}
