import _Builtin_intrinsics.intel
import HearthTensors
import CHearthPrefetch

/// AVX-512 version of `ExactKernels` (HearthKernels/ExactPath.swift): the same per-dot arithmetic as ggml's x86
/// kernels — eight lanes of 4-element integer sums, one FMA per block by d_w·d_a, ggml's horizontal-sum order —
/// computed for two tokens at once in the halves of a 512-bit register, four tokens per weight row pass.

/// Quantizes `tokens` rows of `k` floats into ggml Q8_0 (or Q8_1 when `q81`) blocks, `k/32` blocks per row.
public func avx512QuantizeGGML(_ x: UnsafePointer<Float>, k: Int, tokenStart: Int, tokenEnd: Int, q81: Bool,
                               _ dst: UnsafeMutableRawPointer) {
    let bytes = q81 ? 36 : 34, nb = k / 32
    let absMask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFF_FFFF))
    for t in tokenStart..<tokenEnd {
        for b in 0..<nb {
            let src = x + t * k + 32 * b
            let blk = dst + (t * nb + b) * bytes
            let v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16)
            let amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_and_ps(v0, absMask), _mm512_and_ps(v1, absMask)))
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let vid = _mm512_set1_ps(id)
            // cvtps_epi32 rounds half to even under the default MXCSR, like _mm256_round_ps(_MM_ROUND_NEAREST).
            let i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid)), i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid))
            let qs = blk + (q81 ? 4 : 2)
            _mm_storeu_si128(qs.assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(i0))
            _mm_storeu_si128((qs + 16).assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(i1))
            blk.storeBytes(of: floatToHalf(d), as: UInt16.self)
            if q81 {
                let sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1))
                (blk + 2).storeBytes(of: floatToHalf(d * Float(sum)), as: UInt16.self)
            }
        }
    }
}

/// ggml's `hsum_float_8` order: ((l4+l0)+(l6+l2)) + ((l5+l1)+(l7+l3)).
@inline(__always) private func hsum8(_ v: SIMD8<Float>) -> Float {
    ((v[4] + v[0]) + (v[6] + v[2])) + ((v[5] + v[1]) + (v[7] + v[3]))
}

/// Signed weight bytes of a Q8_0 block (as stored) or a Q5_0 block (nibble | fifth bit << 4, minus 16, as ggml's
/// x86 `bytes_from_nibbles_32` + `bytes_from_bits_32` give them). `blk` points at the block's start.
@inline(__always) func signedBytes(_ blk: UnsafeRawPointer, q50: Bool) -> __m256i {
    if !q50 { return _mm256_loadu_si256((blk + 2).assumingMemoryBound(to: __m256i_u.self)) }
    let nib = q41Bytes(blk + 6)
    let qh = __mmask32(blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
    let withHigh = _mm256_or_si256(nib, _mm256_maskz_mov_epi8(qh, _mm256_set1_epi8(0x10)))
    return _mm256_sub_epi8(withHigh, _mm256_set1_epi8(16))
}

/// Q4_1 block → 32 unsigned bytes in element order (low nibbles, then high nibbles).
@inline(__always) private func q41Bytes(_ p: UnsafeRawPointer) -> __m256i {
    let raw = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
    let m = _mm_set1_epi8(0x0F)
    let lo = _mm_and_si128(raw, m), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m)
    return _mm256_set_m128i(hi, lo)
}

/// Half → float with F16C (`vcvtph2ps`); the portable `halfToFloat` is an out-of-line call from here.
@inline(__always) private func h2f(_ p: UnsafeRawPointer) -> Float { Float(p.loadUnaligned(as: Float16.self)) }

// MARK: - Prefill: 4 rows × 4 tokens

/// Bytes of one 4-row panel block: 4×32 weight bytes (Q4_1: unsigned nibbles; Q8_0/Q5_0: signed values),
/// for Q8_0/Q5_0 the two 16-lane int32 corrections −128·Σ(4 weights of a lane) for rows [A|B] and [C|D],
/// the 4 row scales [dA, dB, dC, dD] and the 16-float min vector [mA×4, mB×4, mC×4, mD×4] (Q4_1 only).
private let panelBlockBytes = 128 + 128 + 16 + 64

