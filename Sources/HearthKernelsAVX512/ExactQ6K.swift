import _Builtin_intrinsics.intel
import HearthTensors
import CHearthPrefetch

/// AVX-512 version of `ExactKernels.dotQ6_K` (HearthKernels/ExactPath.swift): ggml's AVX2
/// `ggml_vec_dot_q6_K_q8_K` arithmetic, two dot products (rows A and C) per 512-bit register.
///
/// ggml's int32 lane l of a 256-block is Σ over the eight 32-byte chunks c of scale[2c + l/4] · (u·a summed over
/// bytes 4l…4l+3 of the chunk), u the unsigned 6-bit quant, minus 32·(bsums·scales paired per lane). Here a
/// register holds chunk c of row A in its low half and chunk c of row C in its high half, so `maddubs` + `dpwssd`
/// against the expanded per-16 scales accumulate exactly those lane sums (integer sums, so any order gives the
/// same int32), starting from −32·madd(bsums, scales). Then one FMA per block by d_a·d_w, and `hsum_float_8`.

/// ggml's `hsum_float_8` order.
@inline(__always) private func hsum8(_ v: SIMD8<Float>) -> Float {
    ((v[4] + v[0]) + (v[6] + v[2])) + ((v[5] + v[1]) + (v[7] + v[3]))
}

@inline(__always) private func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))
}

/// [32 bytes at a | 32 bytes at c].
@inline(__always) private func pair256(_ a: UnsafeRawPointer, _ c: UnsafeRawPointer) -> __m512i {
    _mm512_mask_broadcast_i64x4(_mm512_castsi256_si512(load256(a)), 0xF0, load256(c))
}

/// 32 bytes at p in both halves.
@inline(__always) private func bcast256(_ p: UnsafeRawPointer) -> __m512i {
    _mm512_broadcast_i64x4(load256(p))
}

/// Chunks 4j…4j+3 (j = half, 0 or 1) of Q6_K blocks a and c as [a | c] unsigned 6-bit bytes, in element order:
/// chunk 4j+i holds ql low (i < 2) or high (i ≥ 2) nibbles of ql[64j + 32(i&1) …] and qh bits 2i, 2i+1 as bits 4, 5.
@inline(__always)
private func q6Chunks(_ a: UnsafeRawPointer, _ c: UnsafeRawPointer, _ j: Int)
    -> (__m512i, __m512i, __m512i, __m512i) {
    let x1 = pair256(a + 64 * j, c + 64 * j), x2 = pair256(a + 64 * j + 32, c + 64 * j + 32)
    let h = pair256(a + 128 + 32 * j, c + 128 + 32 * j)
    let m15 = _mm512_set1_epi8(15), m48 = _mm512_set1_epi8(48)
    let c0 = _mm512_or_si512(_mm512_and_si512(x1, m15), _mm512_and_si512(_mm512_slli_epi64(h, 4), m48))
    let c1 = _mm512_or_si512(_mm512_and_si512(x2, m15), _mm512_and_si512(_mm512_slli_epi64(h, 2), m48))
    let c2 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(x1, 4), m15), _mm512_and_si512(h, m48))
    let c3 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(x2, 4), m15),
                             _mm512_and_si512(_mm512_srli_epi64(h, 2), m48))
    return (c0, c1, c2, c3)
}

/// Both rows' 16 scales as int16: [scales A | scales C].
@inline(__always) private func q6Scales(_ a: UnsafeRawPointer, _ c: UnsafeRawPointer) -> __m512i {
    _mm512_cvtepi8_epi16(_mm256_set_m128i(_mm_loadu_si128((c + 192).assumingMemoryBound(to: __m128i_u.self)),
                                          _mm_loadu_si128((a + 192).assumingMemoryBound(to: __m128i_u.self))))
}

/// `vpermw` index expanding `q6Scales` for chunk `ch`: int16 i gets scale 2ch + (i mod 16)/8 of row A (i < 16)
/// or row C (i ≥ 16).
@inline(__always) private func q6ScaleIndex(_ ch: Int) -> __m512i {
    var v = SIMD16<Int32>()
    for p in 0..<16 {
        let i = 2 * p
        let s = Int32((i < 16 ? 0 : 16) + 2 * ch + (i % 16) / 8)
        v[p] = s | (s << 16)
    }
    return unsafeBitCast(v, to: __m512i.self)
}

/// The eight scale-index vectors, built once per kernel call.
private struct Q6Index {
    let i0, i1, i2, i3, i4, i5, i6, i7: __m512i
    @inline(__always) init() {
        i0 = q6ScaleIndex(0); i1 = q6ScaleIndex(1); i2 = q6ScaleIndex(2); i3 = q6ScaleIndex(3)
        i4 = q6ScaleIndex(4); i5 = q6ScaleIndex(5); i6 = q6ScaleIndex(6); i7 = q6ScaleIndex(7)
    }
}

