import _Builtin_intrinsics.intel
import HearthTensors

/// Decode (one token) for Q4_K weights with the arithmetic of ggml's repacked `ggml_gemv_q4_K_8x8_q8_K` (see
/// HearthKernels/ExactQ4K.swift): per row and 256-block the exact integers isum = Σ_s sc_s·dot_s and
/// imin = Σ_s m_s·bs_s, then acc = fma(Float(isum), d·d_t, acc) and accm = fma(Float(imin), dmin·d_t, accm),
/// blocks in order; result acc − accm.
///
/// The first version (one row at a time) did that one block at a time, with a horizontal sum, a scalar unpacking of the 6-bit
/// scales and mins, a scalar min sum and scalar fp16 conversions per block: about 90 instructions per 144-byte
/// block, ~20 GB/s a core, below what two cores stream from DRAM. Here the weight rows are walked as one run of
/// blocks in memory order (rows are contiguous; a single sequential stream is what the hardware prefetcher
/// follows; eight interleaved row streams measured 30 % slower, with or without software prefetch, and software
/// prefetch on top of the one stream gained nothing: this kernel computes at about the DRAM rate), eight
/// blocks a group, whatever rows they belong to. A group's scales and mins are unpacked together (one 16-byte
/// header load a block, lane-wise bit arithmetic for four blocks a register), its eight integer sums reduced
/// together by a transpose-and-add tree, its min sums by one `madd` a pair of blocks, and its d·d_t products
/// computed in one register; only the two FMAs a block stay scalar, in each row's block order, so the bits do
/// not change.

/// Bytes `avx512PrepareQ4KActivation` writes for a row of `k` columns: the per-block groups, then d_t of every
/// block as a float array, repeated for 8 more entries (block j at index j and nb + j) so eight consecutive
/// blocks of a run that wraps into the next row load with one instruction.
public func avx512Q4KActBytes(k: Int) -> Int {
    let nb = k / 256
    return nb * avx512Q4KActBytesPerBlock + (nb + 8) * 4
}

/// Scales and mins of four blocks (headers `h0…h3`, the 16 bytes d, dmin, 12 packed 6-bit values) as
/// [8 scale bytes | 8 min bytes] per 128-bit lane, and the raw headers (lane 0 of each 128 bits: d | dmin).
@inline(__always)
private func unpack4(_ h0: UnsafeRawPointer, _ h1: UnsafeRawPointer, _ h2: UnsafeRawPointer,
                     _ h3: UnsafeRawPointer) -> (scalesMins: __m512i, headers: __m512i) {
    @inline(__always) func ld(_ p: UnsafeRawPointer) -> __m128i { _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self)) }
    var h = _mm512_castsi128_si512(ld(h0))
    h = _mm512_mask_broadcast_i32x4(h, 0x00F0, ld(h1))
    h = _mm512_mask_broadcast_i32x4(h, 0x0F00, ld(h2))
    h = _mm512_mask_broadcast_i32x4(h, 0xF000, ld(h3))
    // Per lane of four u32 [dd, u0, u1, u2] (ggml's utmp after the d/dmin word):
    // scales = u0 & k1 | ((u2 & k2) | ((u0 >> 6) & k3) << 4) << 32, mins = u1 & k1 | (((u2 >> 4) & k2) | ((u1 >> 6) & k3) << 4) << 32.
    let p1 = _mm512_permutexvar_epi32(_mm512_set_epi32(15, 14, 15, 13, 11, 10, 11, 9, 7, 6, 7, 5, 3, 2, 3, 1), h)  // u0 u2 u1 u2
    let p2 = _mm512_permutexvar_epi32(_mm512_set_epi32(14, 14, 13, 13, 10, 10, 9, 9, 6, 6, 5, 5, 2, 2, 1, 1), h)  // u0 u0 u1 u1
    let t = _mm512_srlv_epi32(p1, _mm512_set_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0))
    let lo = _mm512_and_si512(t, _mm512_set1_epi32(0x3f3f_3f3f))
    let hi = _mm512_or_si512(_mm512_and_si512(t, _mm512_set1_epi32(0x0f0f_0f0f)),
                             _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(p2, 6), _mm512_set1_epi32(0x0303_0303)), 4))
    return (_mm512_mask_blend_epi32(0xAAAA, lo, hi), h)
}