/// Decodes rows r0..r0+3 (rows past `rowEnd` repeat the last one) into `panel`, `nb` blocks.
@inline(__always)
private func fillPanel(q41: Bool, q50: Bool, w: UnsafeRawPointer, rowBytes: Int, r0: Int, rowEnd: Int, nb: Int,
                       panel: UnsafeMutableRawPointer) {
    let wBytes = q41 ? 20 : (q50 ? 22 : 34)
    for i in 0..<4 {
        let wr = w + min(r0 + i, rowEnd - 1) * rowBytes
        for b in 0..<nb {
            let wb = wr + b * wBytes, pb = panel + b * panelBlockBytes
            if q41 {
                _mm256_storeu_si256((pb + 32 * i).assumingMemoryBound(to: __m256i_u.self), q41Bytes(wb + 4))
                (pb + 256).storeBytes(of: h2f(wb), toByteOffset: 4 * i, as: Float.self)
                let m = h2f(wb + 2)
                for l in 0..<4 { (pb + 272).storeBytes(of: m, toByteOffset: 4 * (4 * i + l), as: Float.self) }
            } else {
                // Signed weights against activations offset by +128 (unsigned for `vpdpbusd`):
                // Σ (y+128)·x − 128·Σx = Σ y·x exactly, the correction being where the lane sum starts.
                let x = signedBytes(wb, q50: q50)
                _mm256_storeu_si256((pb + 32 * i).assumingMemoryBound(to: __m256i_u.self), x)
                let lanes = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x), _mm256_set1_epi16(1))  // Σ of 4 a lane
                _mm256_storeu_si256((pb + 128 + 32 * i).assumingMemoryBound(to: __m256i_u.self),
                                    _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(lanes, 7)))
                (pb + 256).storeBytes(of: h2f(wb), toByteOffset: 4 * i, as: Float.self)
            }
        }
    }
}

/// Per-token activation scales as floats, laid out [block][token] so four tokens' values sit together:
/// `ad` = d (fp16 → f32), `asum` = s (Q8_1 only).
public func avx512ActivationScales(q81: Bool, acts: UnsafeRawPointer, k: Int, nTokens: Int, tokenStride: Int,
                                   ad: UnsafeMutablePointer<Float>, asum: UnsafeMutablePointer<Float>) {
    let nb = k / 32, aBytes = q81 ? 36 : 34, aRow = nb * aBytes
    for t in 0..<nTokens {
        for b in 0..<nb {
            let blk = acts + t * aRow + b * aBytes
            ad[b * tokenStride + t] = h2f(blk)
            asum[b * tokenStride + t] = q81 ? h2f(blk + 2) : 0
        }
    }
}

/// Prefill GEMM with ggml's per-dot arithmetic: rows rowStart..<rowEnd × tokens 0..<nTokens (nTokens ≥ 2),
/// 4 rows × 4 tokens a tile; each 512-bit accumulator holds two dot products (rows A/B or C/D for one token).
/// `ad`/`asum` come from `avx512ActivationScales` with `tokenStride` ≥ nTokens rounded up to 4 (padding
/// repeats the last token); `panel` holds `k/32 · 336` bytes.
/// Q8_0 activation blocks (2-byte d, 32 signed quants) with the quants as y + 128 (xor 0x80), for
/// `avx512ExactGemm`'s Q5_0/Q8_0 path.
public func avx512FlipActivationQuants(_ acts: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutableRawPointer) {
    dst.copyMemory(from: acts, byteCount: blocks * 34)
    let flip = _mm256_set1_epi8(-128)
    for b in 0..<blocks {
        let q = dst + b * 34 + 2
        q.storeBytes(of: _mm256_xor_si256(q.loadUnaligned(as: __m256i.self), flip), as: __m256i.self)
    }
}

