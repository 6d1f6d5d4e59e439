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
/// bytes when `q81`, else Q8_0 blocks of 34) into `dst` as `k` contiguous bytes per token, flipping the sign bit
/// (y + 128 as unsigned) when `unsigned`, for `avx512SmallBatchMatmul`.
public func avx512PackActivationQuants(_ acts: UnsafeRawPointer, q81: Bool, k: Int, nTokens: Int, unsigned: Bool,
                                       _ dst: UnsafeMutablePointer<Int8>) {
    let nb = k / 32, aBytes = q81 ? 36 : 34, aq = q81 ? 4 : 2
    let flip = _mm256_set1_epi8(unsigned ? -128 : 0)
    for t in 0..<nTokens {
        for b in 0..<nb {
            let v = _mm256_loadu_si256((acts + (t * nb + b) * aBytes + aq).assumingMemoryBound(to: __m256i_u.self))
            _mm256_storeu_si256(UnsafeMutableRawPointer(dst + t * k + 32 * b).assumingMemoryBound(to: __m256i_u.self),
                                _mm256_xor_si256(v, flip))
        }
    }
}

/// Rows rowStart..<rowEnd × tokens 0..<nTokens. `q`: the tokens' quants from `avx512PackActivationQuants`
/// (unsigned for Q5_0/Q8_0, signed for Q4_1), `k` bytes per token; `ad`/`asum`: per-block activation scale and
/// sum (`avx512ActivationScales`), [block][token] with `tokenStride` ≥ `(nTokens + 7) & ~3` (Q4_1 reads the
/// scales four tokens at a time from any tile start; the slots past nTokens are read, never used).
public func avx512SmallBatchMatmul(_ kind: SmallBatchWeights, w: UnsafeRawPointer, rowBytes: Int, k: Int,
                                   rowStart: Int, rowEnd: Int, q: UnsafePointer<Int8>, ad: UnsafePointer<Float>,
                                   asum: UnsafePointer<Float>, tokenStride: Int, nTokens: Int,
                                   y: UnsafeMutablePointer<Float>, yStride: Int) {
    var r0 = rowStart
    while r0 < rowEnd {
        // Prefetch the next tile's rows (four adjacent rows are one contiguous range): software prefetches do
        // not wait for memory, where touching them with plain loads (the earlier way) stalled before the tiles.
        if r0 + 4 < rowEnd {
            let start = w + (r0 + 4) * rowBytes, bytes = min(4, rowEnd - r0 - 4) * rowBytes
            var line = 0
            while line < bytes {
                hearth_prefetch(start + line)
                line += 64
            }
        }
        var t0 = 0
        while t0 < nTokens {
            let n = min(8, nTokens - t0)
            // Literal tile widths, so each call is specialized and its accumulators stay in registers.
            // Literal tile widths, so each call is specialized and its accumulators stay in registers.
            let width = n == 8 ? 8 : (n >= 4 ? 4 : (n >= 2 ? 2 : 1))
            switch (kind, width) {
            case (.q4_1, 8): smallTile(.q4_1, 8, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q4_1, 4): smallTile(.q4_1, 4, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q4_1, 2): smallTile(.q4_1, 2, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q4_1, _): smallTile(.q4_1, 1, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q5_0, 8): smallTile(.q5_0, 8, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q5_0, 4): smallTile(.q5_0, 4, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q5_0, 2): smallTile(.q5_0, 2, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q5_0, _): smallTile(.q5_0, 1, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q8_0, 8): smallTile(.q8_0, 8, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q8_0, 4): smallTile(.q8_0, 4, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q8_0, 2): smallTile(.q8_0, 2, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            case (.q8_0, _): smallTile(.q8_0, 1, w, rowBytes, k, r0, rowEnd, q, ad, asum, tokenStride, t0, y, yStride)
            }
            t0 += width
        }
        r0 += 4
    }
}

/// Half → float (F16C).
@inline(__always) private func h2f(_ p: UnsafeRawPointer) -> Float { Float(p.loadUnaligned(as: Float16.self)) }

/// Two rows' weight block as 64 bytes [row a | row b] in element order: unsigned nibbles (Q4_1) or signed
/// values (Q5_0: q − 16; Q8_0 as stored).
@inline(__always)
private func pairBytes(_ kind: SmallBatchWeights, _ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> __m512i {
    switch kind {
    case .q4_1:
        let raw = _mm256_set_m128i(_mm_loadu_si128((b + 4).assumingMemoryBound(to: __m128i_u.self)),
                                   _mm_loadu_si128((a + 4).assumingMemoryBound(to: __m128i_u.self)))
        let m4 = _mm256_set1_epi8(0x0F)
        let lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4)
        return _mm512_permutexvar_epi64(_mm512_set_epi64(7, 6, 3, 2, 5, 4, 1, 0),
                                        _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(lo), 0xF0, hi))
    case .q5_0:
        return _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(signedBytes(a, q50: true)), 0xF0,
                                           signedBytes(b, q50: true))
    case .q8_0:
        return _mm512_mask_broadcast_i64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((a + 2).assumingMemoryBound(to: __m256i_u.self))), 0xF0,
            _mm256_loadu_si256((b + 2).assumingMemoryBound(to: __m256i_u.self)))
    }
}

