import _Builtin_intrinsics.intel
import HearthTensors

@inline(__always) func hsum(_ v: __m256) -> Float {
    let hi = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(4, 5, 6, 7, 4, 5, 6, 7))
    var s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_castps256_ps128(hi))
    s = _mm_hadd_ps(s, s)
    s = _mm_hadd_ps(s, s)
    return _mm_cvtss_f32(s)
}

@inline(__always) func ldi(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))
}

/// AVX2 kernel over one unpacked 4-row panel (`PanelLayout`, `rows` ≤ 4 slots filled) and all tokens:
/// `y[t * yStride + i] = dot(panel row i, activation row t)`. `signedWeights`: q holds int8 weights (offset 0)
/// and the sign trick keeps `maddubs` from saturating; otherwise q is unsigned and must stay below 128.
public func avx2PanelMatmul(panel: UnsafeMutableRawPointer, rows: Int, kPad: Int, signedWeights: Bool,
                            qs: UnsafeMutablePointer<Int8>, dg: UnsafeMutablePointer<Float>,
                            sg: UnsafeMutablePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>,
                            yStride: Int) {
    var t = 0
    while t + 2 <= nTokens {
        if signedWeights {
            tile(panel, rows, kPad, true, qs, dg, sg, t, 2, y, yStride)
        } else {
            tile(panel, rows, kPad, false, qs, dg, sg, t, 2, y, yStride)
        }
        t += 2
    }
    if t < nTokens {
        if signedWeights {
            tile(panel, rows, kPad, true, qs, dg, sg, t, 1, y, yStride)
        } else {
            tile(panel, rows, kPad, false, qs, dg, sg, t, 1, y, yStride)
        }
    }
}

@inline(__always)
private func tile(_ panel: UnsafeMutableRawPointer, _ rows: Int, _ kPad: Int, _ signed: Bool,
                  _ qs: UnsafeMutablePointer<Int8>, _ dg: UnsafeMutablePointer<Float>,
                  _ sg: UnsafeMutablePointer<Float>, _ t0: Int, _ nt: Int,
                  _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let layout = PanelLayout(kPad: kPad)
    let groups = kPad / 16
    var acc = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
    let ones = _mm256_set1_epi16(1)
    let idxLo = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), idxHi = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3)
    var qp = InlineArray<4, UnsafeRawPointer>(repeating: UnsafeRawPointer(panel))
    var dp = InlineArray<4, UnsafePointer<Float>>(repeating: UnsafePointer(panel.assumingMemoryBound(to: Float.self)))
    for i in 0..<4 {
        let slot = min(i, rows - 1)
        qp[i] = UnsafeRawPointer(panel + layout.qOffset(slot))
        dp[i] = UnsafePointer((panel + layout.dOffset(slot)).assumingMemoryBound(to: Float.self))
    }
    for s in 0..<(kPad / 64) {
        for h in 0..<2 {
            let off = 64 * s + 32 * h
            var a = InlineArray<2, __m256i>(repeating: _mm256_setzero_si256())
            var sa = InlineArray<2, __m256>(repeating: _mm256_setzero_ps())
            for j in 0..<nt {
                a[j] = ldi(UnsafeRawPointer(qs + (t0 + j) * kPad + off))
                let d4 = _mm256_castps128_ps256(_mm_loadu_ps(dg + (t0 + j) * groups + 4 * s))
                sa[j] = _mm256_permutevar8x32_ps(d4, h == 0 ? idxLo : idxHi)
            }
            for i in 0..<4 {
                let w = ldi(qp[i] + off)
                let ws = _mm256_loadu_ps(dp[i] + 16 * s + 8 * h)
                let aw = signed ? _mm256_abs_epi8(w) : w
                for j in 0..<nt {
                    let p16 = signed ? _mm256_maddubs_epi16(aw, _mm256_sign_epi8(a[j], w))
                                     : _mm256_maddubs_epi16(w, a[j])
                    let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones))
                    acc[i * 2 + j] = _mm256_fmadd_ps(p, _mm256_mul_ps(ws, sa[j]), acc[i * 2 + j])
                }
            }
        }
    }
    for i in 0..<rows {
        let mg = UnsafePointer((panel + layout.mOffset(i)).assumingMemoryBound(to: Float.self))
        for j in 0..<nt {
            let sgt = UnsafePointer(sg + (t0 + j) * groups)
            var macc = _mm_setzero_ps()
            var g = 0
            while g < groups { macc = _mm_fmadd_ps(_mm_loadu_ps(mg + g), _mm_loadu_ps(sgt + g), macc); g += 4 }
            macc = _mm_hadd_ps(macc, macc); macc = _mm_hadd_ps(macc, macc)
            y[(t0 + j) * yStride + i] = hsum(acc[i * 2 + j]) + _mm_cvtss_f32(macc)
        }
    }
}

/// AVX2 float-weight kernel: rows `rowStart..<rowEnd` of an F32/F16/BF16 matrix times `nTokens` F32 rows.
public func avx2FloatMatmul(type: GGMLType, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int,
                            rowEnd: Int, x: UnsafePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>,
                            yStride: Int) {
    switch type {
    case .f32:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 4,
                  load: { p in _mm256_loadu_ps(p.assumingMemoryBound(to: Float.self)) },
                  scalar: { p, i in p.load(fromByteOffset: 4 * i, as: Float.self) })
    case .f16:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 2,
                  load: { p in _mm256_cvtph_ps(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))) },
                  scalar: { p, i in halfToFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) })
    case .bf16:
        floatRows(w, rowBytes, k, rowStart, rowEnd, x, nTokens, y, yStride, elt: 2,
                  load: { p in
                      _mm256_castsi256_ps(_mm256_slli_epi32(
                          _mm256_cvtepu16_epi32(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))), 16))
                  },
                  scalar: { p, i in bf16ToFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) })
    default:
        preconditionFailure("avx2FloatMatmul: \(type) is not a float type")
    }
}

@inline(__always)
private func floatRows(_ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int, _ r0: Int, _ r1: Int,
                       _ x: UnsafePointer<Float>, _ nTokens: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int,
                       elt: Int, load: (UnsafeRawPointer) -> __m256, scalar: (UnsafeRawPointer, Int) -> Float) {
    let k8 = k & ~7
    var r = r0
    while r < r1 {
        let rn = min(4, r1 - r)
        var t = 0
        while t < nTokens {
            let tn = min(2, nTokens - t)
            var acc = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
            var e = 0
            while e < k8 {
                let x0 = _mm256_loadu_ps(x + t * k + e)
                let x1 = _mm256_loadu_ps(x + (t + tn - 1) * k + e)
                for i in 0..<4 {
                    let wv = load(w + (r + min(i, rn - 1)) * rowBytes + e * elt)
                    acc[2 * i] = _mm256_fmadd_ps(wv, x0, acc[2 * i])
                    acc[2 * i + 1] = _mm256_fmadd_ps(wv, x1, acc[2 * i + 1])
                }
                e += 8
            }
            for i in 0..<rn {
                for j in 0..<tn {
                    var s = hsum(acc[2 * i + j])
                    let wr = w + (r + i) * rowBytes, xt = x + (t + j) * k
                    for e in k8..<k { s += scalar(wr, e) * xt[e] }
                    y[(t + j) * yStride + r + i] = s
                }
            }
            t += tn
        }
        r += rn
    }
}