/// Q4_1 takes Q8_1 activations as they are; Q5_0/Q8_0 take them flipped by `avx512FlipActivationQuants`.
public func avx512ExactGemm(q41: Bool, q50: Bool = false, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                            acts: UnsafeRawPointer, ad: UnsafePointer<Float>, asum: UnsafePointer<Float>,
                            tokenStride: Int, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                            panel: UnsafeMutableRawPointer) {
    let nb = k / 32, aBytes = q41 ? 36 : 34, aq = q41 ? 4 : 2
    let aRow = nb * aBytes
    var r0 = rowStart
    while r0 < rowEnd {
        fillPanel(q41: q41, q50: q50, w: w, rowBytes: rowBytes, r0: r0, rowEnd: rowEnd, nb: nb, panel: panel)
        // Q5_0/Q8_0 take the 4×8 tile; Q4_1 (with its Σ m·s term) the 4×4 tile below.
        if !q41 {
            gemmTile4x8(panel: panel, nb: nb, acts: acts, aRow: aRow, aBytes: aBytes, aq: aq, ad: ad,
                        tokenStride: tokenStride, nTokens: nTokens, y: y, yStride: yStride, r0: r0, rowEnd: rowEnd)
            r0 += 4
            continue
        }
        var t0 = 0
        while t0 < nTokens {
            let last = nTokens - 1
            let a0 = acts + t0 * aRow + aq, a1 = acts + min(t0 + 1, last) * aRow + aq
            let a2 = acts + min(t0 + 2, last) * aRow + aq, a3 = acts + min(t0 + 3, last) * aRow + aq
            var ab0 = _mm512_setzero_ps(), ab1 = _mm512_setzero_ps(), ab2 = _mm512_setzero_ps(), ab3 = _mm512_setzero_ps()
            var cd0 = _mm512_setzero_ps(), cd1 = _mm512_setzero_ps(), cd2 = _mm512_setzero_ps(), cd3 = _mm512_setzero_ps()
            var summs = _mm512_setzero_ps()
            let zero = _mm512_setzero_si512()
            for b in 0..<nb {
                let pb = panel + b * panelBlockBytes
                let xAB = _mm512_loadu_si512(pb), xCD = _mm512_loadu_si512(pb + 64)
                let wd = _mm_loadu_ps((pb + 256).assumingMemoryBound(to: Float.self))
                // [dA×8, dB×8] and [dC×8, dD×8]
                let wdAB = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                                 _mm512_castps128_ps512(wd))
                let wdCD = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
                                                 _mm512_castps128_ps512(wd))
                let adb = ad + b * tokenStride + t0
                let off = b * aBytes
                let y0 = _mm512_broadcast_i64x4(_mm256_loadu_si256((a0 + off).assumingMemoryBound(to: __m256i_u.self)))
                let y1 = _mm512_broadcast_i64x4(_mm256_loadu_si256((a1 + off).assumingMemoryBound(to: __m256i_u.self)))
                let y2 = _mm512_broadcast_i64x4(_mm256_loadu_si256((a2 + off).assumingMemoryBound(to: __m256i_u.self)))
                let y3 = _mm512_broadcast_i64x4(_mm256_loadu_si256((a3 + off).assumingMemoryBound(to: __m256i_u.self)))
                let m = _mm512_loadu_ps((pb + 272).assumingMemoryBound(to: Float.self))
                let s = _mm512_broadcast_f32x4(_mm_loadu_ps(asum + b * tokenStride + t0))
                summs = _mm512_fmadd_ps(m, s, summs)
                ab0 = _mm512_fmadd_ps(_mm512_mul_ps(wdAB, _mm512_set1_ps(adb[0])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xAB, y0)), ab0)
                cd0 = _mm512_fmadd_ps(_mm512_mul_ps(wdCD, _mm512_set1_ps(adb[0])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xCD, y0)), cd0)
                ab1 = _mm512_fmadd_ps(_mm512_mul_ps(wdAB, _mm512_set1_ps(adb[1])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xAB, y1)), ab1)
                cd1 = _mm512_fmadd_ps(_mm512_mul_ps(wdCD, _mm512_set1_ps(adb[1])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xCD, y1)), cd1)
                ab2 = _mm512_fmadd_ps(_mm512_mul_ps(wdAB, _mm512_set1_ps(adb[2])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xAB, y2)), ab2)
                cd2 = _mm512_fmadd_ps(_mm512_mul_ps(wdCD, _mm512_set1_ps(adb[2])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xCD, y2)), cd2)
                ab3 = _mm512_fmadd_ps(_mm512_mul_ps(wdAB, _mm512_set1_ps(adb[3])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xAB, y3)), ab3)
                cd3 = _mm512_fmadd_ps(_mm512_mul_ps(wdCD, _mm512_set1_ps(adb[3])),
                                      _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, xCD, y3)), cd3)
            }
            let sm = unsafeBitCast(summs, to: SIMD16<Float>.self)
            @inline(__always) func put(_ j: Int, _ ab: __m512, _ cd: __m512) {
                guard t0 + j < nTokens else { return }
                let abv = unsafeBitCast(ab, to: SIMD16<Float>.self), cdv = unsafeBitCast(cd, to: SIMD16<Float>.self)
                let row = y + (t0 + j) * yStride + r0
                row[0] = hsum8(abv.lowHalf) + sm[j]
                if r0 + 1 < rowEnd { row[1] = hsum8(abv.highHalf) + sm[4 + j] }
                if r0 + 2 < rowEnd { row[2] = hsum8(cdv.lowHalf) + sm[8 + j] }
                if r0 + 3 < rowEnd { row[3] = hsum8(cdv.highHalf) + sm[12 + j] }
            }
            put(0, ab0, cd0); put(1, ab1, cd1); put(2, ab2, cd2); put(3, ab3, cd3)
            t0 += 4
        }
        r0 += 4
    }
}

