import _Builtin_intrinsics.intel
import HearthTensors

/// AVX2 version of `ExactKernels` (HearthKernels/ExactPath.swift, ExactQ4K.swift) for CPUs without AVX-512:
/// the same arithmetic as ggml's x86 AVX2 kernels (ggml-cpu/arch/x86/quants.c `ggml_vec_dot_q4_1_q8_1`,
/// `ggml_vec_dot_q8_0_q8_0`, `ggml_vec_dot_q5_0_q8_0`, `ggml_vec_dot_q6_K_q8_K`, `ggml_vec_dot_q4_K_q8_K`, and the
/// float orders of the repacked Q4_K GEMM/GEMV and the tiled K-quant matmul): eight lanes of 4-element integer
/// sums, one FMA per block by d_w·d_a, ggml's horizontal-sum order. Integer sums are exact whatever the order, so
/// only the float steps have to follow ggml's; the test compares every result bit for bit with the portable code.

/// Half → float with F16C from a 32-bit move (no false dependency, see ../shared/notes/swift-kernels.md).
@inline(__always) func h2f(_ p: UnsafeRawPointer) -> Float {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(Int32(p.loadUnaligned(as: UInt16.self)))))
}

/// ggml's `hsum_float_8` order: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
@inline(__always) func hsumGGML(_ v: __m256) -> Float {
    var r = _mm_add_ps(upper(v), _mm256_castps256_ps128(v))
    r = _mm_add_ps(r, _mm_movehl_ps(r, r))
    r = _mm_add_ss(r, _mm_movehdup_ps(r))
    return _mm_cvtss_f32(r)
}

/// The upper four lanes (`vextractf128` is an immediate-operand macro Swift cannot call).
@inline(__always) func upper(_ v: __m256) -> __m128 {
    _mm256_castps256_ps128(_mm256_permutevar8x32_ps(v, _mm256_setr_epi32(4, 5, 6, 7, 4, 5, 6, 7)))
}

/// Sum of eight int32 lanes (exact, any order).
@inline(__always) func hsumInt(_ v: __m256i) -> Int32 {
    let r = unsafeBitCast(_mm_add_epi32(_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(4, 5, 6, 7, 4, 5, 6, 7))),
                                        _mm256_castsi256_si128(v)), to: SIMD4<Int32>.self)
    return (r[0] &+ r[1]) &+ (r[2] &+ r[3])
}

@inline(__always) private func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))
}

/// Quantizes tokens `tokenStart..<tokenEnd` (rows of `k` floats) into ggml Q8_0 (Q8_1 when `q81`) blocks, as ggml's
/// AVX2 `quantize_row_q8_0`/`quantize_row_q8_1`: d = amax/127, q = round-half-even(x·(127/amax)), s = fp16(d·Σq).
public func avx2QuantizeGGML(_ x: UnsafePointer<Float>, k: Int, tokenStart: Int, tokenEnd: Int, q81: Bool,
                             _ dst: UnsafeMutableRawPointer) {
    let bytes = q81 ? 36 : 34, nb = k / 32
    let absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF))
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)
    for t in tokenStart..<tokenEnd {
        for b in 0..<nb {
            let src = x + t * k + 32 * b
            let blk = dst + (t * nb + b) * bytes
            let v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8)
            let v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 24)
            var m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v0, absMask), _mm256_and_ps(v1, absMask)),
                                  _mm256_max_ps(_mm256_and_ps(v2, absMask), _mm256_and_ps(v3, absMask)))
            var m4 = _mm_max_ps(upper(m), _mm256_castps256_ps128(m))
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4))
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4))
            let amax = _mm_cvtss_f32(m4)
            m = _mm256_setzero_ps()
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let vid = _mm256_set1_ps(id)
            // cvtps_epi32 rounds half to even under the default MXCSR (ggml: _mm256_round_ps(_MM_ROUND_NEAREST)).
            let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid))
            let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid))
            let packed = _mm256_permutevar8x32_epi32(
                _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3)), order)
            _mm256_storeu_si256((blk + (q81 ? 4 : 2)).assumingMemoryBound(to: __m256i_u.self), packed)
            blk.storeBytes(of: floatToHalf(d), as: UInt16.self)
            if q81 {
                let sum = hsumInt(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)))
                (blk + 2).storeBytes(of: floatToHalf(d * Float(sum)), as: UInt16.self)
            }
        }
    }
}

/// Q4_1 nibbles → 32 unsigned bytes in element order (low nibbles, then high nibbles; ggml `bytes_from_nibbles_32`).
@inline(__always) private func q41Bytes(_ p: UnsafeRawPointer) -> __m256i {
    let raw = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
    let m = _mm_set1_epi8(0x0F)
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m))
}

