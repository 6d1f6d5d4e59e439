import _Builtin_intrinsics.intel
import HearthTensors
import CHearthPrefetch

/// Small-batch matmul (2…16 tokens: one decode step of several streams) for Q4_1, Q5_0 and Q8_0 weights with
/// ggml's per-dot arithmetic, the same as `avx512ExactGemv` and `avx512ExactGemm` (ExactDot.swift), so every
/// output has the same bits whatever the batch: per dot eight float lanes, lane i = the exact integer sum of
/// elements 4i…4i+3 of a block, `lane = fma(d_w·d_a, lane, acc)` over the blocks in order, then ggml's
/// `hsum_float_8` order, plus (Q4_1) the chain `fma(m_w, s_a, ·)` over the blocks.
///
/// Why a separate kernel: the prefill GEMM unpacks every 4 rows into a panel in memory before it touches a token,
/// which for 8 tokens costs as much as the dot products. Here a tile is 4 weight rows × up to 8 tokens, each
/// weight block is loaded and unpacked once into registers (two rows per 512-bit register) and applied to all
/// the tile's tokens, so the weights are read once per step whatever the number of streams.
///
/// The two rows of a register are interleaved by groups of four bytes (`pairBytes`), so one token's dot products
/// with both rows sit in alternate int32 lanes and their two scales d_w·d_a come from one 64-bit broadcast load.
/// Those products are formed first for every block of the tile (two `vmulps` a block for 4 rows × 8 tokens,
/// ggml's one float product each) and kept in a small per-thread buffer. Multiplying per token and row pair in the
/// dot loop took a 512-bit ALU slot for each `vpdpbusd`; Qwen2.5-0.5B's Q8_0 output matrix × 8 tokens went from
/// 0.90× to 0.71× of the prefill GEMM's time with this, the spread prefetch and the scale loads below
/// (`hearth matmul-bench … --tokens 8 -t 2`), and 8-stream decode from 109 to 137 t/s (bench/RESULTS.md).
///
/// Signed weights (Q8_0, Q5_0) use unsigned activations instead of ggml's sign trick: `vpdpbusd` takes
/// y + 128 (unsigned) against x (signed), starting from −128·Σx, which is the exact Σ x·y (no saturation, the
/// sums are at most 4·255·128), the same integer as ggml's Σ |x|·sign(y, x) for any activation other than −128
/// (the quantizers never produce −128). That takes the per-token sign fix out of the inner loop.

/// Weight formats this kernel reads.
public enum SmallBatchWeights: Sendable {
    case q4_1, q5_0, q8_0

    var blockBytes: Int {
        switch self {
        case .q4_1: return 20
        case .q5_0: return 22
        case .q8_0: return 34
        }
    }
}

/// Copies the int8 quants of `nTokens` activation rows in ggml's block layout (`quantizeGGML`: Q8_1 blocks of 36
/// bytes when `q81`, else Q8_0 blocks of 34) into `dst`, flipping the sign bit (y + 128 as unsigned) when
/// `unsigned`, for `avx512SmallBatchMatmul`: `2k` bytes a token, each block's 32 quants as 64 bytes with every
/// group of four repeated, in the order of the kernel's interleaved weight pairs (`pairBytes`): groups
/// 0 0 1 1 4 4 5 5 | 2 2 3 3 6 6 7 7 (`vpunpckldq`/`vpunpckhdq` of the block with itself).
public func avx512PackActivationQuants(_ acts: UnsafeRawPointer, q81: Bool, k: Int, nTokens: Int, unsigned: Bool,
                                       _ dst: UnsafeMutablePointer<Int8>) {
    let nb = k / 32, aBytes = q81 ? 36 : 34, aq = q81 ? 4 : 2
    let flip = _mm256_set1_epi8(unsigned ? -128 : 0)
    for t in 0..<nTokens {
        for b in 0..<nb {
            let v = _mm256_xor_si256(
                _mm256_loadu_si256((acts + (t * nb + b) * aBytes + aq).assumingMemoryBound(to: __m256i_u.self)), flip)
            let out = UnsafeMutableRawPointer(dst + 2 * t * k + 64 * b)
            _mm256_storeu_si256(out.assumingMemoryBound(to: __m256i_u.self), _mm256_unpacklo_epi32(v, v))
            _mm256_storeu_si256((out + 32).assumingMemoryBound(to: __m256i_u.self), _mm256_unpackhi_epi32(v, v))
        }
    }
}

