import Foundation
import XCTest

extension CLI {
    static let qwen25coder = repoRoot.appendingPathComponent("models/qwen2.5-coder-0.5b-instruct.gguf").path
}

/// Issue 4's bar for qwen2 (Qwen2.5-Coder-0.5B-Instruct), checked through the CLI against ../shared/reference
/// exactly as ReferenceTests checks smollm2 (its README gives the rules).
final class QwenReferenceTests: XCTestCase {
    /// `hearth tokenize` equals llama-tokenize (the `qwen2` pre-tokenizer) on every corpus text, plain and special.
    func testQwenTokenizeMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, CLI.qwen25coder)
        let ref = try CLI.json("tokens-qwen25coder.json") as? [String: Any]
        let texts = try XCTUnwrap(ref?["texts"] as? [[String: Any]])
        XCTAssertGreaterThan(texts.count, 100)
        var mismatches: [String] = []
        for t in texts {
            let text = try XCTUnwrap(t["text"] as? String)
            for (mode, flags) in [("plain", ["--no-bos", "--no-special"]), ("special", ["--no-bos"])] {
                let expected = try XCTUnwrap(t[mode] as? [Int])
                let r = try CLI.run(["tokenize", CLI.qwen25coder, "--json"] + flags, stdin: Data(text.utf8))
                XCTAssertEqual(r.status, 0, r.stderr)
                let got = (try? JSONSerialization.jsonObject(with: r.stdout)) as? [Int]
                if got != expected { mismatches.append("text \(t["id"] ?? "?") \(mode): \(text.prefix(40).debugDescription)") }
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) texts tokenize differently from llama.cpp")
    }

    /// llama-perplexity protocol at ctx 128 and 512, within 1% of llama.cpp's estimate.
    func testQwenPerplexityMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, CLI.qwen25coder)
        let ref = try CLI.json("perplexity-qwen25coder.json") as? [String: Any]
        let results = try XCTUnwrap(ref?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        let text = CLI.reference.appendingPathComponent("ppl-public.txt").path
        for r in results {
            let ctx = try XCTUnwrap(r["ctx"] as? Int)
            let expected = try XCTUnwrap(r["ppl"] as? Double)
            let run = try CLI.run(["perplexity", CLI.qwen25coder, text, "--ctx-size", "\(ctx)", "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let obj = (try? JSONSerialization.jsonObject(with: run.stdout)) as? [String: Any]
            let ppl = try XCTUnwrap(obj?["ppl"] as? Double, "no ppl in \(run.out)")
            XCTAssertEqual(obj?["chunks"] as? Int, r["chunks"] as? Int)
            XCTAssertEqual(ppl, expected, accuracy: expected * 0.01, "ctx \(ctx)")
        }
    }
}
