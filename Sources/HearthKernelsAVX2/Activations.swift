import _Builtin_intrinsics.intel
#if canImport(Glibc)
import Glibc
#endif
import HearthTensors

@inline(__always) func hmax(_ v: __m256) -> Float {
    let hi = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(4, 5, 6, 7, 4, 5, 6, 7))
    var m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_castps256_ps128(hi))
    m = _mm_max_ps(m, _mm_movehl_ps(m, m))
    m = _mm_max_ss(m, _mm_movehdup_ps(m))
    return _mm_cvtss_f32(m)
}

/// Packs 32 int32 (four vectors, in order) into 32 int8 with signed saturation, in order.
@inline(__always) func pack32(_ i0: __m256i, _ i1: __m256i, _ i2: __m256i, _ i3: __m256i) -> __m256i {
    let p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// Round half away from zero (C `roundf`) of floats to int32.
@inline(__always) func roundAway(_ s: __m256) -> __m256i {
    let ti = _mm256_cvttps_epi32(s)
    let diff = _mm256_sub_ps(s, _mm256_cvtepi32_ps(ti))
    let absBits = _mm256_and_si256(_mm256_castps_si256(diff), _mm256_set1_epi32(0x7FFF_FFFF))
    let ge = _mm256_cmpgt_epi32(absBits, _mm256_set1_epi32(0x3EFF_FFFF))  // |diff| >= 0.5
    let sign = _mm256_or_si256(_mm256_srai_epi32(_mm256_castps_si256(s), 31), _mm256_set1_epi32(1))
    return _mm256_add_epi32(ti, _mm256_and_si256(ge, sign))
}

/// Sums of the two 16-element halves of 32 int8.
@inline(__always) func groupSums(_ q: __m256i) -> (Int32, Int32) {
    let s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q)
    let s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1))
    var buf = (Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0), Int32(0))
    withUnsafeMutableBytes(of: &buf) { _mm256_storeu_si256($0.baseAddress!.assumingMemoryBound(to: __m256i_u.self), s32) }
    return (buf.0 &+ buf.1 &+ buf.2 &+ buf.3, buf.4 &+ buf.5 &+ buf.6 &+ buf.7)
}

@inline(__always) func ld(_ p: UnsafePointer<Float>) -> __m256 { _mm256_loadu_ps(p) }