/// Floats per block of `avx512PairScales`' output for `nTokens` tokens.
public func avx512PairScalesStride(nTokens: Int) -> Int { 2 * (nTokens + 8) }

/// Each token's per-block activation scale twice, [block][token][2] with `avx512PairScalesStride` floats a block
/// (zeros past `nTokens`, read by narrow tiles, never used): multiplied by a pair's [d_a, d_b, d_a, d_b, …] it
/// gives every token's two products d_w·d_a in one `vmulps` for the kernel.
public func avx512PairScales(_ ad: UnsafePointer<Float>, tokenStride: Int, nb: Int, nTokens: Int,
                             _ dst: UnsafeMutablePointer<Float>) {
    let stride = avx512PairScalesStride(nTokens: nTokens)
    for b in 0..<nb {
        for t in 0..<(stride / 2) {
            let v = t < nTokens ? ad[b * tokenStride + t] : 0
            dst[b * stride + 2 * t] = v
            dst[b * stride + 2 * t + 1] = v
        }
    }
}

/// Rows rowStart..<rowEnd × tokens 0..<nTokens. `q`: the tokens' quants from `avx512PackActivationQuants`
/// (unsigned for Q5_0/Q8_0, signed for Q4_1), `2k` bytes a token; `adPairs`: the per-block activation scales from
/// `avx512PairScales`; `asum`: per-block activation sums (`avx512ActivationScales`, Q4_1 only), [block][token]
/// with `tokenStride` ≥ `(nTokens + 7) & ~3` (Q4_1 reads them four tokens at a time from any tile start; the slots
/// past nTokens are read, never used).
public func avx512SmallBatchMatmul(_ kind: SmallBatchWeights, w: UnsafeRawPointer, rowBytes: Int, k: Int,
                                   rowStart: Int, rowEnd: Int, q: UnsafePointer<Int8>, adPairs: UnsafePointer<Float>,
                                   asum: UnsafePointer<Float>, tokenStride: Int, nTokens: Int,
                                   y: UnsafeMutablePointer<Float>, yStride: Int, products: UnsafeMutablePointer<Float>) {
    let pairStride = avx512PairScalesStride(nTokens: nTokens)
    var r0 = rowStart
    while r0 < rowEnd {
        var t0 = 0
        while t0 < nTokens {
            let n = min(8, nTokens - t0)
            // Literal tile widths, so each call is specialized and its accumulators stay in registers.
            let width = n == 8 ? 8 : (n >= 4 ? 4 : (n >= 2 ? 2 : 1))
            let pf = r0 + 4 < rowEnd && t0 == 0  // the first token tile prefetches the next row tile
            switch (kind, width) {
            case (.q4_1, 8): smallTile(.q4_1, 8, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q4_1, 4): smallTile(.q4_1, 4, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q4_1, 2): smallTile(.q4_1, 2, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q4_1, _): smallTile(.q4_1, 1, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q5_0, 8): smallTile(.q5_0, 8, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q5_0, 4): smallTile(.q5_0, 4, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q5_0, 2): smallTile(.q5_0, 2, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q5_0, _): smallTile(.q5_0, 1, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q8_0, 8): smallTile(.q8_0, 8, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q8_0, 4): smallTile(.q8_0, 4, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q8_0, 2): smallTile(.q8_0, 2, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            case (.q8_0, _): smallTile(.q8_0, 1, w, rowBytes, k, r0, rowEnd, q, adPairs, pairStride, asum, tokenStride, t0, y,
                                               yStride, products, pf)
            }
            t0 += width
        }
        r0 += 4
    }
}

/// Two rows' weight block as 64 bytes with their groups of four interleaved, a0 b0 a1 b1 a4 b4 a5 b5 |
/// a2 b2 a3 b3 a6 b6 a7 b7 (group i = elements 4i…4i+3; `vpunpckldq`/`vpunpckhdq`): unsigned nibbles (Q4_1) or
/// signed values (Q5_0: q − 16; Q8_0 as stored). So a `vpdpbusd` against a token's repeated groups
/// (`avx512PackActivationQuants`) gives row a's lane sums in the even int32 lanes and row b's in the odd ones,
/// and one 64-bit broadcast [d_a·s, d_b·s] scales both rows.
@inline(__always)
private func pairBytes(_ kind: SmallBatchWeights, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> __m512i {
    let va: __m256i, vb: __m256i
    switch kind {
    case .q4_1:
        // Element order: the 16 low nibbles, then the 16 high nibbles.
        let m4 = _mm_set1_epi8(0x0F)
        let ra = _mm_loadu_si128((a + 4).assumingMemoryBound(to: __m128i_u.self))
        let rb = _mm_loadu_si128((b + 4).assumingMemoryBound(to: __m128i_u.self))
        va = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(ra, 4), m4), _mm_and_si128(ra, m4))
        vb = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(rb, 4), m4), _mm_and_si128(rb, m4))
    case .q5_0:
        va = signedBytes(a, q50: true); vb = signedBytes(b, q50: true)
    case .q8_0:
        va = _mm256_loadu_si256((a + 2).assumingMemoryBound(to: __m256i_u.self))
        vb = _mm256_loadu_si256((b + 2).assumingMemoryBound(to: __m256i_u.self))
    }
    return _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(_mm256_unpacklo_epi32(va, vb)), 0xF0,
                                       _mm256_unpackhi_epi32(va, vb))
}

