import _Builtin_intrinsics.intel
import HearthTensors

// Per-type decoders: one 64-element step of a weight row into the common form (see HearthKernels/ScalarPath.swift)
//     q: 64 unsigned bytes in element order, d: each 16-group's scale on its 4 int32 lanes,
//     m: the four per-group `m - o*d` terms.

@inline(__always) func f16x4(_ bits: UInt64) -> __m128 { _mm_cvtph_ps(_mm_cvtsi64_si128(Int64(bitPattern: bits))) }
@inline(__always) func ld32(_ p: UnsafeRawPointer) -> UInt32 { p.loadUnaligned(as: UInt32.self) }
@inline(__always) func ld16(_ p: UnsafeRawPointer) -> UInt16 { p.loadUnaligned(as: UInt16.self) }
@inline(__always) func ldx(_ p: UnsafeRawPointer) -> __m128i { _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self)) }
@inline(__always) func ldy(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self)) }
@inline(__always) func perm4(_ v: __m128, _ a: Int32, _ b: Int32, _ c: Int32, _ d: Int32) -> __m128 {
    _mm_permutevar_ps(v, _mm_set_epi32(d, c, b, a))
}
/// Lanes 0-7 get element `a` of v, lanes 8-15 element `b`.
@inline(__always) func expand2(_ v: __m128, _ a: Int32, _ b: Int32) -> __m512 {
    _mm512_permutexvar_ps(_mm512_set_epi32(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a), _mm512_castps128_ps512(v))
}
/// [lo, hi] of two 256-bit vectors.
@inline(__always) func join(_ lo: __m256i, _ hi: __m256i) -> __m512i {
    _mm512_permutex2var_epi64(_mm512_castsi256_si512(lo), _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0),
                              _mm512_castsi256_si512(hi))
}
/// Nibbles of two 16-byte blocks: [q0 & 15, q0 >> 4, q1 & 15, q1 >> 4].
@inline(__always) func nibbles2(_ q0: __m128i, _ q1: __m128i) -> __m512i {
    let y = _mm256_set_m128i(q1, q0)
    let z = _mm512_permutex2var_epi64(_mm512_castsi256_si512(y), _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0),
                                      _mm512_castsi256_si512(_mm256_srli_epi16(y, 4)))
    return _mm512_and_si512(z, _mm512_set1_epi8(15))
}
/// Nibbles of 32 bytes: [q & 15, q >> 4].
@inline(__always) func nibbles32(_ q: __m256i) -> __m512i {
    _mm512_and_si512(join(q, _mm256_srli_epi16(q, 4)), _mm512_set1_epi8(15))
}

protocol StepDecoder {
    /// Elements per block and bytes per block.
    static var blockElements: Int { get }
    static var blockBytes: Int { get }
    static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128)
}

enum DecQ4_0: StepDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 18 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let b0 = row + 2 * s * 18, b1 = b0 + 18
        let f = f16x4(UInt64(ld16(b0)) | UInt64(ld16(b1)) << 16)
        return (nibbles2(ldx(b0 + 2), ldx(b1 + 2)), expand2(f, 0, 1),
                _mm_mul_ps(perm4(f, 0, 0, 1, 1), _mm_set1_ps(-8)))
    }
}

enum DecQ4_1: StepDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 20 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let b0 = row + 2 * s * 20, b1 = b0 + 20
        let f = f16x4(UInt64(ld32(b0)) | UInt64(ld32(b1)) << 32)  // d0 m0 d1 m1
        return (nibbles2(ldx(b0 + 4), ldx(b1 + 4)), expand2(f, 0, 2), perm4(f, 1, 1, 3, 3))
    }
}

enum DecQ5_0: StepDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 22 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let b0 = row + 2 * s * 22, b1 = b0 + 22
        let f = f16x4(UInt64(ld16(b0)) | UInt64(ld16(b1)) << 16)
        let high = UInt64(ld32(b0 + 2)) | UInt64(ld32(b1 + 2)) << 32
        let lo = nibbles2(ldx(b0 + 6), ldx(b1 + 6))
        let q = _mm512_mask_add_epi8(lo, high, lo, _mm512_set1_epi8(16))
        return (q, expand2(f, 0, 1), _mm_mul_ps(perm4(f, 0, 0, 1, 1), _mm_set1_ps(-16)))
    }
}

