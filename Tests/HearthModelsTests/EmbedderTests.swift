import Foundation
import XCTest
import HearthEngine
import HearthFormats
import HearthModels

/// The Embedder on all-MiniLM-L6-v2 against sentence-transformers, and LLM embeddings on SmolLM2.
final class EmbedderTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let minilm = root.appendingPathComponent("models/all-MiniLM-L6-v2").path
    static let smollm2 = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    struct Reference: Decodable {
        struct Item: Decodable { let id: Int; let text: String; let input_ids: [Int32]; let embedding: [Float] }
        let items: [Item]
    }

    static func reference() throws -> Reference {
        let url = root.appendingPathComponent("../shared/reference/embeddings-minilm.json").standardized
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    func testMiniLMMatchesSentenceTransformers() throws {
        let ref = try Self.reference()
        let e = try Embedder(path: Self.minilm, threads: 2)
        XCTAssertEqual(e.dimensions, 384)
        XCTAssertEqual(e.pooling, .mean)
        XCTAssertTrue(e.normalizes)
        let result = try e.embed(ref.items.map(\.text))
        var worst = 1.0
        for (i, item) in ref.items.enumerated() {
            let ids = e.tokenize(item.text)
            XCTAssertEqual(Array(ids.prefix(256).dropLast(ids.count > 256 ? 1 : 0)) + (ids.count > 256 ? [102] : []),
                           item.input_ids, "text \(item.id)")
            XCTAssertEqual(result.tokenCounts[i], item.input_ids.count, "text \(item.id)")
            let c = Self.cosine(result.embeddings[i], item.embedding)
            worst = min(worst, c)
            XCTAssertGreaterThanOrEqual(c, 0.999, "text \(item.id): \(item.text.prefix(60).debugDescription)")
        }
        print("MiniLM: worst cosine over \(ref.items.count) texts: \(worst)")
    }

    /// A text's embedding does not depend on what else is in its batch (packing, not padding).
    func testBatchCompositionDoesNotChangeEmbeddings() throws {
        let e = try Embedder(path: Self.minilm, threads: 2)
        let texts = ["short", "a somewhat longer sentence about embeddings and retrieval", "中文测试", "x"]
        let together = try e.embed(texts).embeddings
        for (i, t) in texts.enumerated() {
            let alone = try e.embed([t]).embeddings[0]
            for (a, b) in zip(alone, together[i]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        }
        let small = try e.embed(texts, batchSize: 1).embeddings
        for (a, b) in zip(small.flatMap { $0 }, together.flatMap { $0 }) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testDimensionsAndTruncation() throws {
        let e = try Embedder(path: Self.minilm, threads: 2)
        let full = try e.embed(["Hello world"]).embeddings[0]
        let cut = try e.embed(["Hello world"], dimensions: 64).embeddings[0]
        XCTAssertEqual(cut.count, 64)
        let norm = cut.reduce(0) { $0 + Double($1) * Double($1) }
        XCTAssertEqual(norm, 1, accuracy: 1e-5)
        XCTAssertGreaterThan(Self.cosine(Array(full.prefix(64)), cut), 0.99999)
        XCTAssertThrowsError(try e.embed(["x"], dimensions: 0))
        XCTAssertThrowsError(try e.embed(["x"], dimensions: 385))
        let long = String(repeating: "word ", count: 400)
        XCTAssertEqual(try e.embed([long]).tokenCounts, [256])
        XCTAssertThrowsError(try e.embed([long], truncate: false)) { XCTAssertTrue("\($0)".contains("256"), "\($0)") }
        XCTAssertEqual(try e.embed([]).embeddings.count, 0)
    }

    /// A GGUF language model embeds with the mean of its final-normed hidden states, normalized.
    func testLLMEmbeddings() throws {
        let e = try Embedder(path: Self.smollm2, threads: 2)
        XCTAssertEqual(e.architecture, "llama")
        let r = try e.embed(["The cat sat on the mat.", "A cat was sitting on a mat.", "Quarterly tax filing deadlines", "The cat sat on the mat."])
        XCTAssertEqual(r.embeddings.map(\.count), [576, 576, 576, 576])
        for v in r.embeddings { XCTAssertEqual(v.reduce(0) { $0 + Double($1) * Double($1) }, 1, accuracy: 1e-4) }
        XCTAssertEqual(r.embeddings[0], r.embeddings[3])
        XCTAssertGreaterThan(Self.cosine(r.embeddings[0], r.embeddings[1]), Self.cosine(r.embeddings[0], r.embeddings[2]))
    }

    func testBadDirectoriesGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func expect(_ mention: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Embedder(path: dir.path, threads: 1), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(mention), "'\($0)' should mention '\(mention)'", file: file, line: line)
            }
        }
        try Data("{\"model_type\": 3}".utf8).write(to: dir.appendingPathComponent("config.json"))
        expect("model_type")
        try Data(contentsOf: URL(fileURLWithPath: Self.minilm + "/config.json")).write(to: dir.appendingPathComponent("config.json"))
        expect("tokenizer.json")
        try Data(contentsOf: URL(fileURLWithPath: Self.minilm + "/tokenizer.json")).write(to: dir.appendingPathComponent("tokenizer.json"))
        expect("model.safetensors")
        // A checkpoint lacking a tensor the architecture needs.
        let header = #"{"embeddings.word_embeddings.weight":{"dtype":"F32","shape":[1,384],"data_offsets":[0,1536]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: padded.utf8.count >> (8 * $0)) } + Array(padded.utf8)
        bytes += [UInt8](repeating: 0, count: 1536)
        try Data(bytes).write(to: dir.appendingPathComponent("model.safetensors"))
        expect("embeddings.position_embeddings.weight")
        try Data("{\"model_type\": \"t5\"}".utf8).write(to: dir.appendingPathComponent("config.json"))
        expect("t5")
    }
}
