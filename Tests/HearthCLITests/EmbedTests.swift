import Foundation
import XCTest

/// `hearth embed` and `hearth show` on the all-MiniLM-L6-v2 directory, against sentence-transformers' reference
/// (../shared/reference/embeddings-minilm.json: identical input_ids, cosine ≥ 0.999 per text).
final class EmbedTests: XCTestCase {
    static let minilm = CLI.repoRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path

    func cosine(_ a: [Double], _ b: [Double]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += x * y; aa += x * x; bb += y * y }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    func testEmbedMatchesSentenceTransformers() throws {
        try CLI.requireFiles(CLI.binary, Self.minilm + "/model.safetensors")
        guard let ref = try CLI.json("embeddings-minilm.json") as? [String: Any],
              let items = ref["items"] as? [[String: Any]] else { return XCTFail("unexpected reference layout") }
        let texts = items.compactMap { $0["text"] as? String }
        XCTAssertEqual(texts.count, 60)
        let input = try JSONSerialization.data(withJSONObject: texts)
        let r = try CLI.run(["embed", Self.minilm, "--json", "--ids", "--input-json", "--threads", "2"], stdin: input)
        XCTAssertFalse(r.crashed)
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let out = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any],
              let embeddings = out["embeddings"] as? [[Double]], let ids = out["input_ids"] as? [[Int]] else {
            return XCTFail("unexpected output: \(r.out.prefix(300))")
        }
        XCTAssertEqual(embeddings.count, items.count)
        var worst = 1.0, tokens = 0
        for (i, item) in items.enumerated() {
            let refIds = item["input_ids"] as? [Int] ?? []
            let refEmbedding = (item["embedding"] as? [Double]) ?? []
            // --ids prints the untruncated ids; the model sees them cut to max_seq_length (256) with [SEP] last.
            let seen = ids[i].count > 256 ? Array(ids[i].prefix(255)) + [102] : ids[i]
            XCTAssertEqual(seen, refIds, "text \(i)")
            tokens += refIds.count
            let c = cosine(embeddings[i], refEmbedding)
            worst = min(worst, c)
            XCTAssertGreaterThanOrEqual(c, 0.999, "text \(i): \(texts[i].prefix(60).debugDescription)")
        }
        XCTAssertEqual(out["prompt_eval_count"] as? Int, tokens)
        print("hearth embed: worst cosine \(worst) over \(items.count) texts")
    }

    func testPlainOutputArgumentsAndDimensions() throws {
        try CLI.requireFiles(CLI.binary, Self.minilm + "/model.safetensors")
        let r = try CLI.run(["embed", Self.minilm, "Hello world", "second text", "--dimensions", "16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for line in lines {
            let values = line.split(separator: " ").compactMap { Double($0) }
            XCTAssertEqual(values.count, 16)
            XCTAssertEqual(values.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
        // stdin, one text per line.
        let s = try CLI.run(["embed", Self.minilm], stdin: Data("one\ntwo\nthree\n".utf8))
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(s.out.split(separator: "\n").count, 3)
    }

    func testTokenizeUsesTheDirectorysTokenizer() throws {
        try CLI.requireFiles(CLI.binary, Self.minilm + "/tokenizer.json")
        let r = try CLI.run(["tokenize", Self.minilm, "Hello world", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, "[101, 7592, 2088, 102]\n")
        let plain = try CLI.run(["tokenize", Self.minilm, "Hello world", "--json", "--no-bos"])
        XCTAssertEqual(plain.out, "[7592, 2088]\n")
    }

    func testShowDescribesTheDirectory() throws {
        try CLI.requireFiles(CLI.binary, Self.minilm + "/model.safetensors")
        let r = try CLI.run(["show", Self.minilm])
        XCTAssertEqual(r.status, 0, r.stderr)
        for s in ["architecture        bert", "embedding length    384", "max input tokens    256", "mean, normalized", "safetensors"] {
            XCTAssertTrue(r.out.contains(s), "missing '\(s)' in:\n\(r.out)")
        }
    }

    func testEmbedErrorsAreCleanLines() throws {
        try CLI.requireFiles(CLI.binary, Self.minilm + "/model.safetensors")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-embed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        // A directory with a hostile safetensors header (length beyond the file).
        for f in ["config.json", "tokenizer.json"] {
            try FileManager.default.copyItem(atPath: Self.minilm + "/" + f, toPath: tmp.appendingPathComponent(f).path)
        }
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0x7B]).write(to: tmp.appendingPathComponent("model.safetensors"))
        let cases: [([String], Data?, String)] = [
            (["embed", "/nonexistent/model", "x"], nil, "no such file"),
            (["embed", Self.minilm, "x", "--dimensions", "0"], nil, "dimensions"),
            (["embed", Self.minilm, "--no-truncate", String(repeating: "word ", count: 300)], nil, "256"),
            (["embed", Self.minilm, "--input-json"], Data("{\"a\": 1}".utf8), "JSON array"),
            (["embed", Self.minilm], Data(), "no texts"),
            (["embed", tmp.path, "x"], nil, "model.safetensors"),
        ]
        for (args, stdin, mention) in cases {
            let r = try CLI.run(args, stdin: stdin)
            XCTAssertFalse(r.crashed, "crashed on \(args.prefix(3)): \(r.stderr)")
            XCTAssertNotEqual(r.status, 0, "succeeded on \(args.prefix(3))")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "expected one error line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mention), "'\(r.stderr)' should mention '\(mention)'")
        }
    }
}
