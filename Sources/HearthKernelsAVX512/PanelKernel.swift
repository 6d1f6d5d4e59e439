import _Builtin_intrinsics.intel
import HearthTensors

// Panel layout (the same as HearthKernelsAVX2.PanelLayout; this module cannot see that one): for slot i < 4,
// q at i*kPad (kPad bytes), per-lane scales at 4*kPad + i*kPad (kPad/4 floats), per-group m - o*d at
// 8*kPad + i*kPad/4 (kPad/16 floats).
@inline(__always) func panelQ(_ p: UnsafeMutableRawPointer, _ kPad: Int, _ i: Int) -> UnsafeMutableRawPointer { p + i * kPad }
@inline(__always) func panelD(_ p: UnsafeMutableRawPointer, _ kPad: Int, _ i: Int) -> UnsafeMutablePointer<Float> {
    (p + 4 * kPad + i * kPad).assumingMemoryBound(to: Float.self)
}
@inline(__always) func panelM(_ p: UnsafeMutableRawPointer, _ kPad: Int, _ i: Int) -> UnsafeMutablePointer<Float> {
    (p + 8 * kPad + i * (kPad / 4)).assumingMemoryBound(to: Float.self)
}

@inline(__always) func ldz(_ p: UnsafeRawPointer) -> __m512i { _mm512_loadu_si512(p) }

/// Lane expansion of four per-group floats: lanes 4g..4g+3 get value g.
@inline(__always) func expand4(_ v: __m128) -> __m512 {
    _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), _mm512_castps128_ps512(v))
}

/// Horizontal sums of four vectors: [sum a, sum b, sum c, sum d].
@inline(__always) func reduce4(_ a: __m512, _ b: __m512, _ c: __m512, _ d: __m512) -> __m128 {
    let ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b))  // a02 b02 a13 b13 per lane
    let cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d))
    let v = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
                          _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))))
    let h = _mm512_permutexvar_ps(_mm512_set_epi32(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8), v)
    let y = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(h))
    let y2 = _mm256_permutevar8x32_ps(y, _mm256_set_epi32(3, 2, 1, 0, 7, 6, 5, 4))
    return _mm_add_ps(_mm256_castps256_ps128(y), _mm256_castps256_ps128(y2))
}

/// Min-term dot product over groups: sum_g m[g] * s[g] (groups a multiple of 4).
@inline(__always) func groupDot(_ m: UnsafePointer<Float>, _ s: UnsafePointer<Float>, _ groups: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var g = 0
    while g + 16 <= groups { acc = _mm512_fmadd_ps(_mm512_loadu_ps(m + g), _mm512_loadu_ps(s + g), acc); g += 16 }
    var r = _mm512_reduce_add_ps(acc)
    while g < groups { r += m[g] * s[g]; g += 1 }
    return r
}

/// AVX-512 VNNI kernel over one unpacked 4-row panel (`rows` ≤ 4 slots filled, q unsigned) and all tokens:
/// `y[t * yStride + i] = dot(panel row i, activation row t)`. Register tile: 4 rows × 4 tokens.
public func avx512PanelMatmul(panel: UnsafeMutableRawPointer, rows: Int, kPad: Int,
                              qs: UnsafeMutablePointer<Int8>, dg: UnsafeMutablePointer<Float>,
                              sg: UnsafeMutablePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>,
                              yStride: Int) {
    var t = 0
    while t + 4 <= nTokens { panelTile(panel, rows, kPad, qs, dg, sg, t, 4, y, yStride); t += 4 }
    switch nTokens - t {
    case 3: panelTile(panel, rows, kPad, qs, dg, sg, t, 3, y, yStride)
    case 2: panelTile(panel, rows, kPad, qs, dg, sg, t, 2, y, yStride)
    case 1: panelTile(panel, rows, kPad, qs, dg, sg, t, 1, y, yStride)
    default: break
    }
}

@inline(__always)
func panelTile(_ panel: UnsafeMutableRawPointer, _ rows: Int, _ kPad: Int,
               _ qs: UnsafeMutablePointer<Int8>, _ dg: UnsafeMutablePointer<Float>,
               _ sg: UnsafeMutablePointer<Float>, _ t0: Int, _ nt: Int,
               _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let groups = kPad / 16
    var acc = InlineArray<16, __m512>(repeating: _mm512_setzero_ps())
    var qp = InlineArray<4, UnsafeRawPointer>(repeating: UnsafeRawPointer(panel))
    var dp = InlineArray<4, UnsafePointer<Float>>(repeating: UnsafePointer(panelD(panel, kPad, 0)))
    var ap = InlineArray<4, UnsafeRawPointer>(repeating: UnsafeRawPointer(qs))
    var gp = InlineArray<4, UnsafePointer<Float>>(repeating: UnsafePointer(dg))
    for i in 0..<4 {
        let slot = min(i, rows - 1)
        qp[i] = UnsafeRawPointer(panelQ(panel, kPad, slot))
        dp[i] = UnsafePointer(panelD(panel, kPad, slot))
    }
    for j in 0..<4 {
        let tt = t0 + min(j, nt - 1)
        ap[j] = UnsafeRawPointer(qs + tt * kPad)
        gp[j] = UnsafePointer(dg + tt * groups)
    }
    let zero = _mm512_setzero_si512()
    for s in 0..<(kPad / 64) {
        var a = InlineArray<4, __m512i>(repeating: zero)
        var sa = InlineArray<4, __m512>(repeating: _mm512_setzero_ps())
        for j in 0..<nt {
            a[j] = ldz(ap[j] + 64 * s)
            sa[j] = expand4(_mm_loadu_ps(gp[j] + 4 * s))
        }
        for i in 0..<4 {
            let w = ldz(qp[i] + 64 * s)
            let ws = _mm512_loadu_ps(dp[i] + 16 * s)
            for j in 0..<nt {
                let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, w, a[j]))
                acc[4 * i + j] = _mm512_fmadd_ps(p, _mm512_mul_ps(ws, sa[j]), acc[4 * i + j])
            }
        }
    }
    // Min terms, lane-wise into the same accumulators (only the lane sum matters).
    var g = 0
    while g < groups {
        let mask: UInt16 = groups - g >= 16 ? 0xFFFF : UInt16((1 << (groups - g)) - 1)
        var sv = InlineArray<4, __m512>(repeating: _mm512_setzero_ps())
        for j in 0..<nt { sv[j] = _mm512_maskz_loadu_ps(mask, sg + (t0 + j) * groups + g) }
        for i in 0..<4 {
            let mv = _mm512_maskz_loadu_ps(mask, panelM(panel, kPad, min(i, rows - 1)) + g)
            for j in 0..<nt { acc[4 * i + j] = _mm512_fmadd_ps(mv, sv[j], acc[4 * i + j]) }
        }
        g += 16
    }
    let rowMask = UInt8((1 << rows) - 1)
    for j in 0..<nt {
        let v = reduce4(acc[j], acc[4 + j], acc[8 + j], acc[12 + j])
        _mm_mask_storeu_ps(y + (t0 + j) * yStride, rowMask, v)
    }
}
