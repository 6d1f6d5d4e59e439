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
@inline(__always) func q41Bytes(_ p: UnsafeRawPointer) -> __m256i {
    let raw = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
    let m = _mm_set1_epi8(0x0F)
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), m), _mm_and_si128(raw, m))
}

/// Q5_0 block (at its start) → 32 unsigned bytes x + 16 = nibble | fifth bit << 4 (0…31): ggml's AVX2 bytes
/// (`bytes_from_bits_32` for the fifth bits) before its − 16, for `avx2Q50Offsets`' form of the dot.
@inline(__always) func q50UnsignedBytes(_ blk: UnsafeRawPointer) -> __m256i {
    let nib = q41Bytes(blk + 6)
    // Spread the 32 bits of qh over the 32 bytes: byte j gets 0xFF when bit j is set.
    let qh = Int32(bitPattern: blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
    let shuf = _mm256_setr_epi64x(0x0000_0000_0000_0000, 0x0101_0101_0101_0101,
                                  0x0202_0202_0202_0202, 0x0303_0303_0303_0303)
    let bits = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), shuf),
                               _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE))
    let set = _mm256_cmpeq_epi8(bits, _mm256_set1_epi64x(-1))
    return _mm256_or_si256(nib, _mm256_and_si256(set, _mm256_set1_epi8(0x10)))
}

/// The Q5_0 dot's offsets: `out[(t·nb + b)·8 + l]` = 16 · Σ_{i<4} a[4l+i] over the Q8_0 quants of token t, block b.
///
/// Why: ggml's AVX2 Q5_0 dot makes the weights unsigned with the sign trick (|x| and sign(a, x): two `psignb` a
/// block, one of them per token). With x + 16 (0…31) as the unsigned operand instead, each int32 lane
/// Σ (x+16)·a − 16·Σ a is the same integer (no int16 pair can saturate: 2·31·127 < 32767), so the float steps and
/// their bits are unchanged, and the per-token `psignb` becomes an add of this offset, computed once per
/// activation block for every weight row.
public func avx2Q50Offsets(acts: UnsafeRawPointer, aRow: Int, nb: Int, nTokens: Int, out: UnsafeMutablePointer<Int32>) {
    for t in 0..<nTokens {
        for b in 0..<nb {
            _mm256_storeu_si256(UnsafeMutableRawPointer(out + (t * nb + b) * 8).assumingMemoryBound(to: __m256i_u.self),
                                q50Offsets(load256(acts + t * aRow + b * 34 + 2)))
        }
    }
}

/// 16 · the sum of each 4-byte group of `q` (eight int32): the Q5_0 offsets of 32 activation quants, whether the
/// groups are a block's lanes (`avx2Q50Offsets`) or eight tokens' bytes of one lane (`avx2InterleaveTokens`).
@inline(__always) func q50Offsets(_ q: __m256i) -> __m256i {
    _mm256_slli_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1)), 4)
}

