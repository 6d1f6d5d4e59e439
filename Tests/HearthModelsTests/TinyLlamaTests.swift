import Foundation
import HearthEngine
import HearthFormats
import HearthKernels
import HearthModels
import HearthTensors
import XCTest

/// Forward-pass tests on tiny random llama models written with our GGUF writer: the batched, paged
/// implementation must equal a naive one written independently here, and batching must not change results.
final class TinyLlamaTests: XCTestCase {
    struct Dims {
        var embd = 64, heads = 4, kvHeads = 2, ff = 96, layers = 2, vocab = 50
        var headDim: Int { embd / heads }
    }

    struct Weights {
        var tensors: [String: [Float]] = [:]
    }

    /// Deterministic pseudo-random floats in [-scale, scale].
    static func randomFloats(_ n: Int, seed: inout UInt64, scale: Float) -> [Float] {
        (0..<n).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return (Float(seed >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func makeModel(_ d: Dims, tied: Bool) throws -> (GGUFFile, Weights) {
        var seed: UInt64 = 42
        var w = Weights()
        var writer = GGUFWriter()
        try writer.addMetadata("general.architecture", .string("llama"))
        try writer.addMetadata("llama.block_count", .uint32(UInt32(d.layers)))
        try writer.addMetadata("llama.embedding_length", .uint32(UInt32(d.embd)))
        try writer.addMetadata("llama.feed_forward_length", .uint32(UInt32(d.ff)))
        try writer.addMetadata("llama.attention.head_count", .uint32(UInt32(d.heads)))
        try writer.addMetadata("llama.attention.head_count_kv", .uint32(UInt32(d.kvHeads)))
        try writer.addMetadata("llama.rope.freq_base", .float32(10000))
        try writer.addMetadata("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        try writer.addMetadata("llama.context_length", .uint32(256))
        func add(_ name: String, _ shape: [Int], scale: Float, offset: Float = 0) throws {
            let values = randomFloats(shape.reduce(1, *), seed: &seed, scale: scale).map { $0 + offset }
            w.tensors[name] = values
            let bytes = values.withUnsafeBytes { Array($0) }
            try writer.addTensor(name: name, type: .f32, shape: shape, bytes: bytes)
        }
        let kv = d.kvHeads * d.headDim
        try add("token_embd.weight", [d.embd, d.vocab], scale: 1)
        for l in 0..<d.layers {
            let p = "blk.\(l)."
            try add(p + "attn_norm.weight", [d.embd], scale: 0.2, offset: 1)
            try add(p + "attn_q.weight", [d.embd, d.embd], scale: 0.3)
            try add(p + "attn_k.weight", [d.embd, kv], scale: 0.3)
            try add(p + "attn_v.weight", [d.embd, kv], scale: 0.3)
            try add(p + "attn_output.weight", [d.embd, d.embd], scale: 0.2)
            try add(p + "ffn_norm.weight", [d.embd], scale: 0.2, offset: 1)
            try add(p + "ffn_gate.weight", [d.embd, d.ff], scale: 0.2)
            try add(p + "ffn_up.weight", [d.embd, d.ff], scale: 0.2)
            try add(p + "ffn_down.weight", [d.ff, d.embd], scale: 0.2)
        }
        try add("output_norm.weight", [d.embd], scale: 0.2, offset: 1)
        if !tied { try add("output.weight", [d.embd, d.vocab], scale: 0.3) }
        return (try GGUFFile(bytes: writer.serialize(), name: "tiny-llama"), w)
    }

    /// A plain, slow llama forward pass over one sequence, all positions' logits.
    static func naiveForward(_ d: Dims, _ w: Weights, _ tokens: [Int], tied: Bool) -> [[Float]] {
        func t(_ n: String) -> [Float] { w.tensors[n] ?? [] }
        func matvec(_ m: [Float], rows: Int, cols: Int, _ x: [Float]) -> [Float] {
            (0..<rows).map { r in (0..<cols).reduce(Float(0)) { $0 + m[r * cols + $1] * x[$1] } }
        }
        func norm(_ x: [Float], _ g: [Float]) -> [Float] {
            let ms = x.reduce(0) { $0 + $1 * $1 } / Float(x.count)
            let s = 1 / (ms + 1e-5).squareRoot()
            return zip(x, g).map { $0 * s * $1 }
        }
        func rope(_ v: inout [Float], heads: Int, pos: Int) {
            for h in 0..<heads {
                for i in 0..<(d.headDim / 2) {
                    let theta = Float(pos) * powf(10000, -2 * Float(i) / Float(d.headDim))
                    let a = v[h * d.headDim + 2 * i], b = v[h * d.headDim + 2 * i + 1]
                    v[h * d.headDim + 2 * i] = a * cosf(theta) - b * sinf(theta)
                    v[h * d.headDim + 2 * i + 1] = a * sinf(theta) + b * cosf(theta)
                }
            }
        }
        let kvDim = d.kvHeads * d.headDim
        var keys = Array(repeating: [[Float]](), count: d.layers)
        var values = keys
        var out: [[Float]] = []
        for (pos, tok) in tokens.enumerated() {
            var x = Array(t("token_embd.weight")[(tok * d.embd)..<((tok + 1) * d.embd)])
            for l in 0..<d.layers {
                let p = "blk.\(l)."
                let xn = norm(x, t(p + "attn_norm.weight"))
                var q = matvec(t(p + "attn_q.weight"), rows: d.embd, cols: d.embd, xn)
                var k = matvec(t(p + "attn_k.weight"), rows: kvDim, cols: d.embd, xn)
                let v = matvec(t(p + "attn_v.weight"), rows: kvDim, cols: d.embd, xn)
                rope(&q, heads: d.heads, pos: pos)
                rope(&k, heads: d.kvHeads, pos: pos)
                keys[l].append(k)
                values[l].append(v)
                var att = [Float](repeating: 0, count: d.embd)
                for h in 0..<d.heads {
                    let g = h / (d.heads / d.kvHeads)
                    var s = (0...pos).map { j in
                        (0..<d.headDim).reduce(Float(0)) { $0 + q[h * d.headDim + $1] * keys[l][j][g * d.headDim + $1] }
                            / Float(d.headDim).squareRoot()
                    }
                    let m = s.max() ?? 0
                    s = s.map { expf($0 - m) }
                    let z = s.reduce(0, +)
                    for j in 0...pos {
                        for i in 0..<d.headDim { att[h * d.headDim + i] += s[j] / z * values[l][j][g * d.headDim + i] }
                    }
                }
                let o = matvec(t(p + "attn_output.weight"), rows: d.embd, cols: d.embd, att)
                x = zip(x, o).map(+)
                let xn2 = norm(x, t(p + "ffn_norm.weight"))
                let gate = matvec(t(p + "ffn_gate.weight"), rows: d.ff, cols: d.embd, xn2)
                let up = matvec(t(p + "ffn_up.weight"), rows: d.ff, cols: d.embd, xn2)
                let hdn = zip(gate, up).map { $0 / (1 + expf(-$0)) * $1 }
                let down = matvec(t(p + "ffn_down.weight"), rows: d.embd, cols: d.ff, hdn)
                x = zip(x, down).map(+)
            }
            let xn = norm(x, t("output_norm.weight"))
            out.append(matvec(t(tied ? "token_embd.weight" : "output.weight"), rows: d.vocab, cols: d.embd, xn))
        }
        return out
    }

    func assertClose(_ a: ArraySlice<Float>, _ b: [Float], _ tol: Float, _ msg: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, msg, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, tol, msg, file: file, line: line)
    }

    func testForwardMatchesNaiveImplementation() throws {
        let d = Dims()
        for tied in [false, true] {
            let (file, w) = try Self.makeModel(d, tied: tied)
            let model = try ModelRegistry.load(file, pool: ThreadPool(threads: 2))
            let tokens: [Int32] = [3, 17, 42, 8, 8, 0, 49, 21, 5]
            let cache = model.makeCache(capacity: 64)
            let logits = try model.forward(Batch.prompt(tokens, allLogits: true), cache: cache)
            let expected = Self.naiveForward(d, w, tokens.map(Int.init), tied: tied)
            XCTAssertEqual(logits.rowCount, tokens.count)
            // The cache holds K/V as halves and accumulates V in half precision (as llama.cpp): ~1e-2 of drift on
            // logits of magnitude ~5; a wrong RoPE pairing, head mapping or mask is off by whole units.
            for i in 0..<tokens.count { assertClose(logits.row(i), expected[i], 3e-2, "tied=\(tied) position \(i)") }
        }
    }

    func testIncrementalDecodeEqualsPrefill() throws {
        let (file, _) = try Self.makeModel(Dims(), tied: true)
        let model = try ModelRegistry.load(file, pool: ThreadPool(threads: 2))
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                               25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37]  // crosses a KV block boundary
        let full = try model.forward(Batch.prompt(tokens), cache: model.makeCache(capacity: 64))
        let cache = model.makeCache(capacity: 64)
        _ = try model.forward(Batch.prompt(Array(tokens.prefix(30))), cache: cache)
        var last: Logits?
        for i in 30..<tokens.count { last = try model.forward(Batch.prompt([tokens[i]], start: i), cache: cache) }
        let step = try XCTUnwrap(last)
        assertClose(step.row(0), Array(full.row(0)), 1e-3, "decode vs prefill")
    }

    func testSequencesInOneBatchEqualSeparateRuns() throws {
        let (file, _) = try Self.makeModel(Dims(), tied: false)
        let model = try ModelRegistry.load(file, pool: ThreadPool(threads: 2))
        let a: [Int32] = [5, 9, 13, 2], b: [Int32] = [44, 1, 7]
        let alone0 = try model.forward(Batch.prompt(a), cache: model.makeCache(capacity: 64))
        let alone1 = try model.forward(Batch.prompt(b), cache: model.makeCache(capacity: 64))
        var batch = Batch()
        // Interleaved on purpose: sequence order in a batch must not matter.
        batch.append(token: a[0], position: 0, sequence: 0, wantsLogits: false)
        batch.append(token: b[0], position: 0, sequence: 7, wantsLogits: false)
        batch.append(token: a[1], position: 1, sequence: 0, wantsLogits: false)
        batch.append(token: b[1], position: 1, sequence: 7, wantsLogits: false)
        batch.append(token: a[2], position: 2, sequence: 0, wantsLogits: false)
        batch.append(token: b[2], position: 2, sequence: 7, wantsLogits: true)
        batch.append(token: a[3], position: 3, sequence: 0, wantsLogits: true)
        let cache = model.makeCache(capacity: 64)
        let both = try model.forward(batch, cache: cache)
        XCTAssertEqual(both.batchIndices, [5, 6])
        assertClose(both.row(0), Array(alone1.row(0)), 1e-3, "sequence 7")
        assertClose(both.row(1), Array(alone0.row(0)), 1e-3, "sequence 0")
        // Freeing one sequence keeps the other decodable.
        cache.remove(7)
        XCTAssertEqual(cache.length(of: 7), 0)
        XCTAssertEqual(cache.length(of: 0), 4)
    }

    func testBadBatchesAreErrors() throws {
        let (file, _) = try Self.makeModel(Dims(), tied: true)
        let model = try ModelRegistry.load(file, pool: ThreadPool(threads: 1))
        let cache = model.makeCache(capacity: 32)
        XCTAssertThrowsError(try model.forward(Batch.prompt([99]), cache: cache))            // token out of vocab
        XCTAssertThrowsError(try model.forward(Batch.prompt([1], start: 5), cache: cache))   // gap in positions
        XCTAssertThrowsError(try model.forward(Batch.prompt(Array(repeating: 1, count: 40)), cache: cache)) { e in
            XCTAssertTrue("\(e)".contains("full"), "\(e)")
        }
    }
}