/// −32·madd(bsums, scales): ggml's q8sclsub for both rows, as the starting value of the lane sums.
@inline(__always) private func q6Start(_ bsums: __m512i, _ sc: __m512i) -> __m512i {
    _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_madd_epi16(bsums, sc), 5))
}

@inline(__always) private func q6Step(_ acc: __m512i, _ q: __m512i, _ act: UnsafeRawPointer, _ ch: Int,
                                      _ scale: __m512i) -> __m512i {
    _mm512_dpwssd_epi32(acc, scale, _mm512_maddubs_epi16(q, bcast256(act + 4 + 32 * ch)))
}

// MARK: - Decode: one token, 8 rows a pass

/// Rows a and c (block pointers) against the token block `y`: acc += (d_w·d_a) × lane sums.
@inline(__always)
private func q6GemvPair(_ a: UnsafeRawPointer, _ c: UnsafeRawPointer, _ y: UnsafeRawPointer, _ bsums: __m512i,
                        _ yd: __m512, _ ix: Q6Index, _ acc: inout __m512) {
    let sc = q6Scales(a, c)
    // Two accumulators (even and odd chunks) so consecutive `dpwssd`s do not wait on each other; the lane sums
    // are exact integers, so splitting them changes no bit.
    var s = q6Start(bsums, sc), t = _mm512_setzero_si512()
    let (q0, q1, q2, q3) = q6Chunks(a, c, 0)
    s = q6Step(s, q0, y, 0, _mm512_permutexvar_epi16(ix.i0, sc))
    t = q6Step(t, q1, y, 1, _mm512_permutexvar_epi16(ix.i1, sc))
    s = q6Step(s, q2, y, 2, _mm512_permutexvar_epi16(ix.i2, sc))
    t = q6Step(t, q3, y, 3, _mm512_permutexvar_epi16(ix.i3, sc))
    let (q4, q5, q6, q7) = q6Chunks(a, c, 1)
    s = q6Step(s, q4, y, 4, _mm512_permutexvar_epi16(ix.i4, sc))
    t = q6Step(t, q5, y, 5, _mm512_permutexvar_epi16(ix.i5, sc))
    s = q6Step(s, q6, y, 6, _mm512_permutexvar_epi16(ix.i6, sc))
    t = q6Step(t, q7, y, 7, _mm512_permutexvar_epi16(ix.i7, sc))
    s = _mm512_add_epi32(s, t)
    // [dA×8 | dC×8] through `vcvtph2ps` on a vector: scalar fp16 loads compile to `vpinsrw` with a false
    // dependency that serializes the loop (../shared/notes/swift-kernels.md).
    let hw = UInt32(a.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        | UInt32(c.loadUnaligned(fromByteOffset: 208, as: UInt16.self)) << 16
    let d2 = _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: hw)))
    let dw = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                   _mm512_castps128_ps512(d2))
    acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, yd), _mm512_cvtepi32_ps(s), acc)
}

/// One token (`act`: k/256 Q8_K blocks) against Q6_K rows rowStart..<rowEnd, two rows a pass: rows r and r+1 are adjacent in memory, so the weights are read as one
/// sequential stream, prefetched in software two passes ahead (`prefetcht0` through CHearthPrefetch). Touching
/// the next rows with plain loads, as an earlier eight-row version did, waits for memory before the pass computes; the
/// hardware prefetcher alone reached half of DRAM bandwidth. A 191 MB Q6_K matrix, 2 threads: 8.6 ms with eight
/// rows and touching, 17 ms with pairs and no prefetch, 4.5 ms with pairs and prefetch. Same bits.
public func avx512ExactGemvQ6KPairs(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                                    act: UnsafeRawPointer, y: UnsafeMutablePointer<Float>) {
    let nb = k / 256
    let ix = Q6Index()
    var r0 = rowStart
    while r0 < rowEnd {
        let w0 = w + r0 * rowBytes, w1 = w + min(r0 + 1, rowEnd - 1) * rowBytes
        var acc = _mm512_setzero_ps()
        let pf = w0 + 4 * rowBytes  // two passes ahead
        for b in 0..<nb {
            let yb = act + b * 292
            let o = b * 210
            // 7 lines a step cover the 2·210 bytes of a pass-ahead's step (past the matrix end a prefetch is
            // harmless: it never faults).
            let p = pf + 448 * b
            hearth_prefetch(p); hearth_prefetch(p + 64); hearth_prefetch(p + 128); hearth_prefetch(p + 192)
            hearth_prefetch(p + 256); hearth_prefetch(p + 320); hearth_prefetch(p + 384)
            q6GemvPair(w0 + o, w1 + o, yb, bcast256(yb + 260), _mm512_set1_ps(yb.loadUnaligned(as: Float.self)), ix,
                       &acc)
        }
        let v = unsafeBitCast(acc, to: SIMD16<Float>.self)
        y[r0] = hsum8(v.lowHalf)
        if r0 + 1 < rowEnd { y[r0 + 1] = hsum8(v.highHalf) }
        r0 += 2
    }
}