/// `vpermw` index: int16 i gets element s0 (i < 16) or s1 (i ≥ 16).
@inline(__always) private func pairIdx(_ s0: Int16, _ s1: Int16) -> __m512i {
    var v = SIMD32<Int16>(repeating: s0)
    for i in 16..<32 { v[i] = s1 }
    return unsafeBitCast(v, to: __m512i.self)
}

/// The scale-expansion indexes into a two-row int16 vector [row A: 8 scales, 8 mins | row B: 8 scales, 8 mins].
private struct Q4KGemvIndex {
    let a02, a13, a46, a57, b02, b13, b46, b57: __m512i
    @inline(__always) init() {
        a02 = pairIdx(0, 2); a13 = pairIdx(1, 3); a46 = pairIdx(4, 6); a57 = pairIdx(5, 7)
        b02 = pairIdx(16, 18); b13 = pairIdx(17, 19); b46 = pairIdx(20, 22); b57 = pairIdx(21, 23)
    }
}

/// Σ_s sc_s·dot_s of one row's block `x` (lane sums; the total is exact) against the prepared activation groups.
@inline(__always)
private func rowSums(_ x: UnsafeRawPointer, _ sm16: __m512i, _ i02: __m512i, _ i13: __m512i, _ i46: __m512i,
                     _ i57: __m512i, _ a0: __m512i, _ a1: __m512i, _ a2: __m512i, _ a3: __m512i) -> __m512i {
    let m4 = _mm512_set1_epi8(0x0F)
    let l0 = _mm512_loadu_si512(x + 16), l1 = _mm512_loadu_si512(x + 80)
    var s = _mm512_madd_epi16(_mm512_maddubs_epi16(_mm512_and_si512(l0, m4), a0), _mm512_permutexvar_epi16(i02, sm16))
    s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), a1),
                            _mm512_permutexvar_epi16(i13, sm16))
    s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(_mm512_and_si512(l1, m4), a2), _mm512_permutexvar_epi16(i46, sm16))
    s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4), a3),
                            _mm512_permutexvar_epi16(i57, sm16))
    return s
}

/// Two blocks' lane sums → per 128-bit lane [A(l0+l2), B(l0+l2), A(l1+l3), B(l1+l3)].
@inline(__always) private func pairReduce(_ a: __m512i, _ b: __m512i) -> __m512i {
    _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b))
}

/// Two `pairReduce` results (blocks A, B and C, D) → per 128-bit lane [A, B, C, D] partial sums.
@inline(__always) private func quadReduce(_ ab: __m512i, _ cd: __m512i) -> __m512i {
    _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd))
}

/// The integer sums of one block (`x`) against the token's prepared block `a`, for runs shorter than a group.
@inline(__always)
private func singleBlock(_ x: UnsafeRawPointer, _ a: UnsafeRawPointer) -> (Int32, Int32) {
    let (sm, _) = unpack4(x, x, x, x)
    let s16 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(sm))
    let ix = Q4KGemvIndex()
    let v = rowSums(x, s16, ix.a02, ix.a13, ix.a46, ix.a57, _mm512_loadu_si512(a), _mm512_loadu_si512(a + 64),
                    _mm512_loadu_si512(a + 128), _mm512_loadu_si512(a + 192))
    let m = _mm512_madd_epi16(s16, _mm512_loadu_si512(a + 320))
    // Row A's min lanes are 4–7 (lanes 12–15 hold the same row again: s16's second half repeats it).
    let mins = unsafeBitCast(m, to: SIMD16<Int32>.self)
    return (_mm512_reduce_add_epi32(v), mins[4] &+ mins[5] &+ mins[6] &+ mins[7])
}

