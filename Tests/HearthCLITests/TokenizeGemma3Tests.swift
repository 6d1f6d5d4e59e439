import Foundation
import XCTest

/// `hearth tokenize` on gemma-3-270m (SentencePiece vocabulary) equals llama-tokenize on every corpus text.
final class TokenizeGemma3Tests: XCTestCase {
    static let gemma3 = CLI.repoRoot.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path

    func testTokenizeMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, Self.gemma3)
        let ref = try CLI.json("tokens-gemma3.json") as? [String: Any]
        let texts = try XCTUnwrap(ref?["texts"] as? [[String: Any]])
        XCTAssertEqual(texts.count, 114)
        var mismatches: [String] = []
        for t in texts {
            let text = try XCTUnwrap(t["text"] as? String)
            for (mode, flags) in [("plain", ["--no-bos", "--no-special"]), ("special", ["--no-bos"])] {
                let expected = try XCTUnwrap(t[mode] as? [Int])
                let r = try CLI.run(["tokenize", Self.gemma3, "--json"] + flags, stdin: Data(text.utf8))
                XCTAssertEqual(r.status, 0, r.stderr)
                let got = (try? JSONSerialization.jsonObject(with: r.stdout)) as? [Int]
                if got != expected { mismatches.append("text \(t["id"] ?? "?") \(mode): \(text.prefix(40).debugDescription)") }
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) texts tokenize differently from llama.cpp")
    }

    /// With BOS (the model asks for it) and special tokens parsed: the greedy reference's prompt ids.
    func testPromptIdsMatchLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, Self.gemma3)
        let ref = try CLI.json("greedy-gemma3.json") as? [String: Any]
        let results = try XCTUnwrap(ref?["results"] as? [[String: Any]])
        XCTAssertFalse(results.isEmpty)
        for r in results {
            let prompt = try XCTUnwrap(r["prompt"] as? String)
            let tok = try CLI.run(["tokenize", Self.gemma3, "--json"], stdin: Data(prompt.utf8))
            XCTAssertEqual(tok.status, 0, tok.stderr)
            XCTAssertEqual((try? JSONSerialization.jsonObject(with: tok.stdout)) as? [Int], r["prompt_ids"] as? [Int],
                           "prompt \(r["id"] ?? "?") tokenizes differently")
        }
    }
}
