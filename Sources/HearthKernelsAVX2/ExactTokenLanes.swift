import _Builtin_intrinsics.intel
import HearthTensors
import CHearthPrefetch

/// Q4_1 × 5 or more tokens on AVX2 with the tokens in the vector lanes.
///
/// ggml's per-dot arithmetic (see ExactDot.swift) keeps eight float lanes per dot, lane l holding the 4-element
/// integer sums of elements 4l…4l+3 of every block, each block added as fma(d_w·d_a, Float(sum), lane), and
/// Σ fma(m_w, s_a) beside them. Held the other way round — one register per ggml lane, its eight entries eight
/// tokens — the same numbers come out of fewer instructions: d_w·d_a is one multiply for eight tokens, a weight
/// block is unpacked once for eight tokens, and ggml's horizontal sum becomes seven vertical adds that give eight
/// results at once. The activations are regrouped for it once per matmul (`avx2InterleaveTokens`): per block and
/// lane, the eight tokens' four bytes side by side, so that one broadcast of the weight's four bytes multiplies
/// all eight. Every output keeps its own arithmetic, so the bits are those of `avx2ExactMatmul` and of ggml.
///
/// Measured on an AVX2 Zen 3 (`hearth matmul-bench models/SmolLM2-135M-Instruct.Q4_1.gguf -t 1`): 0.74–0.80× the
/// time of the 2-row × 4-token tile from 8 tokens on (prefill included), 1.45× at 4 tokens (half the lanes
/// idle). Q5_0 takes it too since its x + 16 form has no sign step (`avx2Q50MatmulTokenLanes`, from 5 tokens):
/// ffn_up 4864×896, 1 thread, vs the tiles: 0.87× at 5 tokens, 0.98× at 8, 0.85× at 64. Q8_0 keeps the tile
/// (its sign step per lane costs what the shared multiply saves). The weight lanes are broadcast from memory
/// (`hearth_broadcastd_load`): broadcasts the compiler could see became `vpermd`s, and the gain went with them.

/// Bytes of one 8-token group's interleaved quants for `nb` blocks.
public func avx2TokenLaneBytes(nb: Int) -> Int { nb * 256 }

/// Regroups tokens `tokenStart..<tokenStart+count` (`count` ≤ 8) of `acts` (Q8_0, or Q8_1 when `q81`: `aRow` bytes
/// a token) for `avx2Q41MatmulTokenLanes`: quants to `dst` (block b, lane l, token t at 256b + 32l + 4t),
/// scales to `dAd[8b + t]` and `dAsum[8b + t]` from the float scales `ad`/`asum` ([token][block]). Lanes past
/// `count` repeat the last token (computed, never stored).
public func avx2InterleaveTokens(acts: UnsafeRawPointer, aRow: Int, q81: Bool, nb: Int, tokenStart: Int, count: Int,
                                 ad: UnsafePointer<Float>, asum: UnsafePointer<Float>, dst: UnsafeMutableRawPointer,
                                 dAd: UnsafeMutablePointer<Float>, dAsum: UnsafeMutablePointer<Float>) {
    let aBytes = q81 ? 36 : 34, aq = q81 ? 4 : 2
    for t in 0..<8 {
        let tok = tokenStart + min(t, count - 1)
        let row = acts + tok * aRow + aq
        for b in 0..<nb {
            let src = row + b * aBytes, out = dst + b * 256 + 4 * t
            for l in 0..<8 {
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: 4 * l, as: UInt32.self), toByteOffset: 32 * l,
                               as: UInt32.self)
            }
            dAd[8 * b + t] = ad[tok * nb + b]
            dAsum[8 * b + t] = asum[tok * nb + b]
        }
    }
}

