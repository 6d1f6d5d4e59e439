import _Builtin_intrinsics.intel
import HearthTensors
import CHearthPrefetch

/// Q4_1, Q5_0 and Q8_0 × 5 or more tokens on AVX2 with the tokens in the vector lanes.
///
/// ggml's per-dot arithmetic (see ExactDot.swift) keeps eight float lanes per dot, lane l holding the 4-element
/// integer sums of elements 4l…4l+3 of every block, each block added as fma(d_w·d_a, Float(sum), lane), and (Q4_1)
/// Σ fma(m_w, s_a) beside them. Held the other way round — one register per ggml lane, its eight entries eight
/// tokens — the same numbers come out of fewer instructions: d_w·d_a is one multiply for eight tokens, a weight
/// block is unpacked once for eight tokens, and ggml's horizontal sum becomes seven vertical adds that give eight
/// results at once. The activations are regrouped for it once per matmul (`avx2InterleaveTokens`): per block and
/// lane, the eight tokens' four bytes side by side, so that one broadcast of the weight's four bytes multiplies
/// all eight. The multiplier operand is as in the tiles: Q4_1's nibbles; Q5_0's x + 16 with the offsets 16·Σa
/// (`avx2Q50Offsets`' form), here per lane and token; Q8_0's |x| times sign(a, x), ggml's sign trick. Every output
/// keeps its own arithmetic, so the bits are those of `avx2ExactMatmul` and of ggml.
///
/// The weight lanes are broadcast from memory (`hearth_broadcastd_load`): broadcasts the compiler could see, after
/// the store of the unpacked block, became `vpermd`s (an ALU operation each), and most of the gain went with them.
/// Measured on an AVX2 Zen 3 (`hearth matmul-bench MODEL --alone`, 1 thread, against the register tiles): Q4_1
/// (SmolLM2 ffn_up) 0.81× at 8 and 64 tokens; Q5_0 (Qwen2.5 ffn_up) 0.87× at 5 tokens, 0.98× at 8, 0.85× at 64;
/// Q8_0 (Qwen2.5 output) 0.77× at 5, 0.99× at 8, 0.87× at 16 (bench/RESULTS.md, session 12).

/// Floats of one 8-token group for `nb` blocks: quants at [0, 64·nb) (block b, lane l, token t at byte
/// 256b + 32l + 4t), d_a at 64·nb + 8b + t, s_a (Q4_1) at 72·nb + 8b + t, the Q5_0 offsets (Int32, lane l and
/// token t of block b at 80·nb + 64b + 8l + t).
public func avx2TokenLaneFloats(nb: Int) -> Int { nb * 144 }

/// Regroups tokens `tokenStart..<tokenStart+count` (`count` ≤ 8) of `acts` (Q8_1 for Q4_1, else Q8_0: `aRow` bytes
/// a token) into `group` (`avx2TokenLaneFloats(nb)` floats), its scales from the float scales `ad`/`asum`
/// ([token][block], `avx2ActivationScales`). Lanes past `count` repeat the last token (computed, never stored).
public func avx2InterleaveTokens(kind: AVX2ExactKind, acts: UnsafeRawPointer, aRow: Int, nb: Int, tokenStart: Int,
                                 count: Int, ad: UnsafePointer<Float>, asum: UnsafePointer<Float>,
                                 group: UnsafeMutablePointer<Float>) {
    let q81 = kind == .q4_1
    let aBytes = q81 ? 36 : 34, aq = q81 ? 4 : 2
    let quants = UnsafeMutableRawPointer(group), dAd = group + 64 * nb, dAsum = group + 72 * nb
    for t in 0..<8 {
        let tok = tokenStart + min(t, count - 1)
        let row = acts + tok * aRow + aq
        for b in 0..<nb {
            let src = row + b * aBytes, out = quants + b * 256 + 4 * t
            for l in 0..<8 {
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: 4 * l, as: UInt32.self), toByteOffset: 32 * l,
                               as: UInt32.self)
            }
            dAd[8 * b + t] = ad[tok * nb + b]
            dAsum[8 * b + t] = asum[tok * nb + b]
        }
    }
    guard kind == .q5_0 else { return }
    let offsets = UnsafeMutableRawPointer(group + 80 * nb)
    for i in 0..<(8 * nb) {
        let q = _mm256_loadu_si256((quants + 32 * i).assumingMemoryBound(to: __m256i_u.self))
        _mm256_storeu_si256((offsets + 32 * i).assumingMemoryBound(to: __m256i_u.self), q50Offsets(q))
    }
}

