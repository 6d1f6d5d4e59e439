import _Builtin_intrinsics.intel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// exp(x) for 16 floats, the same operations in the same order as ggml's AVX-512 `ggml_v_expf`
/// (ggml-cpu/vec.h, adapted from Arm's optimized routines): round x·log2(e) to an integer n with the 1.5·2^23
/// trick, reduce b = x − n·ln2 in two FMA steps, a degree-5 polynomial in b evaluated as ggml nests it, then
/// scale by 2^n with `vscalefps`; lanes with |n| > 192 become +inf (n > 0) or 0.
@inline(__always) func ggmlExpf16(_ x: __m512) -> __m512 {
    let r = _mm512_set1_ps(0x1.8p23)
    let z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0), r)
    let n = _mm512_sub_ps(z, r)
    let b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20),
                             _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1), x))
    let absN = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(n), _mm512_set1_epi32(0x7FFF_FFFF)))
    let u = _mm512_mul_ps(b, b)
    let j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7), b, _mm512_set1_ps(0x1.573e2ep-5)),
                        u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3), b, _mm512_set1_ps(0x1.fffdb6p-2))),
        u,
        _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1), b, _mm512_set1_ps(1)))
    let res = _mm512_scalef_ps(j, n)
    // Ordered comparisons (NaN lanes false), as ggml's _CMP_GT_OQ / _CMP_LE_OQ.
    let big = absN .> SIMD16<Float>(repeating: 192)
    if !any(big) { return res }
    let alt = SIMD16<Float>(repeating: .infinity).replacing(with: 0, where: n .<= SIMD16<Float>(repeating: 0))
    return res.replacing(with: alt, where: big)
}

/// SwiGLU in place, bit for bit as ggml's `ggml_vec_swiglu_f32` built for AVX-512 (x86, GGML_NATIVE):
/// gate[i] = gate[i] / (1 + exp(0 − gate[i])) · up[i], with ggml's polynomial exp for each full group of 16 and
/// libm `expf` (ggml's scalar `ggml_silu_f32`) for the n % 16 tail.
public func swigluGGML(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let one = _mm512_set1_ps(1), zero = _mm512_setzero_ps()
    var i = 0
    while i + 16 <= n {
        let x = _mm512_loadu_ps(gate + i)
        let e = ggmlExpf16(_mm512_sub_ps(zero, x))
        let s = _mm512_div_ps(x, _mm512_add_ps(one, e))
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(s, _mm512_loadu_ps(up + i)))
        i += 16
    }
    while i < n {
        let x = gate[i]
        gate[i] = x / (1 + expf(-x)) * up[i]
        i += 1
    }
}