/// Q5_0/Q8_0 (flipped activations): the 4 panel rows against 8 tokens a step (the panel's loads, scale
/// permutes and the −128·Σx correction serve twice the tokens of the 4×4 tile; 16 accumulators), the same
/// per-dot arithmetic as the 4×4 tile, so the same bits.
@inline(__always)
private func gemmTile4x8(panel: UnsafeRawPointer, nb: Int, acts: UnsafeRawPointer, aRow: Int, aBytes: Int, aq: Int,
                         ad: UnsafePointer<Float>, tokenStride: Int, nTokens: Int, y: UnsafeMutablePointer<Float>,
                         yStride: Int, r0: Int, rowEnd: Int) {
    let last = nTokens - 1
    let permAB = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    let permCD = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2)
    var t0 = 0
    while t0 < nTokens {
        @inline(__always) func tok(_ j: Int) -> UnsafeRawPointer { acts + min(t0 + j, last) * aRow + aq }
        let a0 = tok(0), a1 = tok(1), a2 = tok(2), a3 = tok(3), a4 = tok(4), a5 = tok(5), a6 = tok(6), a7 = tok(7)
        var ab0 = _mm512_setzero_ps(), ab1 = ab0, ab2 = ab0, ab3 = ab0, ab4 = ab0, ab5 = ab0, ab6 = ab0, ab7 = ab0
        var cd0 = ab0, cd1 = ab0, cd2 = ab0, cd3 = ab0, cd4 = ab0, cd5 = ab0, cd6 = ab0, cd7 = ab0
        for b in 0..<nb {
            let pb = panel + b * panelBlockBytes
            let xAB = _mm512_loadu_si512(pb), xCD = _mm512_loadu_si512(pb + 64)
            let cAB = _mm512_loadu_si512(pb + 128), cCD = _mm512_loadu_si512(pb + 192)
            let wd = _mm512_castps128_ps512(_mm_loadu_ps((pb + 256).assumingMemoryBound(to: Float.self)))
            let wdAB = _mm512_permutexvar_ps(permAB, wd), wdCD = _mm512_permutexvar_ps(permCD, wd)
            // Padding tokens (t0 + j > last) read the last token's scale: the stride pads with copies of it.
            let adb = ad + b * tokenStride + t0
            let off = b * aBytes
            @inline(__always) func step(_ a: UnsafeRawPointer, _ j: Int, _ ab: inout __m512, _ cd: inout __m512) {
                let u = _mm512_broadcast_i64x4(_mm256_loadu_si256((a + off).assumingMemoryBound(to: __m256i_u.self)))
                let dd = _mm512_set1_ps(adb[min(j, last - t0)])
                ab = _mm512_fmadd_ps(_mm512_mul_ps(wdAB, dd), _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(cAB, u, xAB)), ab)
                cd = _mm512_fmadd_ps(_mm512_mul_ps(wdCD, dd), _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(cCD, u, xCD)), cd)
            }
            step(a0, 0, &ab0, &cd0); step(a1, 1, &ab1, &cd1); step(a2, 2, &ab2, &cd2); step(a3, 3, &ab3, &cd3)
            step(a4, 4, &ab4, &cd4); step(a5, 5, &ab5, &cd5); step(a6, 6, &ab6, &cd6); step(a7, 7, &ab7, &cd7)
        }
        @inline(__always) func put(_ j: Int, _ ab: __m512, _ cd: __m512) {
            guard t0 + j < nTokens else { return }
            let abv = unsafeBitCast(ab, to: SIMD16<Float>.self), cdv = unsafeBitCast(cd, to: SIMD16<Float>.self)
            let row = y + (t0 + j) * yStride + r0
            row[0] = hsum8(abv.lowHalf)
            if r0 + 1 < rowEnd { row[1] = hsum8(abv.highHalf) }
            if r0 + 2 < rowEnd { row[2] = hsum8(cdv.lowHalf) }
            if r0 + 3 < rowEnd { row[3] = hsum8(cdv.highHalf) }
        }
        put(0, ab0, cd0); put(1, ab1, cd1); put(2, ab2, cd2); put(3, ab3, cd3)
        put(4, ab4, cd4); put(5, ab5, cd5); put(6, ab6, cd6); put(7, ab7, cd7)
        t0 += 8
    }
}