/// Quantizes activation rows `tokenStart..<tokenEnd` of `x` (rows of `k` floats) into the layout of the matmul
/// paths: `qs[t*kPad + e]` int8, `dg[t*kPad/16 + g]` the scale of 16-group g, `sg[..] = dg * sum(q in g)`;
/// elements from `k` to `kPad` are zero. Legacy pairing: ggml's x86 `quantize_row_q8_0`/`quantize_row_q8_1`
/// per 32 (d = amax/127 rounded to fp16, q = round-half-even(x · 127/amax)); with `q8_1`, the block's
/// s = fp16(d · Σq) as ggml stores it goes whole into the first 16-group's `sg` (the second gets 0), which is
/// exact for Q4_1/Q5_1 since their min is per 32. Tiny models amplify these rounding details into visible
/// log-probability differences, so we round exactly as llama.cpp does on x86.
/// `perBlock256`: Q8_K rules per 256 (d = max/-127, q = min(127, round-half-even(x/d))).
/// `k` must be a multiple of 32 (of 256 with `perBlock256`).
public func avx2QuantizeActivations(x: UnsafePointer<Float>, k: Int, kPad: Int, tokenStart: Int, tokenEnd: Int,
                                    perBlock256: Bool, q8_1: Bool = false, qs: UnsafeMutablePointer<Int8>,
                                    dg: UnsafeMutablePointer<Float>, sg: UnsafeMutablePointer<Float>) {
    let groups = kPad / 16
    let absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF))
    for t in tokenStart..<tokenEnd {
        let src = x + t * k, q = qs + t * kPad, dgt = dg + t * groups, sgt = sg + t * groups
        if perBlock256 {
            var b = 0
            while b < k {
                var amaxv = _mm256_setzero_ps()
                for i in 0..<32 { amaxv = _mm256_max_ps(amaxv, _mm256_and_ps(ld(src + b + 8 * i), absMask)) }
                let amax = hmax(amaxv)
                var d: Float = 0
                if amax == 0 {
                    for i in 0..<8 {
                        _mm256_storeu_si256(UnsafeMutableRawPointer(q + b + 32 * i).assumingMemoryBound(to: __m256i_u.self),
                                            _mm256_setzero_si256())
                    }
                } else {
                    // First element of largest magnitude, with its sign.
                    let target = _mm256_set1_epi32(Int32(bitPattern: amax.bitPattern))
                    var maxv: Float = amax
                    for i in 0..<32 {
                        let a = _mm256_castps_si256(_mm256_and_ps(ld(src + b + 8 * i), absMask))
                        let mask = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, target)))
                        if mask != 0 { maxv = src[b + 8 * i + Int(mask.trailingZeroBitCount)]; break }
                    }
                    let iscale = -127 / maxv
                    let vs = _mm256_set1_ps(iscale)
                    let cap = _mm256_set1_epi32(127)
                    for i in 0..<8 {
                        let p = src + b + 32 * i
                        let i0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(ld(p), vs)), cap)
                        let i1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(ld(p + 8), vs)), cap)
                        let i2 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(ld(p + 16), vs)), cap)
                        let i3 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(ld(p + 24), vs)), cap)
                        _mm256_storeu_si256(UnsafeMutableRawPointer(q + b + 32 * i).assumingMemoryBound(to: __m256i_u.self),
                                            pack32(i0, i1, i2, i3))
                    }
                    d = 1 / iscale
                }
                for i in 0..<8 {
                    let qv = _mm256_loadu_si256(UnsafeRawPointer(q + b + 32 * i).assumingMemoryBound(to: __m256i_u.self))
                    let (s0, s1) = groupSums(qv)
                    let g = (b + 32 * i) / 16
                    dgt[g] = d; dgt[g + 1] = d
                    sgt[g] = d * Float(s0); sgt[g + 1] = d * Float(s1)
                }
                b += 256
            }
        } else {
            var b = 0
            while b < k {
                let v0 = ld(src + b), v1 = ld(src + b + 8), v2 = ld(src + b + 16), v3 = ld(src + b + 24)
                let am = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absMask), _mm256_and_ps(v1, absMask)),
                                       _mm256_max_ps(_mm256_and_ps(v2, absMask), _mm256_and_ps(v3, absMask)))
                let amax = hmax(am)
                let d = amax / 127
                let id: Float = amax != 0 ? 127 / amax : 0
                let vid = _mm256_set1_ps(id)
                // cvtps_epi32 rounds to nearest even under the default MXCSR, as _mm256_round_ps(_MM_ROUND_NEAREST).
                let qv = pack32(_mm256_cvtps_epi32(_mm256_mul_ps(v0, vid)), _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid)),
                                _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid)), _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid)))
                _mm256_storeu_si256(UnsafeMutableRawPointer(q + b).assumingMemoryBound(to: __m256i_u.self), qv)
                let dStore = halfToFloat(floatToHalf(d))
                let (s0, s1) = groupSums(qv)
                let g = b / 16
                dgt[g] = dStore; dgt[g + 1] = dStore
                if q8_1 {
                    sgt[g] = halfToFloat(floatToHalf(d * Float(s0 &+ s1))); sgt[g + 1] = 0
                } else {
                    sgt[g] = dStore * Float(s0); sgt[g + 1] = dStore * Float(s1)
                }
                b += 32
            }
        }
        // Padding up to kPad.
        var e = k
        while e < kPad { q[e] = 0; e += 1 }
        var g = k / 16
        while g < groups { dgt[g] = 0; sgt[g] = 0; g += 1 }
    }
}

/// SwiGLU in place, bit for bit as ggml's AVX-512 `ggml_vec_swiglu_f32` (the arithmetic the AVX-512 module's
/// `swigluGGML` and the portable `swigluGGMLScalar` reproduce): gate = gate / (1 + exp(0 − gate)) · up, with
/// ggml's polynomial exp (`expfGGML8Exact`, AttentionTiled.swift) for each full group of 16 values and libm `expf`
/// for the n % 16 tail.
public func avx2SwiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let one = _mm256_set1_ps(1), zero = _mm256_setzero_ps()
    var i = 0
    while i + 8 <= n - n % 16 {
        let x = _mm256_loadu_ps(gate + i)
        let e = expfGGML8Exact(_mm256_sub_ps(zero, x))
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)))
        i += 8
    }
    while i < n {
        let x = gate[i]
        gate[i] = x / (1 + expf(-x)) * up[i]
        i += 1
    }
}