/// Floats of the per-thread `products` buffer `avx512SmallBatchMatmul` needs for rows of `k` elements.
public func avx512SmallBatchProductFloats(k: Int) -> Int { 32 * (k / 32) }

/// The fp16 scales at a, b, c, d as one vector for `vcvtph2ps`: `bytes` 2 (Q5_0/Q8_0: d) or 4 (Q4_1: d, m) a
/// row, joined in general registers; `_mm_set_epi16` of four loads compiles to a `vpinsrw` chain with a false
/// dependency on the previous block's vector (../shared/notes/swift-kernels.md), 28 % of the kernel's samples.
@inline(__always)
private func halves(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ c: UnsafeRawPointer, _ d: UnsafeRawPointer,
                    _ bytes: Int) -> __m128i {
    if bytes == 2 {
        let lo = UInt64(a.loadUnaligned(as: UInt16.self)) | UInt64(b.loadUnaligned(as: UInt16.self)) << 16
            | UInt64(c.loadUnaligned(as: UInt16.self)) << 32 | UInt64(d.loadUnaligned(as: UInt16.self)) << 48
        return _mm_cvtsi64_si128(Int64(bitPattern: lo))
    }
    let ab = UInt64(a.loadUnaligned(as: UInt32.self)) | UInt64(b.loadUnaligned(as: UInt32.self)) << 32
    let cd = UInt64(c.loadUnaligned(as: UInt32.self)) | UInt64(d.loadUnaligned(as: UInt32.self)) << 32
    return _mm_unpacklo_epi64(_mm_cvtsi64_si128(Int64(bitPattern: ab)), _mm_cvtsi64_si128(Int64(bitPattern: cd)))
}