/// `y[t·yStride + r]` for Q4_1 rows `rowStart..<rowEnd` and the `count` tokens of one group regrouped by
/// `avx2InterleaveTokens` (`lanes`, `lad`, `lasum`, from Q8_1 activations): the same bits as `avx2ExactMatmul`.
public func avx2Q41MatmulTokenLanes(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                                    lanes: UnsafeRawPointer, lad: UnsafePointer<Float>, lasum: UnsafePointer<Float>,
                                    count: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
    let nb = k / 32
    let ones = _mm256_set1_epi16(1)
    // The unpacked block, for the lanes' broadcasts.
    withUnsafeTemporaryAllocation(byteCount: 32, alignment: 32) { buf in
        guard let base = buf.baseAddress else { return }
        for r in rowStart..<rowEnd {
            let wr = w + r * rowBytes
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
            var a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps()
            var sm = _mm256_setzero_ps()
            for b in 0..<nb {
                let wb = wr + b * 20
                let d = _mm256_mul_ps(_mm256_set1_ps(h2f(wb)), _mm256_loadu_ps(lad + 8 * b))
                let q = lanes + b * 256
                _mm256_storeu_si256(base.assumingMemoryBound(to: __m256i_u.self), q41Bytes(wb + 4))
                @inline(__always) func lane(_ l: Int, _ acc: inout __m256) {
                    let a = _mm256_loadu_si256((q + 32 * l).assumingMemoryBound(to: __m256i_u.self))
                    let x = hearth_broadcastd_load(base + 4 * l)
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(x, a), ones)), acc)
                }
                lane(0, &a0); lane(1, &a1); lane(2, &a2); lane(3, &a3)
                lane(4, &a4); lane(5, &a5); lane(6, &a6); lane(7, &a7)
                sm = _mm256_fmadd_ps(_mm256_set1_ps(h2f(wb + 2)), _mm256_loadu_ps(lasum + 8 * b), sm)
            }
            // ggml's hsum_float_8 order per token: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the m·s term.
            let sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6)),
                                    _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7)))
            let out = unsafeBitCast(_mm256_add_ps(sum, sm), to: SIMD8<Float>.self)
            for t in 0..<count { y[t * yStride + r] = out[t] }
        }
    }
}

/// Floats of one 8-token group's Q5_0 lane data for `nb` blocks: quants (64 a block), scales (8), offsets (64).
public func avx2Q50TokenLaneFloats(nb: Int) -> Int { nb * 136 }

/// Regroups tokens `tokenStart..<tokenStart+count` (`count` ≤ 8) of Q8_0 `acts` for `avx2Q50MatmulTokenLanes`
/// into `dst` (`avx2Q50TokenLaneFloats(nb)` floats): per block, the quants as `avx2InterleaveTokens` lays them
/// out, the eight scales, then per lane the eight tokens' offsets 16·Σ of their four quants (the x + 16 form of
/// the Q5_0 dot, `avx2Q50Offsets`, here with the tokens in the lanes).
public func avx2Q50InterleaveTokens(acts: UnsafeRawPointer, aRow: Int, nb: Int, tokenStart: Int, count: Int,
                                    ad: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>) {
    let quants = UnsafeMutableRawPointer(dst), scales = dst + 64 * nb
    let offsets = UnsafeMutableRawPointer(dst + 72 * nb)
    avx2InterleaveTokens(acts: acts, aRow: aRow, q81: false, nb: nb, tokenStart: tokenStart, count: count, ad: ad,
                         asum: ad, dst: quants, dAd: scales, dAsum: scales)
    let ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1)
    for i in 0..<(8 * nb) {
        let q = _mm256_loadu_si256((quants + 32 * i).assumingMemoryBound(to: __m256i_u.self))
        let sums = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16)
        _mm256_storeu_si256((offsets + 32 * i).assumingMemoryBound(to: __m256i_u.self), _mm256_slli_epi32(sums, 4))
    }
}