/// `y[t·yStride + r]` for rows `rowStart..<rowEnd` of `kind` and the `count` tokens of one group regrouped by
/// `avx2InterleaveTokens`: the same bits as `avx2ExactMatmul`.
public func avx2MatmulTokenLanes(kind: AVX2ExactKind, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int,
                                 rowEnd: Int, group: UnsafePointer<Float>, count: Int,
                                 y: UnsafeMutablePointer<Float>, yStride: Int) {
    switch kind {
    case .q4_1: tokenLaneRows(Q41Weights.self, w, rowBytes, k, rowStart, rowEnd, group, count, y, yStride)
    case .q5_0: tokenLaneRows(Q50Weights.self, w, rowBytes, k, rowStart, rowEnd, group, count, y, yStride)
    case .q8_0: tokenLaneRows(Q80Weights.self, w, rowBytes, k, rowStart, rowEnd, group, count, y, yStride)
    }
}

private func tokenLaneRows<W: ExactWeights>(_: W.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int,
                                            _ rowStart: Int, _ rowEnd: Int, _ group: UnsafePointer<Float>,
                                            _ count: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int) {
    let nb = k / 32, kind = W.kind
    let wBytes = kind == 0 ? 20 : (kind == 1 ? 22 : 34)
    let ones = _mm256_set1_epi16(1)
    let quants = UnsafeRawPointer(group), lad = group + 64 * nb, lasum = group + 72 * nb
    let offsets = UnsafeRawPointer(group + 80 * nb)
    // The block's multiplier bytes, stored for the lanes' broadcasts.
    withUnsafeTemporaryAllocation(byteCount: 32, alignment: 32) { buf in
        guard let base = buf.baseAddress else { return }
        for r in rowStart..<rowEnd {
            let wr = w + r * rowBytes
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
            var a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps()
            var sm = _mm256_setzero_ps()
            for b in 0..<nb {
                let wb = wr + b * wBytes
                let d = _mm256_mul_ps(_mm256_set1_ps(h2f(wb)), _mm256_loadu_ps(lad + 8 * b))
                let q = quants + b * 256, o = offsets + b * 256
                let u: __m256i
                if kind == 0 {
                    u = q41Bytes(wb + 4)
                } else if kind == 1 {
                    u = q50UnsignedBytes(wb)
                } else {
                    let x = _mm256_loadu_si256((wb + 2).assumingMemoryBound(to: __m256i_u.self))
                    u = _mm256_sign_epi8(x, x)
                }
                _mm256_storeu_si256(base.assumingMemoryBound(to: __m256i_u.self), u)
                @inline(__always) func lane(_ l: Int, _ acc: inout __m256) {
                    var a = _mm256_loadu_si256((q + 32 * l).assumingMemoryBound(to: __m256i_u.self))
                    if kind == 2 { a = _mm256_sign_epi8(a, hearth_broadcastd_load(wb + 2 + 4 * l)) }
                    var s = _mm256_madd_epi16(_mm256_maddubs_epi16(hearth_broadcastd_load(base + 4 * l), a), ones)
                    if kind == 1 {
                        s = _mm256_sub_epi32(s, _mm256_loadu_si256((o + 32 * l).assumingMemoryBound(to: __m256i_u.self)))
                    }
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc)
                }
                lane(0, &a0); lane(1, &a1); lane(2, &a2); lane(3, &a3)
                lane(4, &a4); lane(5, &a5); lane(6, &a6); lane(7, &a7)
                if kind == 0 { sm = _mm256_fmadd_ps(_mm256_set1_ps(h2f(wb + 2)), _mm256_loadu_ps(lasum + 8 * b), sm) }
            }
            // ggml's hsum_float_8 order per token: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the m·s term (+0 for
            // Q5_0/Q8_0, as the tiles add their zero term: −0 comes out +0 on both paths).
            let sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6)),
                                    _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7)))
            let out = unsafeBitCast(_mm256_add_ps(sum, sm), to: SIMD8<Float>.self)
            for t in 0..<count { y[t * yStride + r] = out[t] }
        }
    }
}