/// Eight int32 lanes, lane l = Σ_{i<4} u[4l+i]·s[4l+i] for unsigned `u` (< 128) and signed `s`.
@inline(__always) private func lanesUS(_ u: __m256i, _ s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// Weight kinds of the 32-element exact path.
public enum AVX2ExactKind: Int, Sendable {
    case q4_1, q5_0, q8_0
}

/// Per-token activation scales as floats, [token][block]: `ad` = d, `asum` = s (Q8_1 only; 0 for Q8_0).
public func avx2ActivationScales(q81: Bool, acts: UnsafeRawPointer, k: Int, nTokens: Int,
                                 ad: UnsafeMutablePointer<Float>, asum: UnsafeMutablePointer<Float>) {
    let nb = k / 32, aBytes = q81 ? 36 : 34
    for t in 0..<nTokens {
        for b in 0..<nb {
            let blk = acts + (t * nb + b) * aBytes
            ad[t * nb + b] = h2f(blk)
            asum[t * nb + b] = q81 ? h2f(blk + 2) : 0
        }
    }
}

/// `y[t·yStride + r] = dot(row r, token t)` for rows `rowStart..<rowEnd` and every token, with ggml's per-dot
/// arithmetic (`ExactKernels.dot`: lanes = fma(d_w·d_a, Float(4-element sums), lanes) per block, the Q4_1 term
/// Σ fma(m_w, s_a) beside it, ggml's horizontal sum). `acts` holds `nTokens` rows of Q8_1 (Q4_1) or Q8_0 blocks,
/// `aRow` bytes each; `ad`/`asum` their scales from `avx2ActivationScales`. Register tiles: 1 row × 8 tokens for
/// whole groups of eight, then 4 rows × 1 token below 4 tokens (decode) or 2 rows × 4 tokens; each output's
/// arithmetic is its own, so the tile shape does not change a bit. Q5_0 takes `q50Offsets` (`avx2Q50Offsets` of
/// `acts`, computed once for all the row chunks of a matmul); without them this call computes its own.
public func avx2ExactMatmul(kind: AVX2ExactKind, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int,
                            rowEnd: Int, acts: UnsafeRawPointer, aRow: Int, ad: UnsafePointer<Float>,
                            asum: UnsafePointer<Float>, q50Offsets: UnsafePointer<Int32>? = nil, nTokens: Int,
                            y: UnsafeMutablePointer<Float>, yStride: Int) {
    // Only Q5_0 reads the offsets: the other kinds get a pointer that is never dereferenced.
    let unused = UnsafePointer<Int32>(OpaquePointer(ad))
    switch kind {
    case .q4_1: exactRows(Q41Weights.self, w, rowBytes, k, rowStart, rowEnd, acts, aRow, ad, asum, unused, nTokens, y, yStride)
    case .q8_0: exactRows(Q80Weights.self, w, rowBytes, k, rowStart, rowEnd, acts, aRow, ad, asum, unused, nTokens, y, yStride)
    case .q5_0:
        if let q50Offsets {
            exactRows(Q50Weights.self, w, rowBytes, k, rowStart, rowEnd, acts, aRow, ad, asum, q50Offsets, nTokens, y, yStride)
            return
        }
        let nb = k / 32
        let offsets = UnsafeMutablePointer<Int32>.allocate(capacity: nTokens * nb * 8)
        defer { offsets.deallocate() }
        avx2Q50Offsets(acts: acts, aRow: aRow, nb: nb, nTokens: nTokens, out: offsets)
        exactRows(Q50Weights.self, w, rowBytes, k, rowStart, rowEnd, acts, aRow, ad, asum, offsets, nTokens, y, yStride)
    }
}

/// The weight type as a type parameter, so each kernel is specialized with its `kind` a constant (as a run-time
/// argument every block tested it, and the three bodies were one function).
protocol ExactWeights { static var kind: Int { get } }
enum Q41Weights: ExactWeights { static var kind: Int { 0 } }
enum Q50Weights: ExactWeights { static var kind: Int { 1 } }
enum Q80Weights: ExactWeights { static var kind: Int { 2 } }

/// A weight block as the multiplier operand: unsigned bytes `u` and the signs to give the activations
/// (Q4_1: unsigned already; Q5_0: x + 16, its lanes then take the offset from `avx2Q50Offsets`; `signs` unused
/// for both. Q8_0: |x| and x, ggml's sign trick).
@inline(__always) private func weightBlock(_ kind: Int, _ wb: UnsafeRawPointer) -> (u: __m256i, signs: __m256i) {
    if kind == 0 { let u = q41Bytes(wb + 4); return (u, u) }
    if kind == 1 { let u = q50UnsignedBytes(wb); return (u, u) }
    let x = load256(wb + 2)
    return (_mm256_sign_epi8(x, x), x)
}

/// Float lanes of one block · one token; `off` is the token's Q5_0 offset block (`avx2Q50Offsets`), else unused.
@inline(__always) private func blockLanes(_ kind: Int, _ w: (u: __m256i, signs: __m256i), _ q: __m256i,
                                          _ off: UnsafePointer<Int32>) -> __m256 {
    if kind == 1 { return _mm256_cvtepi32_ps(_mm256_sub_epi32(lanesUS(w.u, q), load256(UnsafeRawPointer(off)))) }
    return _mm256_cvtepi32_ps(kind == 0 ? lanesUS(w.u, q) : lanesUS(w.u, _mm256_sign_epi8(q, w.signs)))
}

private func exactRows<W: ExactWeights>(_: W.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int, _ rowStart: Int,
                       _ rowEnd: Int, _ acts: UnsafeRawPointer, _ aRow: Int, _ ad: UnsafePointer<Float>,
                       _ asum: UnsafePointer<Float>, _ offs: UnsafePointer<Int32>, _ nTokens: Int,
                       _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let nb = k / 32, kind = W.kind
    let wBytes = kind == 0 ? 20 : (kind == 1 ? 22 : 34)
    let aBytes = kind == 0 ? 36 : 34, aq = kind == 0 ? 4 : 2
    // Whole groups of 8 tokens: 1 row × 8 tokens, each block unpacked once for eight tokens (C model on Zen 3:
    // 1.09× the 2 × 4 tile's rate for Q5_0); the rest below.
    let n8 = nTokens - nTokens % 8
    if n8 > 0 {
        exactRows8(W.self, w, rowBytes, k, rowStart, rowEnd, acts, aRow, ad, asum, offs, n8, y, yStride)
        if n8 == nTokens { return }
        exactRows(W.self, w, rowBytes, k, rowStart, rowEnd, acts + n8 * aRow, aRow, ad + n8 * nb, asum + n8 * nb,
                  kind == 1 ? offs + n8 * nb * 8 : offs, nTokens - n8, y + n8 * yStride, yStride)
        return
    }
    if nTokens < 4 {
        var r0 = rowStart
        while r0 < rowEnd {
            // Rows past the end repeat the last one (computed, not stored).
            let w0 = w + r0 * rowBytes, w1 = w + min(r0 + 1, rowEnd - 1) * rowBytes
            let w2 = w + min(r0 + 2, rowEnd - 1) * rowBytes, w3 = w + min(r0 + 3, rowEnd - 1) * rowBytes
            for t in 0..<nTokens {
                let a = acts + t * aRow + aq, adt = ad + t * nb, ast = asum + t * nb
                var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
                var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                for b in 0..<nb {
                    let q = load256(a + b * aBytes)
                    let da = _mm256_broadcast_ss(adt + b)
                    let off = offs + (t * nb + b) * 8
                    let b0 = w0 + b * wBytes, b1 = w1 + b * wBytes, b2 = w2 + b * wBytes, b3 = w3 + b * wBytes
                    acc0 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(h2f(b0)), da), blockLanes(kind, weightBlock(kind, b0), q, off), acc0)
                    acc1 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(h2f(b1)), da), blockLanes(kind, weightBlock(kind, b1), q, off), acc1)
                    acc2 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(h2f(b2)), da), blockLanes(kind, weightBlock(kind, b2), q, off), acc2)
                    acc3 = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(h2f(b3)), da), blockLanes(kind, weightBlock(kind, b3), q, off), acc3)
                    if kind == 0 {
                        let sa = ast[b]
                        s0 = s0.addingProduct(h2f(b0 + 2), sa); s1 = s1.addingProduct(h2f(b1 + 2), sa)
                        s2 = s2.addingProduct(h2f(b2 + 2), sa); s3 = s3.addingProduct(h2f(b3 + 2), sa)
                    }
                }
                let yt = y + t * yStride
                yt[r0] = hsumGGML(acc0) + s0
                if r0 + 1 < rowEnd { yt[r0 + 1] = hsumGGML(acc1) + s1 }
                if r0 + 2 < rowEnd { yt[r0 + 2] = hsumGGML(acc2) + s2 }
                if r0 + 3 < rowEnd { yt[r0 + 3] = hsumGGML(acc3) + s3 }
            }
            r0 += 4
        }
        return
    }
    var r0 = rowStart
    while r0 < rowEnd {
        let w0 = w + r0 * rowBytes, w1 = w + min(r0 + 1, rowEnd - 1) * rowBytes
        var t0 = 0
        while t0 < nTokens {
            // Tokens past the end repeat the last one (computed, not stored).
            let last = nTokens - 1
            let ta = t0, tb = min(t0 + 1, last), tc = min(t0 + 2, last), td = min(t0 + 3, last)
            let aA = acts + ta * aRow + aq, aB = acts + tb * aRow + aq
            let aC = acts + tc * aRow + aq, aD = acts + td * aRow + aq
            var x0 = _mm256_setzero_ps(), x1 = _mm256_setzero_ps(), x2 = _mm256_setzero_ps(), x3 = _mm256_setzero_ps()
            var z0 = _mm256_setzero_ps(), z1 = _mm256_setzero_ps(), z2 = _mm256_setzero_ps(), z3 = _mm256_setzero_ps()
            var sx = SIMD4<Float>(), sz = SIMD4<Float>()
            for b in 0..<nb {
                let b0 = w0 + b * wBytes, b1 = w1 + b * wBytes
                let wa = weightBlock(kind, b0), wz = weightBlock(kind, b1)
                let dx = _mm256_set1_ps(h2f(b0)), dz = _mm256_set1_ps(h2f(b1))
                let off = b * aBytes
                @inline(__always) func token(_ a: UnsafeRawPointer, _ t: Int, _ x: inout __m256, _ z: inout __m256) {
                    let q = load256(a + off)
                    let da = _mm256_broadcast_ss(ad + t * nb + b)
                    let o = offs + (t * nb + b) * 8
                    x = _mm256_fmadd_ps(_mm256_mul_ps(dx, da), blockLanes(kind, wa, q, o), x)
                    z = _mm256_fmadd_ps(_mm256_mul_ps(dz, da), blockLanes(kind, wz, q, o), z)
                }
                token(aA, ta, &x0, &z0); token(aB, tb, &x1, &z1); token(aC, tc, &x2, &z2); token(aD, td, &x3, &z3)
                if kind == 0 {
                    let sa = SIMD4<Float>(asum[ta * nb + b], asum[tb * nb + b], asum[tc * nb + b], asum[td * nb + b])
                    sx = sx.addingProduct(SIMD4<Float>(repeating: h2f(b0 + 2)), sa)
                    sz = sz.addingProduct(SIMD4<Float>(repeating: h2f(b1 + 2)), sa)
                }
            }
            @inline(__always) func put(_ j: Int, _ x: __m256, _ z: __m256) {
                guard t0 + j < nTokens else { return }
                let yt = y + (t0 + j) * yStride
                yt[r0] = hsumGGML(x) + sx[j]
                if r0 + 1 < rowEnd { yt[r0 + 1] = hsumGGML(z) + sz[j] }
            }
            put(0, x0, z0); put(1, x1, z1); put(2, x2, z2); put(3, x3, z3)
            t0 += 4
        }
        r0 += 2
    }
}