/// One tile: rows r0…r0+3 (rows from `rowEnd` on repeat the last row and are not stored) × tokens t0…t0+T−1.
/// Accumulator [2j + p] holds token j's dot products with pair p's two rows
/// (low half: row 2p, high half: row 2p+1); Q4_1's min terms sit in `summs[g]`, lane 4i + j for row i, token 4g+j.
@inline(__always)
private func smallTile(_ kind: SmallBatchWeights, _ T: Int, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int,
                       _ r0: Int, _ rowEnd: Int, _ q: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                       _ asum: UnsafePointer<Float>, _ tokenStride: Int, _ t0: Int, _ y: UnsafeMutablePointer<Float>,
                       _ yStride: Int) {
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
    for b in 0..<nb {
        let o = b * wBytes
        let xAB = pairBytes(kind, wA + o, wB + o), xCD = pairBytes(kind, wC + o, wD + o)
        // −128·Σx per lane for the unsigned-activation form (zero for Q4_1, whose weights are unsigned).
        let cAB: __m512i, cCD: __m512i
        if q4 {
            cAB = zero; cCD = zero
        } else {
            let bias = _mm512_set1_epi8(-128)
            cAB = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bias, xAB))
            cCD = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bias, xCD))
        }
        // Row scales (and Q4_1 mins) of the four rows, fp16 → f32 in one conversion.
        let dwAB: __m512, dwCD: __m512
        if q4 {
            let dm = _mm512_castps256_ps512(_mm256_cvtph_ps(_mm_set_epi32(
                (wD + o).loadUnaligned(as: Int32.self), (wC + o).loadUnaligned(as: Int32.self),
                (wB + o).loadUnaligned(as: Int32.self), (wA + o).loadUnaligned(as: Int32.self))))
            dwAB = _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0), dm)
            dwCD = _mm512_permutexvar_ps(_mm512_set_epi32(6, 6, 6, 6, 6, 6, 6, 6, 4, 4, 4, 4, 4, 4, 4, 4), dm)
            let m16 = _mm512_permutexvar_ps(_mm512_set_epi32(7, 7, 7, 7, 5, 5, 5, 5, 3, 3, 3, 3, 1, 1, 1, 1), dm)
            for g in 0..<((T + 3) / 4) {
                let s = _mm512_broadcast_f32x4(_mm_loadu_ps(asum + b * tokenStride + t0 + 4 * g))
                summs[g] = _mm512_fmadd_ps(m16, s, summs[g])
            }
        } else {
            let d4 = _mm512_castps128_ps512(_mm_cvtph_ps(_mm_set_epi16(
                0, 0, 0, 0, (wD + o).loadUnaligned(as: Int16.self), (wC + o).loadUnaligned(as: Int16.self),
                (wB + o).loadUnaligned(as: Int16.self), (wA + o).loadUnaligned(as: Int16.self))))
            dwAB = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), d4)
            dwCD = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2), d4)
        }
        let adb = ad + b * tokenStride + t0
        for j in 0..<T {
            let yv = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                UnsafeRawPointer(q + (t0 + j) * k + 32 * b).assumingMemoryBound(to: __m256i_u.self)))
            let a = _mm512_set1_ps(adb[j])
            // vpdpbusd's first factor is unsigned: the Q4_1 nibbles, or the shifted activations y + 128.
            let pAB = q4 ? _mm512_dpbusd_epi32(zero, xAB, yv) : _mm512_dpbusd_epi32(cAB, yv, xAB)
            let pCD = q4 ? _mm512_dpbusd_epi32(zero, xCD, yv) : _mm512_dpbusd_epi32(cCD, yv, xCD)
            acc[2 * j] = _mm512_fmadd_ps(_mm512_mul_ps(dwAB, a), _mm512_cvtepi32_ps(pAB), acc[2 * j])
            acc[2 * j + 1] = _mm512_fmadd_ps(_mm512_mul_ps(dwCD, a), _mm512_cvtepi32_ps(pCD), acc[2 * j + 1])
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
        row[0] = hsum8(ab.lowHalf) + s[0]
        if r0 + 1 <= last { row[1] = hsum8(ab.highHalf) + s[1] }
        if r0 + 2 <= last { row[2] = hsum8(cd.lowHalf) + s[2] }
        if r0 + 3 <= last { row[3] = hsum8(cd.highHalf) + s[3] }
    }
}

/// ggml's `hsum_float_8` order: ((l4+l0)+(l6+l2)) + ((l5+l1)+(l7+l3)).
@inline(__always) private func hsum8(_ v: SIMD8<Float>) -> Float {
    ((v[4] + v[0]) + (v[6] + v[2])) + ((v[5] + v[1]) + (v[7] + v[3]))
}
