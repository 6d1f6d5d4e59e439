import _Builtin_intrinsics.intel

/// erf(x) for 16 floats: the rational approximation of Eigen/XLA's `generic_fast_erf_float` (x clamped to
/// [−4, 4], odd degree-13 numerator over even degree-8 denominator), the same constants as `Ops.erfFast`.
@inline(__always) func erf16(_ x0: __m512) -> __m512 {
    let x = _mm512_max_ps(_mm512_min_ps(x0, _mm512_set1_ps(4)), _mm512_set1_ps(-4))
    let x2 = _mm512_mul_ps(x, x)
    var p = _mm512_fmadd_ps(x2, _mm512_set1_ps(-2.72614225801306e-10), _mm512_set1_ps(2.77068142495902e-08))
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06))
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05))
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04))
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03))
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02))
    p = _mm512_mul_ps(x, p)
    var q = _mm512_fmadd_ps(x2, _mm512_set1_ps(-1.45660718464996e-05), _mm512_set1_ps(-2.13374055278905e-04))
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03))
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03))
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02))
    return _mm512_div_ps(p, q)
}

/// GELU with the exact Gaussian CDF, x · ½(1 + erf(x/√2)), in place over `n` floats (masked tail).
public func avx512GeluErf(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    let half = _mm512_set1_ps(0.5), one = _mm512_set1_ps(1), s = _mm512_set1_ps(0.707_106_781_186_547_524_4)
    var i = 0
    while i < n {
        let left = n - i
        let mask: __mmask16 = left >= 16 ? 0xFFFF : __mmask16(truncatingIfNeeded: (1 << left) - 1)
        let v = _mm512_maskz_loadu_ps(mask, x + i)
        let y = _mm512_mul_ps(_mm512_mul_ps(v, half), _mm512_add_ps(one, erf16(_mm512_mul_ps(v, s))))
        _mm512_mask_storeu_ps(x + i, mask, y)
        i += 16
    }
}

/// Bidirectional attention of one head over one sequence of `len` tokens: for each query i,
/// out_i = Σ_j softmax_j(scale · q_i·k_j) v_j. `q`, `k`, `v`, `out` point at the head's values of the first token;
/// consecutive tokens are `stride` floats apart. `d` (the head size) must be a multiple of 16, at most 256.
/// Scratch: `kT` holds d × ⌈len/16⌉·16 floats (the keys transposed, so 16 scores come from d broadcast FMAs with
/// no horizontal sums), `scores` ⌈len/16⌉·16 floats. Softmax uses ggml's polynomial exp.
public func avx512EncoderAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                   out: UnsafeMutablePointer<Float>, len: Int, stride: Int, d: Int, scale: Float,
                                   kT: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>) {
    let lp = (len + 15) & ~15
    for dd in 0..<d {
        let row = kT + dd * lp
        for j in 0..<len { row[j] = k[j * stride + dd] }
        for j in len..<lp { row[j] = 0 }
    }
    let tailMask: __mmask16 = len % 16 == 0 ? 0xFFFF : __mmask16(truncatingIfNeeded: (1 << (len % 16)) - 1)
    let vscale = _mm512_set1_ps(scale)
    let dv = d / 16
    for i in 0..<len {
        let qi = q + i * stride
        var vmax = _mm512_set1_ps(-Float.infinity)
        var j0 = 0
        while j0 < lp {
            var acc = _mm512_setzero_ps()
            for dd in 0..<d { acc = _mm512_fmadd_ps(_mm512_set1_ps(qi[dd]), _mm512_loadu_ps(kT + dd * lp + j0), acc) }
            acc = _mm512_mul_ps(acc, vscale)
            let m: __mmask16 = j0 + 16 >= lp ? tailMask : 0xFFFF
            vmax = _mm512_mask_max_ps(vmax, m, vmax, acc)
            _mm512_storeu_ps(scores + j0, acc)
            j0 += 16
        }
        let mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax))
        var vsum = _mm512_setzero_ps()
        j0 = 0
        while j0 < lp {
            let m: __mmask16 = j0 + 16 >= lp ? tailMask : 0xFFFF
            let e = _mm512_maskz_mov_ps(m, ggmlExpf16(_mm512_sub_ps(_mm512_loadu_ps(scores + j0), mx)))
            vsum = _mm512_add_ps(vsum, e)
            _mm512_storeu_ps(scores + j0, e)
            j0 += 16
        }
        let inv = _mm512_set1_ps(1 / _mm512_reduce_add_ps(vsum))
        var acc = InlineArray<16, __m512>(repeating: _mm512_setzero_ps())
        for j in 0..<len {
            let p = _mm512_set1_ps(scores[j])
            let vj = v + j * stride
            for c in 0..<dv { acc[c] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16 * c), acc[c]) }
        }
        let oi = out + i * stride
        for c in 0..<dv { _mm512_storeu_ps(oi + 16 * c, _mm512_mul_ps(acc[c], inv)) }
    }
}