/// `exactRows` for `nTokens` a multiple of 8: one row × eight tokens a tile.
private func exactRows8<W: ExactWeights>(_: W.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int,
                                         _ rowStart: Int, _ rowEnd: Int, _ acts: UnsafeRawPointer, _ aRow: Int,
                                         _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>,
                                         _ offs: UnsafePointer<Int32>, _ nTokens: Int,
                                         _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let nb = k / 32, kind = W.kind
    let wBytes = kind == 0 ? 20 : (kind == 1 ? 22 : 34)
    let aBytes = kind == 0 ? 36 : 34, aq = kind == 0 ? 4 : 2
    for r in rowStart..<rowEnd {
        let wr = w + r * rowBytes
        var t0 = 0
        while t0 < nTokens {
            let a = acts + t0 * aRow + aq, adt = ad + t0 * nb
            var x0 = _mm256_setzero_ps(), x1 = _mm256_setzero_ps(), x2 = _mm256_setzero_ps(), x3 = _mm256_setzero_ps()
            var x4 = _mm256_setzero_ps(), x5 = _mm256_setzero_ps(), x6 = _mm256_setzero_ps(), x7 = _mm256_setzero_ps()
            var sx = SIMD8<Float>()
            for b in 0..<nb {
                let wb = wr + b * wBytes
                let wv = weightBlock(kind, wb)
                let dx = _mm256_set1_ps(h2f(wb))
                let off = b * aBytes
                @inline(__always) func token(_ j: Int, _ x: inout __m256) {
                    let q = load256(a + j * aRow + off)
                    let da = _mm256_broadcast_ss(adt + j * nb + b)
                    x = _mm256_fmadd_ps(_mm256_mul_ps(dx, da), blockLanes(kind, wv, q, offs + ((t0 + j) * nb + b) * 8), x)
                }
                token(0, &x0); token(1, &x1); token(2, &x2); token(3, &x3)
                token(4, &x4); token(5, &x5); token(6, &x6); token(7, &x7)
                if kind == 0 {
                    let ast = asum + t0 * nb + b
                    let sa = SIMD8<Float>(ast[0], ast[nb], ast[2 * nb], ast[3 * nb], ast[4 * nb], ast[5 * nb],
                                          ast[6 * nb], ast[7 * nb])
                    sx = sx.addingProduct(SIMD8<Float>(repeating: h2f(wb + 2)), sa)
                }
            }
            let yt = y + t0 * yStride + r
            yt[0] = hsumGGML(x0) + sx[0]; yt[yStride] = hsumGGML(x1) + sx[1]
            yt[2 * yStride] = hsumGGML(x2) + sx[2]; yt[3 * yStride] = hsumGGML(x3) + sx[3]
            yt[4 * yStride] = hsumGGML(x4) + sx[4]; yt[5 * yStride] = hsumGGML(x5) + sx[5]
            yt[6 * yStride] = hsumGGML(x6) + sx[6]; yt[7 * yStride] = hsumGGML(x7) + sx[7]
            t0 += 8
        }
    }
}