// MARK: - Decode: one token, 8 rows at a time


/// Rows a and c (weight block pointers) against the broadcast token block `yv`: acc += (d_w·d_a) × lane sums,
/// and for Q4_1 macc += m_w · s_a (the same value in all lanes of a half; lane 0 and 8 are read at the end).
@inline(__always)
private func gemvPair(q41: Bool, q50: Bool, _ a: UnsafeRawPointer, _ c: UnsafeRawPointer, _ yv: __m512i, _ adb: __m512,
                      _ asb: __m512, _ acc: inout __m512, _ macc: inout __m512) {
    let zero = _mm512_setzero_si512()
    if q41 {
        // Both rows' 16 nibble bytes → [A lo, A hi | C lo, C hi] in one register.
        let raw = _mm256_set_m128i(_mm_loadu_si128((c + 4).assumingMemoryBound(to: __m128i_u.self)),
                                   _mm_loadu_si128((a + 4).assumingMemoryBound(to: __m128i_u.self)))
        let m4 = _mm256_set1_epi8(0x0F)
        let lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4)
        let x = _mm512_permutexvar_epi64(_mm512_set_epi64(7, 6, 3, 2, 5, 4, 1, 0),
                                         _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(lo), 0xF0, hi))
        let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, x, yv))
        // [dA, mA, dC, mC] from two 32-bit loads (d and m are adjacent halves).
        let dm = _mm_cvtph_ps(_mm_unpacklo_epi32(_mm_cvtsi32_si128(a.loadUnaligned(as: Int32.self)),
                                                 _mm_cvtsi32_si128(c.loadUnaligned(as: Int32.self))))
        let dm512 = _mm512_castps128_ps512(dm)
        let dw = _mm512_permutexvar_ps(_mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0), dm512)
        let mw = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), dm512)
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, adb), p, acc)
        macc = _mm512_fmadd_ps(mw, asb, macc)
    } else {
        var x = _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(signedBytes(a, q50: q50)), 0xF0,
                                            signedBytes(c, q50: q50))
        let yy = _mm512_mask_sub_epi8(yv, _mm512_movepi8_mask(x), zero, yv)
        x = _mm512_abs_epi8(x)
        let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, x, yy))
        let dw = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(h2f(a)), _mm512_set1_ps(h2f(c)))
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, adb), p, acc)
    }
}

