import HearthKernels
import HearthTensors
import XCTest

/// The Q4_1/Q8_0/Q5_0/Q6_K matmul reproduces ggml's x86 arithmetic bit for bit on every kernel path: the AVX-512 version
/// must give exactly the bits of the portable `ExactKernels.dot` (Q6_K from 8 tokens: `dotKQuantTiled`), for decode (1 token), odd and paired tokens,
/// odd row counts and both thread counts.
final class ExactMatmulTests: XCTestCase {
    func testEveryPathGivesTheSameBits() throws {
        var rng = SystemRandomNumberGenerator()
        for type in [GGMLType.q4_1, .q8_0, .q5_0, .q6_K] {
            let k = type == .q6_K ? 1536 : 576, rows = 37
            let rowBytes = k / type.blockSize * type.blockBytes
            var raw = [UInt8](repeating: 0, count: rows * rowBytes)
            var src = [Float](repeating: 0, count: k)
            if type == .q6_K {
                // No Q6_K quantizer: random blocks (every bit pattern of quants and scales) with sane fp16 scales.
                raw = randomQ6KBlocks(rows * k / 256, using: &rng)
            }
            for r in 0..<rows where type != .q6_K {
                // Real quantized rows (finite scales), with an outlier now and then, as activations have.
                for i in 0..<k { src[i] = Float.random(in: -1...1, using: &rng) * (i % 97 == 0 ? 20 : 1) }
                raw.withUnsafeMutableBytes { dst in
                    src.withUnsafeBufferPointer {
                        _ = QuantKernels.quantizeRow(type, $0.baseAddress!, dst.baseAddress! + r * rowBytes, k)
                    }
                }
            }
            for tokens in [1, 2, 3, 5, 8, 9, 17, 22] {
                let x = (0..<(tokens * k)).map { i in Float.random(in: -2...2, using: &rng) * (i % 61 == 0 ? 30 : 1) }
                let aType = try XCTUnwrap(ExactKernels.activationType(for: type))
                let aRow = k / aType.blockSize * aType.blockBytes
                var acts = [UInt8](repeating: 0, count: tokens * aRow)
                acts.withUnsafeMutableBytes { a in
                    x.withUnsafeBufferPointer { xs in
                        for t in 0..<tokens { ExactKernels.quantizeRow(aType, xs.baseAddress! + t * k, a.baseAddress! + t * aRow, k) }
                    }
                }
                var expected = [Float](repeating: 0, count: tokens * rows)
                raw.withUnsafeBytes { w in
                    acts.withUnsafeBytes { a in
                        for t in 0..<tokens {
                            for r in 0..<rows {
                                let wr = w.baseAddress! + r * rowBytes, at = a.baseAddress! + t * aRow
                                // From 8 tokens on, ggml's tiled K-quant matmul takes Q6_K (ExactQ4K.swift).
                                expected[t * rows + r] = type == .q6_K && ExactKernels.usesTiledKQuant(nTokens: tokens)
                                    ? ExactKernels.dotKQuantTiled(type, k, wr, at) : ExactKernels.dot(type, k, wr, at)
                            }
                        }
                    }
                }
                for isa in KernelISA.supported {
                    for threads in [1, 2] {
                        let pool = ThreadPool(threads: threads)
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        raw.withUnsafeBytes { w in
                            let view = TensorView(name: "w", type: type, shape: [k, rows], data: w.baseAddress!,
                                                  byteCount: w.count)
                            x.withUnsafeBufferPointer { xs in
                                y.withUnsafeMutableBufferPointer { ys in
                                    matmul(view, xs.baseAddress!, nTokens: tokens, ys.baseAddress!, pool: pool, isa: isa)
                                }
                            }
                        }
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "\(type) \(isa) tokens \(tokens) threads \(threads)")
                    }
                }
            }
        }
    }

    /// `ExactKernels.dot` for Q6_K equals a literal transcription of ggml's AVX2 `ggml_vec_dot_q6_K_q8_K`
    /// (byte masks and shifts, saturating maddubs, scale shuffles, madd, q8sclsub, FMA, hsum_float_8), on random
    /// weight blocks against both quantized activations and raw random Q8_K blocks (any byte, any bsums).
    func testQ6KDotMatchesGGMLTranscription() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<40 {
            let nb = 1 + trial % 6, k = 256 * nb
            let w = randomQ6KBlocks(nb, using: &rng)
            var a = [UInt8](repeating: 0, count: nb * 292)
            if trial % 2 == 0 {
                let x = (0..<k).map { i in Float.random(in: -3...3, using: &rng) * (i % 53 == 0 ? 25 : 1) }
                a.withUnsafeMutableBytes { ab in
                    x.withUnsafeBufferPointer { ExactKernels.quantizeRow(.q8_K, $0.baseAddress!, ab.baseAddress!, k) }
                }
            } else {
                for i in a.indices { a[i] = UInt8.random(in: 0...255, using: &rng) }
                for b in 0..<nb {
                    let d = Float.random(in: 0.001...0.05, using: &rng)
                    withUnsafeBytes(of: d.bitPattern.littleEndian) { for j in 0..<4 { a[b * 292 + j] = $0[j] } }
                }
            }
            let got = w.withUnsafeBytes { wb in a.withUnsafeBytes { ExactKernels.dot(.q6_K, k, wb.baseAddress!, $0.baseAddress!) } }
            let want = ggmlAVX2Q6K(nb, w, a)
            XCTAssertEqual(got.bitPattern, want.bitPattern, "trial \(trial): \(got) vs \(want)")
        }
    }
}