/// One token (`actR`: prepared by `avx512PrepareQ4KActivation`) against Q4_K rows rowStart..<rowEnd; the same
/// bits as `ExactKernels.dotQ4_K(kernel: .gemv)`.
public func avx512ExactGemvQ4K8(w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                                actR: UnsafeRawPointer, y: UnsafeMutablePointer<Float>) {
    let nb = k / 256, ab = avx512Q4KActBytesPerBlock
    let daArr = (actR + nb * ab).assumingMemoryBound(to: Float.self)
    let ix = Q4KGemvIndex()
    // Lane gathers for the last reduction steps.
    let lowHalves = _mm512_set_epi32(23, 22, 21, 20, 19, 18, 17, 16, 7, 6, 5, 4, 3, 2, 1, 0)
    let highHalves = _mm512_set_epi32(31, 30, 29, 28, 27, 26, 25, 24, 15, 14, 13, 12, 11, 10, 9, 8)
    let chunk0 = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 11, 10, 9, 8, 3, 2, 1, 0)
    let chunk1 = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 15, 14, 13, 12, 7, 6, 5, 4)
    let upper = _mm512_set_epi64(3, 2, 1, 0, 7, 6, 5, 4)
    // [d | dmin] words of blocks 0…7 from the two header registers (lane 0 of each 128 bits).
    let ddIdx = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 28, 24, 20, 16, 12, 8, 4, 0)
    let evens = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 14, 12, 10, 8, 6, 4, 2, 0)
    let odds = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 15, 13, 11, 9, 7, 5, 3, 1)
    // Min sums: pair vectors have block A's four madd lanes in 4–7 and block B's in 12–15; move C/D's to 0–3, 8–11.
    let shiftDown = _mm512_set_epi32(11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4)
    let minOrder = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 13, 5, 8, 0, 12, 4)
    // The run: blocks rowStart·nb ..< rowEnd·nb, contiguous from `base` (a Q4_K row is its nb blocks:
    // rowBytes = nb · 144).
    let base = w + rowStart * rowBytes, total = (rowEnd - rowStart) * nb
    var row = rowStart, inRow = 0
    var acc: Float = 0, accm: Float = 0
    @inline(__always) func finish(_ isum: Float, _ dd: Float, _ imin: Float, _ dm: Float) {
        acc = acc.addingProduct(isum, dd)
        accm = accm.addingProduct(imin, dm)
        inRow += 1
        if inRow == nb {
            y[row] = acc - accm
            row += 1
            inRow = 0
            acc = 0
            accm = 0
        }
    }
    var g = 0
    while g + 8 <= total {
        let x = base + g * 144
        @inline(__always) func blk(_ i: Int) -> UnsafeRawPointer { x + i * 144 }
        // Block i of the group is block (inRow + i) mod nb of its row: its activation block.
        @inline(__always) func act(_ i: Int) -> UnsafeRawPointer {
            var j = inRow + i
            if j >= nb { j -= nb }
            if j >= nb { j %= nb }
            return actR + j * ab
        }
        let (smA, hA) = unpack4(blk(0), blk(1), blk(2), blk(3))
        let (smB, hB) = unpack4(blk(4), blk(5), blk(6), blk(7))
        // int16 [scales, mins] of blocks (0, 1), (2, 3), (4, 5), (6, 7).
        let s01 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(smA))
        let s23 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(upper, smA)))
        let s45 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(smB))
        let s67 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(_mm512_permutexvar_epi64(upper, smB)))
        @inline(__always) func sumsA(_ i: Int, _ sm: __m512i) -> __m512i {
            let a = act(i)
            return rowSums(blk(i), sm, ix.a02, ix.a13, ix.a46, ix.a57, _mm512_loadu_si512(a),
                           _mm512_loadu_si512(a + 64), _mm512_loadu_si512(a + 128), _mm512_loadu_si512(a + 192))
        }
        @inline(__always) func sumsB(_ i: Int, _ sm: __m512i) -> __m512i {
            let a = act(i)
            return rowSums(blk(i), sm, ix.b02, ix.b13, ix.b46, ix.b57, _mm512_loadu_si512(a),
                           _mm512_loadu_si512(a + 64), _mm512_loadu_si512(a + 128), _mm512_loadu_si512(a + 192))
        }
        @inline(__always) func bsums(_ i: Int) -> __m512i {  // [0, bsums of block i | 0, bsums of block i+1]
            _mm512_mask_blend_epi64(0xF0, _mm512_loadu_si512(act(i) + 320), _mm512_loadu_si512(act(i + 1) + 320))
        }
        let q0123 = quadReduce(pairReduce(sumsA(0, s01), sumsB(1, s01)), pairReduce(sumsA(2, s23), sumsB(3, s23)))
        let q4567 = quadReduce(pairReduce(sumsA(4, s45), sumsB(5, s45)), pairReduce(sumsA(6, s67), sumsB(7, s67)))
        // Sum the four 128-bit lanes: [0123 lanes 0+2 | 0123 lanes 1+3 | 4567 lanes 0+2 | 4567 lanes 1+3] …
        let w1 = _mm512_add_epi32(_mm512_permutex2var_epi32(q0123, lowHalves, q4567),
                                  _mm512_permutex2var_epi32(q0123, highHalves, q4567))
        // … then [blocks 0–3 | blocks 4–7] in the low 256 bits.
        let isum = _mm512_add_epi32(_mm512_permutexvar_epi32(chunk0, w1), _mm512_permutexvar_epi32(chunk1, w1))
        // Min sums: madd of [scales, mins] with [0, bsums] per block, four lanes a block.
        let m01 = _mm512_madd_epi16(s01, bsums(0)), m23 = _mm512_madd_epi16(s23, bsums(2))
        let m45 = _mm512_madd_epi16(s45, bsums(4)), m67 = _mm512_madd_epi16(s67, bsums(6))
        let xs = _mm512_add_epi32(m01, _mm512_permutexvar_epi32(shiftDown, m23))  // lanes: b2 b0 b3 b1
        let zs = _mm512_add_epi32(m45, _mm512_permutexvar_epi32(shiftDown, m67))  // b6 b4 b7 b5
        let z1 = pairReduce(xs, zs)
        let z2 = _mm512_add_epi32(z1, _mm512_unpackhi_epi64(z1, z1))
        let imin = _mm512_permutexvar_epi32(minOrder, z2)
        // d, dmin of the eight blocks times their d_t.
        let dd = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi32(hA, ddIdx, hB)))
        let da = _mm256_loadu_ps(daArr + inRow)
        let d = _mm256_mul_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(evens, dd)), da)
        let dmin = _mm256_mul_ps(_mm512_castps512_ps256(_mm512_permutexvar_ps(odds, dd)), da)
        let isF = unsafeBitCast(_mm256_cvtepi32_ps(_mm512_castsi512_si256(isum)), to: SIMD8<Float>.self)
        let imF = unsafeBitCast(_mm256_cvtepi32_ps(_mm512_castsi512_si256(imin)), to: SIMD8<Float>.self)
        let dv = unsafeBitCast(d, to: SIMD8<Float>.self), mv = unsafeBitCast(dmin, to: SIMD8<Float>.self)
        for i in 0..<8 { finish(isF[i], dv[i], imF[i], mv[i]) }
        g += 8
    }
    while g < total {
        let (isum, imin) = singleBlock(base + g * 144, actR + inRow * ab)
        let da = daArr[inRow]
        finish(Float(isum), Float(base.loadUnaligned(fromByteOffset: g * 144, as: Float16.self)) * da,
               Float(imin), Float(base.loadUnaligned(fromByteOffset: g * 144 + 2, as: Float16.self)) * da)
        g += 1
    }
}
