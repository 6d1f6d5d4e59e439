import _Builtin_intrinsics.intel
import HearthTensors

/// AVX-512 float-weight kernel: rows `rowStart..<rowEnd` of an F32/F16/BF16 matrix times `nTokens` F32 rows,
/// register tile 4 rows × 4 tokens.
public func avx512FloatMatmul(type: GGMLType, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int,
                              rowEnd: Int, x: UnsafePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>,
                              yStride: Int) {
    switch type {
    case .f32:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 4,
                  load: { p in _mm512_loadu_ps(p) },
                  mload: { p, m in _mm512_maskz_loadu_ps(m, p) })
    case .f16:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 2,
                  load: { p in _mm512_cvtph_ps(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))) },
                  mload: { p, m in _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)) })
    case .bf16:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 2,
                  load: { p in
                      _mm512_castsi512_ps(_mm512_slli_epi32(
                          _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))), 16))
                  },
                  mload: { p, m in
                      _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16))
                  })
    default:
        preconditionFailure("avx512FloatMatmul: \(type) is not a float type")
    }
}

@inline(__always)
private func floatRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int, _ r0: Int, _ r1: Int,
                       _ x: UnsafePointer<Float>, _ nTokens: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int,
                       elt: Int, load: (UnsafeRawPointer) -> __m512, mload: (UnsafeRawPointer, UInt16) -> __m512) {
    let k16 = k & ~15
    let tailMask = UInt16(truncatingIfNeeded: (1 << (k - k16)) - 1)
    var r = r0
    while r < r1 {
        let rn = min(4, r1 - r)
        var t = 0
        while t < nTokens {
            let tn = min(4, nTokens - t)
            var acc = InlineArray<16, __m512>(repeating: _mm512_setzero_ps())
            var wp = InlineArray<4, UnsafeRawPointer>(repeating: w)
            var xp = InlineArray<4, UnsafePointer<Float>>(repeating: x)
            for i in 0..<4 { wp[i] = w + (r + min(i, rn - 1)) * rowBytes }
            for j in 0..<4 { xp[j] = x + (t + min(j, tn - 1)) * k }
            var e = 0
            while e < k16 {
                var xv = InlineArray<4, __m512>(repeating: _mm512_setzero_ps())
                for j in 0..<4 { xv[j] = _mm512_loadu_ps(xp[j] + e) }
                for i in 0..<4 {
                    let wv = load(wp[i] + e * elt)
                    for j in 0..<4 { acc[4 * i + j] = _mm512_fmadd_ps(wv, xv[j], acc[4 * i + j]) }
                }
                e += 16
            }
            if tailMask != 0 {
                for i in 0..<4 {
                    let wv = mload(wp[i] + k16 * elt, tailMask)
                    for j in 0..<4 {
                        acc[4 * i + j] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(tailMask, xp[j] + k16), acc[4 * i + j])
                    }
                }
            }
            for i in 0..<rn {
                for j in 0..<tn { y[(t + j) * yStride + r + i] = _mm512_reduce_add_ps(acc[4 * i + j]) }
            }
            t += tn
        }
        r += rn
    }
}