enum DecQ5_1: StepDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 24 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let b0 = row + 2 * s * 24, b1 = b0 + 24
        let f = f16x4(UInt64(ld32(b0)) | UInt64(ld32(b1)) << 32)
        let high = UInt64(ld32(b0 + 4)) | UInt64(ld32(b1 + 4)) << 32
        let lo = nibbles2(ldx(b0 + 8), ldx(b1 + 8))
        let q = _mm512_mask_add_epi8(lo, high, lo, _mm512_set1_epi8(16))
        return (q, expand2(f, 0, 2), perm4(f, 1, 1, 3, 3))
    }
}

enum DecQ8_0: StepDecoder {
    static var blockElements: Int { 32 }
    static var blockBytes: Int { 34 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let b0 = row + 2 * s * 34, b1 = b0 + 34
        let f = f16x4(UInt64(ld16(b0)) | UInt64(ld16(b1)) << 16)
        let q = _mm512_xor_si512(join(ldy(b0 + 2), ldy(b1 + 2)), _mm512_set1_epi8(-128))
        return (q, expand2(f, 0, 1), _mm_mul_ps(perm4(f, 0, 0, 1, 1), _mm_set1_ps(-128)))
    }
}

@inline(__always) func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
    let b = q.assumingMemoryBound(to: UInt8.self)
    if j < 4 { return (Float(b[j] & 63), Float(b[j + 4] & 63)) }
    return (Float((b[j + 4] & 0xF) | ((b[j - 4] >> 6) << 4)), Float((b[j + 4] >> 4) | ((b[j] >> 6) << 4)))
}

enum DecQ4_K: StepDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 144 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let blk = row + (s >> 2) * 144, j = s & 3
        let f = f16x4(UInt64(ld32(blk)))  // d dmin
        let (sc1, m1) = scaleMinK4(2 * j, blk + 4), (sc2, m2) = scaleMinK4(2 * j + 1, blk + 4)
        let dv = _mm_mul_ps(perm4(f, 0, 0, 1, 1), _mm_set_ps(-m2, -m1, sc2, sc1))  // d*sc1 d*sc2 -dmin*m1 -dmin*m2
        return (nibbles32(ldy(blk + 16 + 32 * j)), expand2(dv, 0, 1), perm4(dv, 2, 2, 3, 3))
    }
}

enum DecQ5_K: StepDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 176 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let blk = row + (s >> 2) * 176, j = s & 3
        let f = f16x4(UInt64(ld32(blk)))
        let (sc1, m1) = scaleMinK4(2 * j, blk + 4), (sc2, m2) = scaleMinK4(2 * j + 1, blk + 4)
        let dv = _mm_mul_ps(perm4(f, 0, 0, 1, 1), _mm_set_ps(-m2, -m1, sc2, sc1))
        let qh = ldy(blk + 16)
        let h0 = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(Int8(truncatingIfNeeded: 1 << (2 * j))))
        let h1 = _mm256_test_epi8_mask(qh, _mm256_set1_epi8(Int8(truncatingIfNeeded: 2 << (2 * j))))
        let lo = nibbles32(ldy(blk + 48 + 32 * j))
        let q = _mm512_mask_add_epi8(lo, UInt64(h0) | UInt64(h1) << 32, lo, _mm512_set1_epi8(16))
        return (q, expand2(dv, 0, 1), perm4(dv, 2, 2, 3, 3))
    }
}