/// Q5_0 block (at its start) → 32 signed bytes (nibble | fifth bit << 4) − 16, as ggml's AVX2 path builds them.
@inline(__always) private func q50Bytes(_ blk: UnsafeRawPointer) -> __m256i {
    let nib = q41Bytes(blk + 6)
    // Spread the 32 bits of qh over the 32 bytes (ggml `bytes_from_bits_32`): byte j gets 0xFF when bit j is set.
    let qh = Int32(bitPattern: blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
    let shuf = _mm256_setr_epi64x(0x0000_0000_0000_0000, 0x0101_0101_0101_0101,
                                  0x0202_0202_0202_0202, 0x0303_0303_0303_0303)
    var bits = _mm256_shuffle_epi8(_mm256_set1_epi32(qh), shuf)
    let bitMask = _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE)
    bits = _mm256_or_si256(bits, bitMask)
    let set = _mm256_cmpeq_epi8(bits, _mm256_set1_epi64x(-1))
    let high = _mm256_and_si256(set, _mm256_set1_epi8(0x10))
    return _mm256_sub_epi8(_mm256_or_si256(nib, high), _mm256_set1_epi8(16))
}

/// Eight int32 lanes, lane l = Σ_{i<4} u[4l+i]·s[4l+i] for unsigned `u` (< 128) and signed `s`.
@inline(__always) private func lanesUS(_ u: __m256i, _ s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// Weight kinds of the 32-element exact path.
public enum AVX2ExactKind: Int, Sendable {
    case q4_1, q5_0, q8_0
}

/// `y[t·yStride + r] = dot(row r, token t)` for rows `rowStart..<rowEnd` and every token, with ggml's per-dot
/// arithmetic (`ExactKernels.dot`). `acts` holds `nTokens` rows of Q8_1 (Q4_1) or Q8_0 blocks, `aRow` bytes each.
/// Four tokens share each weight block's unpacking.
public func avx2ExactMatmul(kind: AVX2ExactKind, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int,
                            rowEnd: Int, acts: UnsafeRawPointer, aRow: Int, nTokens: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int) {
    switch kind {
    case .q4_1: exactRows(0, w, rowBytes, k, rowStart, rowEnd, acts, aRow, nTokens, y, yStride)
    case .q5_0: exactRows(1, w, rowBytes, k, rowStart, rowEnd, acts, aRow, nTokens, y, yStride)
    case .q8_0: exactRows(2, w, rowBytes, k, rowStart, rowEnd, acts, aRow, nTokens, y, yStride)
    }
}

@inline(__always)
private func exactRows(_ kind: Int, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int, _ rowStart: Int,
                       _ rowEnd: Int, _ acts: UnsafeRawPointer, _ aRow: Int, _ nTokens: Int,
                       _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let nb = k / 32
    let wBytes = kind == 0 ? 20 : (kind == 1 ? 22 : 34)
    let aBytes = kind == 0 ? 36 : 34, aq = kind == 0 ? 4 : 2
    for r in rowStart..<rowEnd {
        let wr = w + r * rowBytes
        var t0 = 0
        while t0 < nTokens {
            let n = min(4, nTokens - t0)
            let a0 = acts + t0 * aRow, a1 = acts + (t0 + min(1, n - 1)) * aRow
            let a2 = acts + (t0 + min(2, n - 1)) * aRow, a3 = acts + (t0 + min(3, n - 1)) * aRow
            var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
            var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            for b in 0..<nb {
                let wb = wr + b * wBytes, off = b * aBytes
                let dw = h2f(wb)
                @inline(__always) func one(_ a: UnsafeRawPointer, _ acc: inout __m256, _ u: __m256i,
                                           _ signs: __m256i) {
                    let ab = a + off
                    let q = load256(ab + aq)
                    let lanes = kind == 0 ? lanesUS(u, q) : lanesUS(u, _mm256_sign_epi8(q, signs))
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(ab)), _mm256_cvtepi32_ps(lanes), acc)
                }
                let u: __m256i, signs: __m256i
                if kind == 0 {
                    u = q41Bytes(wb + 4); signs = u
                } else {
                    let x = kind == 1 ? q50Bytes(wb) : load256(wb + 2)
                    u = _mm256_sign_epi8(x, x); signs = x
                }
                one(a0, &acc0, u, signs)
                if kind == 0 { s0 = s0.addingProduct(h2f(wb + 2), h2f(a0 + off + 2)) }
                if n > 1 {
                    one(a1, &acc1, u, signs)
                    if kind == 0 { s1 = s1.addingProduct(h2f(wb + 2), h2f(a1 + off + 2)) }
                }
                if n > 2 {
                    one(a2, &acc2, u, signs)
                    if kind == 0 { s2 = s2.addingProduct(h2f(wb + 2), h2f(a2 + off + 2)) }
                }
                if n > 3 {
                    one(a3, &acc3, u, signs)
                    if kind == 0 { s3 = s3.addingProduct(h2f(wb + 2), h2f(a3 + off + 2)) }
                }
            }
            y[t0 * yStride + r] = hsumGGML(acc0) + s0
            if n > 1 { y[(t0 + 1) * yStride + r] = hsumGGML(acc1) + s1 }
            if n > 2 { y[(t0 + 2) * yStride + r] = hsumGGML(acc2) + s2 }
            if n > 3 { y[(t0 + 3) * yStride + r] = hsumGGML(acc3) + s3 }
            t0 += 4
        }
    }
}