// MARK: - Prefill: 4 rows × 4 tokens

/// Bytes of one pair's part of a panel block: 8 chunk registers [A | C] (512), their 8 expanded scale registers
/// (512), the raw int16 scales [A | C] (64) and [dA×8 | dC×8] as floats (64).
private let q6PairBytes = 1152

/// Panel bytes per 256 columns (two pairs).
public let avx512Q6KPanelBytesPerBlock = 2 * q6PairBytes

/// Decodes rows r0..r0+3 (rows past `rowEnd` repeat the last one) into `panel`.
@inline(__always)
private func fillPanelQ6K(w: UnsafeRawPointer, rowBytes: Int, r0: Int, rowEnd: Int, nb: Int, ix: Q6Index,
                          panel: UnsafeMutableRawPointer) {
    for p in 0..<2 {
        let ra = w + min(r0 + 2 * p, rowEnd - 1) * rowBytes, rc = w + min(r0 + 2 * p + 1, rowEnd - 1) * rowBytes
        for b in 0..<nb {
            let a = ra + b * 210, c = rc + b * 210
            let pb = panel + b * avx512Q6KPanelBytesPerBlock + p * q6PairBytes
            let (q0, q1, q2, q3) = q6Chunks(a, c, 0)
            let (q4, q5, q6, q7) = q6Chunks(a, c, 1)
            let sc = q6Scales(a, c)
            _mm512_storeu_si512(pb, q0); _mm512_storeu_si512(pb + 64, q1)
            _mm512_storeu_si512(pb + 128, q2); _mm512_storeu_si512(pb + 192, q3)
            _mm512_storeu_si512(pb + 256, q4); _mm512_storeu_si512(pb + 320, q5)
            _mm512_storeu_si512(pb + 384, q6); _mm512_storeu_si512(pb + 448, q7)
            _mm512_storeu_si512(pb + 512, _mm512_permutexvar_epi16(ix.i0, sc))
            _mm512_storeu_si512(pb + 576, _mm512_permutexvar_epi16(ix.i1, sc))
            _mm512_storeu_si512(pb + 640, _mm512_permutexvar_epi16(ix.i2, sc))
            _mm512_storeu_si512(pb + 704, _mm512_permutexvar_epi16(ix.i3, sc))
            _mm512_storeu_si512(pb + 768, _mm512_permutexvar_epi16(ix.i4, sc))
            _mm512_storeu_si512(pb + 832, _mm512_permutexvar_epi16(ix.i5, sc))
            _mm512_storeu_si512(pb + 896, _mm512_permutexvar_epi16(ix.i6, sc))
            _mm512_storeu_si512(pb + 960, _mm512_permutexvar_epi16(ix.i7, sc))
            _mm512_storeu_si512(pb + 1024, sc)
            let dw = _mm512_mask_blend_ps(0xFF00,
                                          _mm512_set1_ps(Float(a.loadUnaligned(fromByteOffset: 208, as: Float16.self))),
                                          _mm512_set1_ps(Float(c.loadUnaligned(fromByteOffset: 208, as: Float16.self))))
            _mm512_storeu_ps(pb + 1088, dw)
        }
    }
}

/// One pair's lane sums for one token block `y` from panel pair block `pp`.
@inline(__always)
private func q6PanelInts(_ pp: UnsafeRawPointer, _ y: UnsafeRawPointer, _ bsums: __m512i) -> __m512i {
    var s = q6Start(bsums, _mm512_loadu_si512(pp + 1024))
    for ch in 0..<8 {
        s = q6Step(s, _mm512_loadu_si512(pp + 64 * ch), y, ch, _mm512_loadu_si512(pp + 512 + 64 * ch))
    }
    return s
}

