import _Builtin_intrinsics.intel

/// Rows of output per packed panel: four 16-float vectors.
public let packedF32PanelRows = 64

/// AVX-512 F32 GEMM over a weight matrix packed by `packF32Panels` (HearthKernels): panel p holds rows
/// `64p ..< 64p+64` transposed, `panel[kk * 64 + i] = W[64p + i][kk]`, zero past the last row.
///
/// y[t * yStride + r] = Σ_kk W[r][kk] · x[t * k + kk] for panels `panelStart..<panelEnd`, tokens `0..<nTokens`.
/// Register tile: 64 rows × 6 tokens = 24 accumulators; each k step loads 4 weight vectors, broadcasts 6
/// activations and issues 24 FMAs (the broadcast/outer-product form: no horizontal sums). Tokens go in chunks
/// sized so a chunk's activations stay in L2 while each panel streams through once per chunk.
public func avx512PackedF32Gemm(panels: UnsafePointer<Float>, k: Int, rows: Int, panelStart: Int, panelEnd: Int,
                                x: UnsafePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
    let panelFloats = k * 64
    let chunk = max(6, (262_144 / max(1, k * 4)) / 6 * 6)
    var c0 = 0
    while c0 < nTokens {
        let c1 = min(nTokens, c0 + chunk)
        for p in panelStart..<panelEnd {
            let w = panels + p * panelFloats
            let r0 = p * 64
            let valid = min(64, rows - r0)
            var t = c0
            while t < c1 {
                let tn = min(6, c1 - t)
                tile(w, k, x, t, tn, y, yStride, r0, valid)
                t += tn
            }
        }
        c0 = c1
    }
}

@inline(__always)
private func tile(_ w: UnsafePointer<Float>, _ k: Int, _ x: UnsafePointer<Float>, _ t: Int, _ tn: Int,
                  _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ r0: Int, _ valid: Int) {
    var acc = InlineArray<24, __m512>(repeating: _mm512_setzero_ps())
    var xp = InlineArray<6, UnsafePointer<Float>>(repeating: x)
    for j in 0..<6 { xp[j] = x + (t + min(j, tn - 1)) * k }
    var wp = w
    for kk in 0..<k {
        let w0 = _mm512_loadu_ps(wp), w1 = _mm512_loadu_ps(wp + 16)
        let w2 = _mm512_loadu_ps(wp + 32), w3 = _mm512_loadu_ps(wp + 48)
        for j in 0..<6 {
            let b = _mm512_set1_ps(xp[j][kk])
            acc[4 * j] = _mm512_fmadd_ps(w0, b, acc[4 * j])
            acc[4 * j + 1] = _mm512_fmadd_ps(w1, b, acc[4 * j + 1])
            acc[4 * j + 2] = _mm512_fmadd_ps(w2, b, acc[4 * j + 2])
            acc[4 * j + 3] = _mm512_fmadd_ps(w3, b, acc[4 * j + 3])
        }
        wp += 64
    }
    for j in 0..<tn {
        let out = y + (t + j) * yStride + r0
        for v in 0..<4 {
            let left = valid - 16 * v
            if left >= 16 {
                _mm512_storeu_ps(out + 16 * v, acc[4 * j + v])
            } else if left > 0 {
                _mm512_mask_storeu_ps(out + 16 * v, __mmask16(truncatingIfNeeded: (1 << left) - 1), acc[4 * j + v])
            }
        }
    }
}