/// One tile: rows r0…r0+3 (rows from `rowEnd` on repeat the last row and are not stored) × tokens t0…t0+T−1.
/// Accumulator [2j + p] holds token j's dot products with pair p (rows 2p, 2p+1, interleaved as `pairBytes` lays
/// them out); Q4_1's min terms sit in `summs[g]`, lane 4i + j for row i, token 4g+j. `products`:
/// `avx512SmallBatchProductFloats(k:)` floats for the tile's d_w·d_a, [block][pair][token][row of the pair].
@inline(__always)
private func smallTile(_ kind: SmallBatchWeights, _ T: Int, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int,
                       _ r0: Int, _ rowEnd: Int, _ q: UnsafePointer<Int8>, _ adPairs: UnsafePointer<Float>,
                       _ pairStride: Int, _ asum: UnsafePointer<Float>, _ tokenStride: Int, _ t0: Int,
                       _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ products: UnsafeMutablePointer<Float>,
                       _ prefetchNext: Bool) {
    let nb = k / 32, wBytes = kind.blockBytes, last = rowEnd - 1
    let wA = w + r0 * rowBytes, wB = w + min(r0 + 1, last) * rowBytes
    let wC = w + min(r0 + 2, last) * rowBytes, wD = w + min(r0 + 3, last) * rowBytes
    // Literal zeros, not `init(repeating:)`: that initializer is an out-of-line generic call (≈ 1 % of a
    // decode step at 8 streams, once per tile).
    let zf = _mm512_setzero_ps()
    var acc: InlineArray<16, __m512> = [zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf, zf]
    var summs: InlineArray<2, __m512> = [zf, zf]
    let zero = _mm512_setzero_si512()
    let q4 = kind == .q4_1
    let qt = UnsafeRawPointer(q + 2 * t0 * k)
    // First every block's d_w·d_a for the four rows and eight tokens (ggml forms each as one float
    // product), two multiplies a block: lanes 2j, 2j+1 of a pair's vector are token j's products with its two
    // rows. The dot loop then reads token j's pair [d_A·d_a, d_B·d_a] with one 64-bit broadcast load, which
    // costs no vector ALU slot; multiplying per token there (or permuting from a register) took as many
    // slots as the `vpdpbusd`s.
    for b in 0..<nb {
        let o = b * wBytes
        let dwAB: __m512, dwCD: __m512
        if q4 {
            let dm = _mm512_castps256_ps512(_mm256_cvtph_ps(halves(wA + o, wB + o, wC + o, wD + o, 4)))
            dwAB = _mm512_permutexvar_ps(_mm512_set_epi32(2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0), dm)
            dwCD = _mm512_permutexvar_ps(_mm512_set_epi32(6, 4, 6, 4, 6, 4, 6, 4, 6, 4, 6, 4, 6, 4, 6, 4), dm)
        } else {
            let d4 = _mm512_castps128_ps512(_mm_cvtph_ps(halves(wA + o, wB + o, wC + o, wD + o, 2)))
            dwAB = _mm512_permutexvar_ps(_mm512_set_epi32(1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0), d4)
            dwCD = _mm512_permutexvar_ps(_mm512_set_epi32(3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2), d4)
        }
        let ap = _mm512_loadu_ps(adPairs + b * pairStride + 2 * t0)
        _mm512_storeu_ps(products + 32 * b, _mm512_mul_ps(dwAB, ap))
        _mm512_storeu_ps(products + 32 * b + 16, _mm512_mul_ps(dwCD, ap))
    }
    let prod = UnsafeRawPointer(products)
    // The next tile's four rows (one contiguous range) are prefetched a few lines a block, spread over the
    // loop: issued all at once before the tile, the prefetches stalled on the full miss queue (≈ 20 % of
    // the kernel's samples on a 145 MB Q8_0 output matrix).
    let next = wA + 4 * rowBytes, ahead = 4 * wBytes
    for b in 0..<nb {
        let o = b * wBytes
        if prefetchNext {
            var line = ahead * b & ~63
            while line < ahead * (b + 1) {
                hearth_prefetch(next + line)
                line += 64
            }
        }
        let xAB = pairBytes(kind, wA + o, wB + o), xCD = pairBytes(kind, wC + o, wD + o)
        // −128·Σx per lane for the unsigned-activation form (zero for Q4_1, whose weights are unsigned).
        let cAB: __m512i, cCD: __m512i
        if q4 {
            cAB = zero; cCD = zero
            let dm = _mm256_cvtph_ps(halves(wA + o, wB + o, wC + o, wD + o, 4))
            let m16 = _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 7, 7, 5, 5, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1),
                                            _mm512_castps256_ps512(dm))
            for g in 0..<((T + 3) / 4) {
                let s = _mm512_broadcast_f32x4(_mm_loadu_ps(asum + b * tokenStride + t0 + 4 * g))
                summs[g] = _mm512_fmadd_ps(m16, s, summs[g])
            }
        } else {
            let bias = _mm512_set1_epi8(-128)
            cAB = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bias, xAB))
            cCD = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bias, xCD))
        }
        for j in 0..<T {
            let yv = _mm512_loadu_si512(qt + 2 * j * k + 64 * b)
            let sAB = _mm512_castpd_ps(_mm512_set1_pd(prod.load(fromByteOffset: 128 * b + 8 * j, as: Double.self)))
            let sCD = _mm512_castpd_ps(_mm512_set1_pd(prod.load(fromByteOffset: 128 * b + 64 + 8 * j,
                                                               as: Double.self)))
            // vpdpbusd's first factor is unsigned: the Q4_1 nibbles, or the shifted activations y + 128.
            let iAB = q4 ? _mm512_dpbusd_epi32(zero, xAB, yv) : _mm512_dpbusd_epi32(cAB, yv, xAB)
            let iCD = q4 ? _mm512_dpbusd_epi32(zero, xCD, yv) : _mm512_dpbusd_epi32(cCD, yv, xCD)
            acc[2 * j] = _mm512_fmadd_ps(sAB, _mm512_cvtepi32_ps(iAB), acc[2 * j])
            acc[2 * j + 1] = _mm512_fmadd_ps(sCD, _mm512_cvtepi32_ps(iCD), acc[2 * j + 1])
        }
    }
    for j in 0..<T {
        let ab = unsafeBitCast(acc[2 * j], to: SIMD16<Float>.self), cd = unsafeBitCast(acc[2 * j + 1], to: SIMD16<Float>.self)
        var s = SIMD4<Float>()
        if q4 {
            let sm = unsafeBitCast(summs[j / 4], to: SIMD16<Float>.self)
            s = SIMD4(sm[j % 4], sm[4 + j % 4], sm[8 + j % 4], sm[12 + j % 4])
        }
        let row = y + (t0 + j) * yStride + r0
        row[0] = hsumPair(ab, 0) + s[0]
        if r0 + 1 <= last { row[1] = hsumPair(ab, 1) + s[1] }
        if r0 + 2 <= last { row[2] = hsumPair(cd, 0) + s[2] }
        if r0 + 3 <= last { row[3] = hsumPair(cd, 1) + s[3] }
    }
}

/// ggml's `hsum_float_8` of one row of an interleaved pair accumulator (`pairBytes`): row `r`'s lane for group i
/// sits at 2·[0, 1, 4, 5, 2, 3, 6, 7][i] + r.
@inline(__always) private func hsumPair(_ v: SIMD16<Float>, _ r: Int) -> Float {
    let l0 = v[r], l1 = v[2 + r], l2 = v[8 + r], l3 = v[10 + r]
    let l4 = v[4 + r], l5 = v[6 + r], l6 = v[12 + r], l7 = v[14 + r]
    return ((l4 + l0) + (l6 + l2)) + ((l5 + l1) + (l7 + l3))
}