/// Prefill GEMM on Q6_K rows rowStart..<rowEnd × tokens 0..<nTokens (`acts`: nTokens rows of k/256 Q8_K
/// blocks), 4 rows × 4 tokens a tile (padding tokens repeat the last one); `panel` holds
/// `k/256 · avx512Q6KPanelBytesPerBlock` bytes. `tiled`: ggml's tiled K-quant arithmetic instead of
/// `vec_dot_q6_K_q8_K`'s (per block the lane sums' exact total s, r = Float(s)·d_w, acc = fma(r, d_t, acc)).
public func avx512ExactGemmQ6K(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                               acts: UnsafeRawPointer, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int,
                               panel: UnsafeMutableRawPointer, tiled: Bool = false) {
    let nb = k / 256, aRow = nb * 292
    let ix = Q6Index()
    var r0 = rowStart
    while r0 < rowEnd {
        fillPanelQ6K(w: w, rowBytes: rowBytes, r0: r0, rowEnd: rowEnd, nb: nb, ix: ix, panel: panel)
        var t0 = 0
        while t0 < nTokens {
            let last = nTokens - 1
            let a0 = acts + t0 * aRow, a1 = acts + min(t0 + 1, last) * aRow
            let a2 = acts + min(t0 + 2, last) * aRow, a3 = acts + min(t0 + 3, last) * aRow
            var ab0 = _mm512_setzero_ps(), ab1 = _mm512_setzero_ps(), ab2 = _mm512_setzero_ps(), ab3 = _mm512_setzero_ps()
            var cd0 = _mm512_setzero_ps(), cd1 = _mm512_setzero_ps(), cd2 = _mm512_setzero_ps(), cd3 = _mm512_setzero_ps()
            var tacc = SIMD16<Float>()  // tiled: [token j][row i] at 4j + i
            for b in 0..<nb {
                let pb = UnsafeRawPointer(panel + b * avx512Q6KPanelBytesPerBlock), pc = pb + q6PairBytes
                let dAB = _mm512_loadu_ps(pb + 1088), dCD = _mm512_loadu_ps(pc + 1088)
                @inline(__always) func token(_ j: Int, _ at: UnsafeRawPointer, _ ab: inout __m512, _ cd: inout __m512) {
                    let yb = at + b * 292
                    let bsums = bcast256(yb + 260)
                    let ydf = yb.loadUnaligned(as: Float.self)
                    let yd = _mm512_set1_ps(ydf)
                    if tiled {
                        let iab = unsafeBitCast(q6PanelInts(pb, yb, bsums), to: SIMD16<Int32>.self)
                        let icd = unsafeBitCast(q6PanelInts(pc, yb, bsums), to: SIMD16<Int32>.self)
                        let sums = SIMD4<Int32>(iab.lowHalf.wrappedSum(), iab.highHalf.wrappedSum(),
                                                icd.lowHalf.wrappedSum(), icd.highHalf.wrappedSum())
                        let ds = SIMD4<Float>(pb.load(fromByteOffset: 1088, as: Float.self),
                                              pb.load(fromByteOffset: 1120, as: Float.self),
                                              pc.load(fromByteOffset: 1088, as: Float.self),
                                              pc.load(fromByteOffset: 1120, as: Float.self))
                        for i in 0..<4 {
                            tacc[4 * j + i] = tacc[4 * j + i].addingProduct(Float(sums[i]) * ds[i], ydf)
                        }
                        return
                    }
                    ab = _mm512_fmadd_ps(_mm512_mul_ps(dAB, yd), _mm512_cvtepi32_ps(q6PanelInts(pb, yb, bsums)), ab)
                    cd = _mm512_fmadd_ps(_mm512_mul_ps(dCD, yd), _mm512_cvtepi32_ps(q6PanelInts(pc, yb, bsums)), cd)
                }
                token(0, a0, &ab0, &cd0); token(1, a1, &ab1, &cd1); token(2, a2, &ab2, &cd2); token(3, a3, &ab3, &cd3)
            }
            @inline(__always) func put(_ j: Int, _ ab: __m512, _ cd: __m512) {
                guard t0 + j < nTokens else { return }
                let abv = unsafeBitCast(ab, to: SIMD16<Float>.self), cdv = unsafeBitCast(cd, to: SIMD16<Float>.self)
                let row = y + (t0 + j) * yStride + r0
                let v = tiled ? SIMD4<Float>(tacc[4 * j], tacc[4 * j + 1], tacc[4 * j + 2], tacc[4 * j + 3])
                    : SIMD4<Float>(hsum8(abv.lowHalf), hsum8(abv.highHalf), hsum8(cdv.lowHalf), hsum8(cdv.highHalf))
                row[0] = v[0]
                if r0 + 1 < rowEnd { row[1] = v[1] }
                if r0 + 2 < rowEnd { row[2] = v[2] }
                if r0 + 3 < rowEnd { row[3] = v[3] }
            }
            put(0, ab0, cd0); put(1, ab1, cd1); put(2, ab2, cd2); put(3, ab3, cd3)
            t0 += 4
        }
        r0 += 4
    }
}