/// One token against rows rowStart..<rowEnd, eight rows (four independent accumulators, two dot products
/// each) per pass so the FMA chains overlap; ggml's per-dot arithmetic as everywhere in this file.
/// `ad`/`asum`: the token's per-block scale and sum as floats (`avx512ActivationScales`, stride 1).
public func avx512ExactGemv(q41: Bool, q50: Bool = false, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                            act: UnsafeRawPointer, ad: UnsafePointer<Float>, asum: UnsafePointer<Float>,
                            y: UnsafeMutablePointer<Float>) {
    let nb = k / 32, wBytes = q41 ? 20 : (q50 ? 22 : 34), aBytes = q41 ? 36 : 34, aq = q41 ? 4 : 2
    var r0 = rowStart
    while r0 < rowEnd {
        let last = rowEnd - 1
        let w0 = w + r0 * rowBytes, w1 = w + min(r0 + 1, last) * rowBytes
        let w2 = w + min(r0 + 2, last) * rowBytes, w3 = w + min(r0 + 3, last) * rowBytes
        let w4 = w + min(r0 + 4, last) * rowBytes, w5 = w + min(r0 + 5, last) * rowBytes
        let w6 = w + min(r0 + 6, last) * rowBytes, w7 = w + min(r0 + 7, last) * rowBytes
        var acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps()
        var m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps(), m2 = _mm512_setzero_ps(), m3 = _mm512_setzero_ps()
        // The next pass's rows (contiguous, 8·rowBytes) are prefetched while this pass computes, a few lines
        // each block step: eight interleaved row streams defeat the hardware prefetcher. (Touching them with
        // plain loads before the pass, the earlier way, waits for memory before computing: SmolLM2 decode went
        // from ~145 to 164–220 t/s, Qwen2.5-Coder-0.5B from 51.5 to 54–55 on a loaded machine.)
        let pf = w + (r0 + 8) * rowBytes, pfEnd = w + min(rowEnd, r0 + 16) * rowBytes
        let pfLines = (8 * wBytes + 63) / 64
        for b in 0..<nb {
            var p = pf + b * pfLines * 64
            for _ in 0..<pfLines where p < pfEnd {
                hearth_prefetch(p)
                p += 64
            }
            let ab = act + b * aBytes
            let yv = _mm512_broadcast_i64x4(_mm256_loadu_si256((ab + aq).assumingMemoryBound(to: __m256i_u.self)))
            let adb = _mm512_set1_ps(ad[b]), asb = _mm512_set1_ps(asum[b])
            let o = b * wBytes
            gemvPair(q41: q41, q50: q50, w0 + o, w1 + o, yv, adb, asb, &acc0, &m0)
            gemvPair(q41: q41, q50: q50, w2 + o, w3 + o, yv, adb, asb, &acc1, &m1)
            gemvPair(q41: q41, q50: q50, w4 + o, w5 + o, yv, adb, asb, &acc2, &m2)
            gemvPair(q41: q41, q50: q50, w6 + o, w7 + o, yv, adb, asb, &acc3, &m3)
        }
        let n0 = unsafeBitCast(m0, to: SIMD16<Float>.self), n1 = unsafeBitCast(m1, to: SIMD16<Float>.self)
        let n2 = unsafeBitCast(m2, to: SIMD16<Float>.self), n3 = unsafeBitCast(m3, to: SIMD16<Float>.self)
        let s = SIMD8<Float>(n0[0], n0[8], n1[0], n1[8], n2[0], n2[8], n3[0], n3[8])
        let v0 = unsafeBitCast(acc0, to: SIMD16<Float>.self), v1 = unsafeBitCast(acc1, to: SIMD16<Float>.self)
        let v2 = unsafeBitCast(acc2, to: SIMD16<Float>.self), v3 = unsafeBitCast(acc3, to: SIMD16<Float>.self)
        let out = y + r0
        out[0] = hsum8(v0.lowHalf) + s[0]
        if r0 + 1 < rowEnd { out[1] = hsum8(v0.highHalf) + s[1] }
        if r0 + 2 < rowEnd { out[2] = hsum8(v1.lowHalf) + s[2] }
        if r0 + 3 < rowEnd { out[3] = hsum8(v1.highHalf) + s[3] }
        if r0 + 4 < rowEnd { out[4] = hsum8(v2.lowHalf) + s[4] }
        if r0 + 5 < rowEnd { out[5] = hsum8(v2.highHalf) + s[5] }
        if r0 + 6 < rowEnd { out[6] = hsum8(v3.lowHalf) + s[6] }
        if r0 + 7 < rowEnd { out[7] = hsum8(v3.highHalf) + s[7] }
        r0 += 8
    }
}