enum DecQ6_K: StepDecoder {
    static var blockElements: Int { 256 }
    static var blockBytes: Int { 210 }
    @inline(__always) static func step(_ row: UnsafeRawPointer, _ s: Int) -> (q: __m512i, d: __m512, m: __m128) {
        let blk = row + (s >> 2) * 210, half = (s >> 1) & 1, sub = s & 1
        let ql = _mm512_loadu_si512(blk + 64 * half)
        let lo = _mm512_and_si512(_mm512_srli_epi16(ql, UInt32(4 * sub)), _mm512_set1_epi8(15))
        let h = _mm256_srli_epi16(ldy(blk + 128 + 32 * half), Int32(4 * sub))
        let hz = _mm512_and_si512(join(h, _mm256_srli_epi16(h, 2)), _mm512_set1_epi8(3))
        let q = _mm512_or_si512(lo, _mm512_slli_epi16(hz, 4))
        let sc = _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(
            Int32(bitPattern: ld32(blk + 192 + 8 * half + 4 * sub)))))
        let dv = _mm_mul_ps(sc, _mm_set1_ps(Float(bitPattern: 0) + halfBits(ld16(blk + 208))))
        return (q, expand4(dv), _mm_mul_ps(dv, _mm_set1_ps(-32)))
    }
}

@inline(__always) func halfBits(_ h: UInt16) -> Float { _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(Int32(h)))) }

/// True for the weight types this module decodes itself (the others are decoded by the portable decoder into a
/// panel and multiplied by `avx512PanelMatmul`).
public func avx512HasUnpacker(_ type: GGMLType) -> Bool {
    switch type {
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return true
    default: return false
    }
}

