import HearthKernels
import HearthKernelsAVX2
import HearthKernelsAVX512
import HearthTensors
import XCTest

/// The AVX2 tiled prefill attention gives ggml's tiled flash-attention bits: against a one-lane transcription of
/// that arithmetic here (sequential-k dot products, ggml's AVX-512 polynomial exp with an exact 2^n scaling, each
/// 16 exps reduced by halves and added in double, V accumulated by sequential FMAs), and, where the CPU has
/// AVX-512, against the AVX-512 kernel itself. Causal masks over several 64-key tiles, a sliding window, short
/// tiles, GQA offsets and shuffled cache blocks.
final class AttentionTiledTests: XCTestCase {
    /// One lane of ggml's AVX-512 `ggml_v_expf`: FMAs as `addingProduct`, `vscalefps` exactly in Double.
    static func expLane(_ x: Float) -> Float {
        let r: Float = 0x1.8p23
        let n = r.addingProduct(x, 0x1.715476p+0) - r
        let b = x.addingProduct(-n, 0x1.62e4p-1).addingProduct(-n, 0x1.7f7d1cp-20)
        let u = b * b
        let j = Float(1).addingProduct(0x1.ffffecp-1, b).addingProduct(
            Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
                .addingProduct(Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b), u), u)
        if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
        return Float(Double(j) * Double(bitPattern: UInt64(1023 + Int(n)) << 52))
    }

    struct Case { var headDim: Int; var kvHeads: Int; var keys: Int; var queries: Int; var window: Int }

    func testAVX2MatchesTranscriptionAndAVX512() throws {
        try XCTSkipUnless(KernelISA.avx2.isSupported, "no AVX2 on this CPU")
        let cases = [Case(headDim: 64, kvHeads: 2, keys: 150, queries: 64, window: 0),
                     Case(headDim: 128, kvHeads: 1, keys: 200, queries: 37, window: 0),
                     Case(headDim: 64, kvHeads: 1, keys: 300, queries: 64, window: 100),
                     Case(headDim: 80, kvHeads: 2, keys: 64, queries: 64, window: 0)]
        var rng = SystemRandomNumberGenerator()
        for c in cases {
            let d = c.headDim, blockSize = 16, nBlocks = (c.keys + blockSize - 1) / blockSize
            let slotStride = c.kvHeads * d, tiles = (c.keys + 63) / 64
            // Scores large enough that some exps leave the normal range (the exact-scaling branch).
            let k = (0..<(nBlocks * blockSize * slotStride)).map { _ in floatToHalf(Float.random(in: -4...4, using: &rng)) }
            let v = (0..<(nBlocks * blockSize * slotStride)).map { _ in floatToHalf(Float.random(in: -2...2, using: &rng)) }
            let blocks = (0..<nBlocks).map { Int32($0) }.shuffled(using: &rng)
            let q = (0..<(c.queries * d)).map { _ in Float.random(in: -6...6, using: &rng) }
            // The last `queries` positions, as a prompt chunk ending at the newest key.
            let positions = (0..<c.queries).map { Int32(c.keys - c.queries + $0) }
            let rows = (0..<c.queries).map { Int32($0) }
            let scale = 1 / Float(d).squareRoot()
            for kvHead in 0..<c.kvHeads {
                var kt = [Float](repeating: .nan, count: tiles * 64 * d), vt = kt, kt5 = kt, vt5 = kt
                var out = [Float](repeating: .nan, count: c.queries * d), out5 = out
                var scratch = [Float](repeating: 0, count: 2 * 64 * d + 64 * 64 + 128)
                k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in blocks.withUnsafeBufferPointer { bb in
                    avx2ConvertKVTiles(k: kb.baseAddress!, v: vb.baseAddress!, slotStride: slotStride, blockSize: blockSize,
                                       blocks: bb.baseAddress!, kvOffset: kvHead * d, headDim: d, count: c.keys,
                                       tileStart: 0, tileEnd: tiles, kTiles: &kt, vTiles: &vt)
                    avx2AttendTileF32(q: q, qStride: d, out: &out, outStride: d, rows: rows, positions: positions,
                                      count: c.queries, kTiles: kt, vTiles: vt, headDim: d, scale: scale,
                                      window: c.window, scratch: &scratch)
                    if KernelISA.avx512.isSupported {
                        avx512ConvertKVTiles(k: kb.baseAddress!, v: vb.baseAddress!, slotStride: slotStride,
                                             blockSize: blockSize, blocks: bb.baseAddress!, kvOffset: kvHead * d,
                                             headDim: d, count: c.keys, tileStart: 0, tileEnd: tiles, kTiles: &kt5,
                                             vTiles: &vt5)
                        avx512AttendTileF32(q: q, qStride: d, out: &out5, outStride: d, rows: rows, positions: positions,
                                            count: c.queries, kTiles: kt5, vTiles: vt5, headDim: d, scale: scale,
                                            window: c.window, scratch: &scratch)
                    }
                } } }
                if KernelISA.avx512.isSupported {
                    XCTAssertEqual(out.map(\.bitPattern), out5.map(\.bitPattern), "AVX-512 vs AVX2, head \(d)")
                }
                // The transcription, query by query.
                func key(_ j: Int) -> Int { (Int(blocks[j / blockSize]) * blockSize + j % blockSize) * slotStride + kvHead * d }
                var want = [Float](repeating: 0, count: c.queries * d)
                for i in 0..<c.queries {
                    let p = Int(positions[i])
                    var m = -Float.infinity, s: Float = 0
                    var acc = [Float](repeating: 0, count: d)
                    var ic = 0
                    while ic <= Int(positions.max()!) {
                        var row = [Float](repeating: -.infinity, count: 64)
                        for tk in 0..<64 {
                            let j = ic + tk
                            guard j <= p, j < c.keys, c.window == 0 || p - j < c.window else { continue }
                            var dot: Float = 0
                            for e in 0..<d { dot = dot.addingProduct(halfToFloat(k[key(j) + e]), q[i * d + e]) }
                            row[tk] = dot * scale
                        }
                        let tileMax = row.max()!
                        if tileMax == -.infinity { ic += 64; continue }
                        let mNew = max(m, tileMax)
                        if mNew > m {
                            let ms = expf(m - mNew)
                            for e in 0..<d { acc[e] *= ms }
                            s *= ms
                        }
                        m = mNew
                        var sum: Double = 0
                        for g in 0..<4 {
                            var ex = (0..<16).map { AttentionTiledTests.expLane(row[16 * g + $0] - mNew) }
                            for l in 0..<16 { row[16 * g + l] = ex[l] }
                            for w in [8, 4, 2] { for l in 0..<w { ex[l] = ex[l] + ex[l + w] } }
                            sum += Double(ex[0] + ex[1])
                        }
                        s = Float(Double(s) + sum)
                        for e in 0..<d {
                            for tk in 0..<64 {
                                let j = ic + tk
                                let vv: Float = j < c.keys ? halfToFloat(v[key(j) + e]) : 0
                                acc[e] = acc[e].addingProduct(vv, row[tk])
                            }
                        }
                        ic += 64
                    }
                    let inv: Float = s == 0 ? 0 : 1 / s
                    for e in 0..<d { want[i * d + e] = acc[e] * inv }
                }
                XCTAssertEqual(out.map(\.bitPattern), want.map(\.bitPattern), "transcription vs AVX2, head \(d) kvHead \(kvHead)")
            }
        }
    }
}