/// `count` Q6_K blocks of random bytes with an fp16 d in ±[1e-3, 2e-2].
private func randomQ6KBlocks(_ count: Int, using rng: inout SystemRandomNumberGenerator) -> [UInt8] {
    var raw = [UInt8](repeating: 0, count: count * 210)
    for i in raw.indices { raw[i] = UInt8.random(in: 0...255, using: &rng) }
    for b in 0..<count {
        let d = Float16(Float.random(in: 0.001...0.02, using: &rng) * (Bool.random(using: &rng) ? 1 : -1))
        raw[b * 210 + 208] = UInt8(d.bitPattern & 0xFF)
        raw[b * 210 + 209] = UInt8(d.bitPattern >> 8)
    }
    return raw
}

/// ggml's AVX2 branch of `ggml_vec_dot_q6_K_q8_K`, instruction by instruction on byte arrays.
private func ggmlAVX2Q6K(_ nb: Int, _ x: [UInt8], _ y: [UInt8]) -> Float {
    func i8(_ v: UInt8) -> Int32 { Int32(Int8(bitPattern: v)) }
    func sat16(_ v: Int32) -> Int32 { max(-32768, min(32767, v)) }
    // _mm256_maddubs_epi16(u, s) then _mm256_madd_epi16(cvtepi8_epi16(scale shuffle), ·): 8 int32.
    func maddubsMadd(_ u: [UInt8], _ s: [UInt8], _ scale16: [Int32]) -> [Int32] {
        var p16 = [Int32](repeating: 0, count: 16)
        for h in 0..<16 {
            let lo: Int32 = Int32(u[2 * h]) * i8(s[2 * h])
            let hi: Int32 = Int32(u[2 * h + 1]) * i8(s[2 * h + 1])
            p16[h] = sat16(lo + hi)
        }
        var out = [Int32](repeating: 0, count: 8)
        for l in 0..<8 {
            let e: Int32 = scale16[2 * l] &* p16[2 * l]
            let o: Int32 = scale16[2 * l + 1] &* p16[2 * l + 1]
            out[l] = e &+ o
        }
        return out
    }
    var acc = [Float](repeating: 0, count: 8)
    for i in 0..<nb {
        let xb = Array(x[(i * 210)..<(i * 210 + 210)]), yb = Array(y[(i * 292)..<(i * 292 + 292)])
        var ydBits: UInt32 = 0
        for j in 0..<4 { ydBits |= UInt32(yb[j]) << UInt32(8 * j) }
        let xdBits: UInt16 = UInt16(xb[208]) | UInt16(xb[209]) << 8
        let d = Float(bitPattern: ydBits) * Float(Float16(bitPattern: xdBits))
        let scales = Array(xb[192..<208])
        var bsums = [Int32](repeating: 0, count: 16)
        for j in 0..<16 {
            let bits: UInt16 = UInt16(yb[260 + 2 * j]) | UInt16(yb[261 + 2 * j]) << 8
            bsums[j] = Int32(Int16(bitPattern: bits))
        }
        let scales16 = scales.map(i8)
        var q8sclsub = [Int32](repeating: 0, count: 8)
        for l in 0..<8 {
            let e: Int32 = bsums[2 * l] &* scales16[2 * l]
            let o: Int32 = bsums[2 * l + 1] &* scales16[2 * l + 1]
            q8sclsub[l] = (e &+ o) << 5
        }
        var sumi = [Int32](repeating: 0, count: 8)
        var q4 = 0, qh = 128, q8 = 4, isx = 0
        for _ in 0..<2 {
            let bits1 = Array(xb[q4..<(q4 + 32)]), bits2 = Array(xb[(q4 + 32)..<(q4 + 64)]); q4 += 64
            let hb = Array(xb[qh..<(qh + 32)]); qh += 32
            let q40: [UInt8] = (0..<32).map { (bits1[$0] & 15) | ((hb[$0] & 3) << 4) }
            let q41: [UInt8] = (0..<32).map { (bits2[$0] & 15) | ((hb[$0] & 12) << 2) }
            let q42: [UInt8] = (0..<32).map { ((bits1[$0] >> 4) & 15) | (hb[$0] & 48) }
            let q43: [UInt8] = (0..<32).map { ((bits2[$0] >> 4) & 15) | ((hb[$0] & 0xC0) >> 2) }
            var p = [[Int32]]()
            for (m, q) in [q40, q41, q42, q43].enumerated() {
                let s = Array(yb[q8..<(q8 + 32)]); q8 += 32
                // get_scale_shuffle(is + m): 8 × byte 2(is+m), 8 × byte 2(is+m)+1, sign-extended to int16.
                let sc16: [Int32] = (0..<16).map { e in i8(scales[2 * (isx + m) + e / 8]) }
                p.append(maddubsMadd(q, s, sc16))
            }
            isx += 4
            for l in 0..<8 {
                sumi[l] = sumi[l] &+ (p[0][l] &+ p[1][l])
                sumi[l] = sumi[l] &+ (p[2][l] &+ p[3][l])
            }
        }
        for l in 0..<8 { acc[l] = acc[l].addingProduct(d, Float(sumi[l] &- q8sclsub[l])) }
    }
    return ((acc[4] + acc[0]) + (acc[6] + acc[2])) + ((acc[5] + acc[1]) + (acc[7] + acc[3]))
}