/// Rows `rowStart..<rowEnd` of a quantized weight matrix times all quantized activation rows
/// (`y[t * yStride + r]`). Fewer than 4 tokens: decode each weight step once and dot it with every token
/// (GEMV). Otherwise: decode 4 rows into `panel` and run the 4×4 register tile over the tokens.
public func avx512QuantMatmul(type: GGMLType, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                              qs: UnsafeMutablePointer<Int8>, dg: UnsafeMutablePointer<Float>,
                              sg: UnsafeMutablePointer<Float>, kPad: Int, nTokens: Int,
                              y: UnsafeMutablePointer<Float>, yStride: Int, panel: UnsafeMutableRawPointer) {
    let a = Acts(qs: qs, dg: dg, sg: sg, kPad: kPad)
    switch type {
    case .q4_0: rowsOf(DecQ4_0.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q4_1: rowsOf(DecQ4_1.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q5_0: rowsOf(DecQ5_0.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q5_1: rowsOf(DecQ5_1.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q8_0: rowsOf(DecQ8_0.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q4_K: rowsOf(DecQ4_K.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q5_K: rowsOf(DecQ5_K.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    case .q6_K: rowsOf(DecQ6_K.self, w, rowBytes, k, rowStart, rowEnd, a, nTokens, y, yStride, panel)
    // Callers check avx512HasUnpacker(type) first; anything else is a programmer error.
    default: fatalError("avx512QuantMatmul: no decoder for \(type)")
    }
}

struct Acts {
    let qs: UnsafeMutablePointer<Int8>, dg: UnsafeMutablePointer<Float>, sg: UnsafeMutablePointer<Float>
    let kPad: Int
}

/// Decodes step `s` of a row, reading the last (odd) legacy block from a zero-padded copy so that no byte past
/// the row is touched.
@inline(__always)
func decode<D: StepDecoder>(_: D.Type, _ row: UnsafeRawPointer, _ s: Int, _ lastFull: Int, _ tail: UnsafeRawPointer)
    -> (q: __m512i, d: __m512, m: __m128) {
    s < lastFull ? D.step(row, s) : D.step(tail, 0)
}

@inline(never)
func rowsOf<D: StepDecoder>(_ dec: D.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ k: Int, _ r0: Int, _ r1: Int,
                            _ a: Acts, _ nTokens: Int, _ y: UnsafeMutablePointer<Float>, _ yStride: Int,
                            _ panel: UnsafeMutableRawPointer) {
    let steps = a.kPad / 64
    // A legacy row with an odd block count ends in half a step: that step is decoded from `tail`.
    let oddTail = D.blockElements == 32 && (k / 32) % 2 == 1
    let lastFull = oddTail ? steps - 1 : steps
    // The panel's last 256 bytes (past 9*kPad) hold the zero-padded copy of an odd tail block.
    let tailBuf = panel + 9 * a.kPad
    if oddTail { tailBuf.initializeMemory(as: UInt8.self, repeating: 0, count: 128) }
    // Few tokens: one pass per weight row without a panel (the row's min terms go to the panel's m slot 0,
    // which `gemvRow` reads back in the panel tile's order).
    if nTokens < 4 {
        for r in r0..<r1 {
            let row = w + r * rowBytes
            do {
                if oddTail { tailBuf.copyMemory(from: row + (k / 32 - 1) * D.blockBytes, byteCount: D.blockBytes) }
                let tail = UnsafeRawPointer(tailBuf), mbuf = panelM(panel, a.kPad, 0)
                switch nTokens {
                case 1: gemvRow(dec, row, steps, lastFull, tail, a, 0, 1, y + r, yStride, mbuf)
                case 2: gemvRow(dec, row, steps, lastFull, tail, a, 0, 2, y + r, yStride, mbuf)
                default: gemvRow(dec, row, steps, lastFull, tail, a, 0, 3, y + r, yStride, mbuf)
                }
            }
        }
        return
    }
    var r = r0
    while r < r1 {
        let rn = min(4, r1 - r)
        for i in 0..<rn {
            let row = w + (r + i) * rowBytes
            let q = panelQ(panel, a.kPad, i), dl = panelD(panel, a.kPad, i), mg = panelM(panel, a.kPad, i)
            do {
                if oddTail { tailBuf.copyMemory(from: row + (k / 32 - 1) * D.blockBytes, byteCount: D.blockBytes) }
                let tail = UnsafeRawPointer(tailBuf)
                for s in 0..<steps {
                    let (qv, dv, mv) = decode(dec, row, s, lastFull, tail)
                    _mm512_storeu_si512(q + 64 * s, qv)
                    _mm512_storeu_ps(dl + 16 * s, dv)
                    _mm_storeu_ps(mg + 4 * s, mv)
                }
            }
        }
        avx512PanelMatmul(panel: panel, rows: rn, kPad: a.kPad, qs: a.qs, dg: a.dg, sg: a.sg, nTokens: nTokens,
                          y: y + r, yStride: yStride)
        r += rn
    }
}

/// One weight row against `nt` (1...3) tokens, decoding each step once. The arithmetic is the panel tile's
/// (`panelTile`) for that row and token, in the same order: scaled integer dots per lane over the steps, then the
/// min terms lane-wise per 16 groups, then `reduce4`'s tree. So a token's output has the same bits whether its
/// batch takes this path or the panel (batch invariance). `mbuf` holds kPad/16 floats of scratch.
@inline(__always)
func gemvRow<D: StepDecoder>(_ dec: D.Type, _ row: UnsafeRawPointer, _ steps: Int, _ lastFull: Int,
                             _ tail: UnsafeRawPointer, _ a: Acts, _ t0: Int, _ nt: Int,
                             _ y: UnsafeMutablePointer<Float>, _ yStride: Int, _ mbuf: UnsafeMutablePointer<Float>) {
    let groups = a.kPad / 16
    var acc = InlineArray<3, __m512>(repeating: _mm512_setzero_ps())
    let zero = _mm512_setzero_si512()
    for s in 0..<steps {
        let (q, d, m) = decode(dec, row, s, lastFull, tail)
        _mm_storeu_ps(mbuf + 4 * s, m)
        for j in 0..<nt {
            let t = t0 + j
            let av = _mm512_loadu_si512(UnsafeRawPointer(a.qs + t * a.kPad + 64 * s))
            let sa = expand4(_mm_loadu_ps(a.dg + t * groups + 4 * s))
            let p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, q, av))
            acc[j] = _mm512_fmadd_ps(p, _mm512_mul_ps(d, sa), acc[j])
        }
    }
    var g = 0
    while g < groups {
        let mask: UInt16 = groups - g >= 16 ? 0xFFFF : UInt16((1 << (groups - g)) - 1)
        let mv = _mm512_maskz_loadu_ps(mask, mbuf + g)
        for j in 0..<nt {
            acc[j] = _mm512_fmadd_ps(mv, _mm512_maskz_loadu_ps(mask, a.sg + (t0 + j) * groups + g), acc[j])
        }
        g += 16
    }
    for j in 0..<nt {
        y[(t0 + j) * yStride] = _mm_cvtss_f32(reduce4(acc[j], acc[j], acc[j], acc[j]))
    }
}