/// `y[t·yStride + r]` for Q5_0 rows `rowStart..<rowEnd` and the `count` tokens of one group regrouped by
/// `avx2Q50InterleaveTokens` (`lanes`): the same bits as `avx2ExactMatmul` and ggml. Each weight block is
/// unpacked once as x + 16 for all eight tokens, d_w·d_a is one multiply for them, and each lane's offset is one
/// subtract: five vector operations per 32 products where the 1 × 8 tile needs six, plus the unpacking.
public func avx2Q50MatmulTokenLanes(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                                    lanes: UnsafePointer<Float>, count: Int,
                                    y: UnsafeMutablePointer<Float>, yStride: Int) {
    let nb = k / 32
    let ones = _mm256_set1_epi16(1)
    let quants = UnsafeRawPointer(lanes), lad = lanes + 64 * nb, offsets = UnsafeRawPointer(lanes + 72 * nb)
    withUnsafeTemporaryAllocation(byteCount: 32, alignment: 32) { buf in
        guard let base = buf.baseAddress else { return }
        for r in rowStart..<rowEnd {
            let wr = w + r * rowBytes
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
            var a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps()
            for b in 0..<nb {
                let wb = wr + b * 22
                let d = _mm256_mul_ps(_mm256_set1_ps(h2f(wb)), _mm256_loadu_ps(lad + 8 * b))
                let q = quants + b * 256, o = offsets + b * 256
                _mm256_storeu_si256(base.assumingMemoryBound(to: __m256i_u.self), q50UnsignedBytes(wb))
                @inline(__always) func lane(_ l: Int, _ acc: inout __m256) {
                    let a = _mm256_loadu_si256((q + 32 * l).assumingMemoryBound(to: __m256i_u.self))
                    let x = hearth_broadcastd_load(base + 4 * l)
                    let s = _mm256_madd_epi16(_mm256_maddubs_epi16(x, a), ones)
                    let off = _mm256_loadu_si256((o + 32 * l).assumingMemoryBound(to: __m256i_u.self))
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(s, off)), acc)
                }
                lane(0, &a0); lane(1, &a1); lane(2, &a2); lane(3, &a3)
                lane(4, &a4); lane(5, &a5); lane(6, &a6); lane(7, &a7)
            }
            // ggml's hsum_float_8 order per token; + 0 as the tile adds its (zero) Q4_1 term, so −0 comes out +0.
            let sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6)),
                                    _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7)))
            let out = unsafeBitCast(_mm256_add_ps(sum, _mm256_setzero_ps()), to: SIMD8<Float>.self)
            for t in 0..<count { y[t * yStride + r] = out[t] }
        }
    }
}

/// `y[t·yStride + r]` for Q8_0 rows `rowStart..<rowEnd` and the `count` tokens of one group regrouped by
/// `avx2Q50InterleaveTokens` (its offsets unused): ggml's sign trick, |x| times sign(a, x), with each lane's
/// four weight bytes broadcast to the eight tokens — |x| from the block's absolute values stored once, x straight
/// from the weights. The same bits as `avx2ExactMatmul` and ggml.
public func avx2Q80MatmulTokenLanes(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                                    lanes: UnsafePointer<Float>, count: Int,
                                    y: UnsafeMutablePointer<Float>, yStride: Int) {
    let nb = k / 32
    let ones = _mm256_set1_epi16(1)
    let quants = UnsafeRawPointer(lanes), lad = lanes + 64 * nb
    withUnsafeTemporaryAllocation(byteCount: 32, alignment: 32) { buf in
        guard let base = buf.baseAddress else { return }
        for r in rowStart..<rowEnd {
            let wr = w + r * rowBytes
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
            var a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps()
            for b in 0..<nb {
                let wb = wr + b * 34
                let d = _mm256_mul_ps(_mm256_set1_ps(h2f(wb)), _mm256_loadu_ps(lad + 8 * b))
                let q = quants + b * 256
                let x = _mm256_loadu_si256((wb + 2).assumingMemoryBound(to: __m256i_u.self))
                _mm256_storeu_si256(base.assumingMemoryBound(to: __m256i_u.self), _mm256_sign_epi8(x, x))
                @inline(__always) func lane(_ l: Int, _ acc: inout __m256) {
                    let a = _mm256_loadu_si256((q + 32 * l).assumingMemoryBound(to: __m256i_u.self))
                    let ux = hearth_broadcastd_load(base + 4 * l), sx = hearth_broadcastd_load(wb + 2 + 4 * l)
                    let s = _mm256_madd_epi16(_mm256_maddubs_epi16(ux, _mm256_sign_epi8(a, sx)), ones)
                    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc)
                }
                lane(0, &a0); lane(1, &a1); lane(2, &a2); lane(3, &a3)
                lane(4, &a4); lane(5, &a5); lane(6, &a6); lane(7, &a7)
            }
            let sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a4), _mm256_add_ps(a2, a6)),
                                    _mm256_add_ps(_mm256_add_ps(a1, a5), _mm256_add_ps(a3, a7)))
            let out = unsafeBitCast(_mm256_add_ps(sum, _mm256_setzero_ps()), to: SIMD8<Float>.self)
            for t in 0..<count { y[t * yStride + r] = out[t] }
        }
    }
}
