import Foundation
import XCTest

/// The foundation issue's bar, checked through the CLI against ../shared/reference (its README gives the rules).
final class ReferenceTests: XCTestCase {
    /// `hearth tokenize` equals llama-tokenize on every corpus text, plain and special.
    func testTokenizeMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let ref = try CLI.json("tokens-smollm2.json") as? [String: Any]
        let texts = try XCTUnwrap(ref?["texts"] as? [[String: Any]])
        XCTAssertGreaterThan(texts.count, 100)
        var mismatches: [String] = []
        for t in texts {
            let text = try XCTUnwrap(t["text"] as? String)
            for (mode, flags) in [("plain", ["--no-bos", "--no-special"]), ("special", ["--no-bos"])] {
                let expected = try XCTUnwrap(t[mode] as? [Int])
                let r = try CLI.run(["tokenize", CLI.smollm2, "--json"] + flags, stdin: Data(text.utf8))
                XCTAssertEqual(r.status, 0, r.stderr)
                let got = (try? JSONSerialization.jsonObject(with: r.stdout)) as? [Int]
                if got != expected { mismatches.append("text \(t["id"] ?? "?") \(mode): \(text.prefix(40).debugDescription)") }
            }
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) texts tokenize differently from llama.cpp")
    }

    /// Greedy continuation rule: logprobs within 0.1 while tokens agree; at the first difference, a near-tie.
    func testGreedyContinuationMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let ref = try CLI.json("greedy-smollm2.json") as? [String: Any]
        let results = try XCTUnwrap(ref?["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 12)
        for case let r in results {
            let prompt = try XCTUnwrap(r["prompt"] as? String)
            let promptIDs = try XCTUnwrap(r["prompt_ids"] as? [Int])
            let steps = try XCTUnwrap(r["steps"] as? [[String: Any]])
            let tok = try CLI.run(["tokenize", CLI.smollm2, "--json"], stdin: Data(prompt.utf8))
            XCTAssertEqual((try? JSONSerialization.jsonObject(with: tok.stdout)) as? [Int], promptIDs,
                           "prompt \(r["id"] ?? "?") tokenizes differently")
            let run = try CLI.run(["run", CLI.smollm2, "--raw", "--temperature", "0", "--num-predict", "32", "--json",
                                   "--top-logprobs", "5"], stdin: Data(prompt.utf8))
            XCTAssertEqual(run.status, 0, run.stderr)
            let lines = run.out.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
            let tokens = lines.filter { $0["token"] != nil }
            XCTAssertEqual(lines.last?["done"] as? Bool, true, "no final done line for prompt \(r["id"] ?? "?")")
            var compared = 0
            for (i, step) in steps.enumerated() {
                let refToken = try XCTUnwrap(step["token"] as? Int)
                let top = try XCTUnwrap(step["top"] as? [[String: Any]])
                let refLogprob = try XCTUnwrap(top.first(where: { $0["id"] as? Int == refToken })?["logprob"] as? Double)
                guard i < tokens.count else {
                    XCTFail("prompt \(r["id"] ?? "?"): Hearth stopped after \(i) tokens, llama.cpp went on"); break
                }
                let mine = try XCTUnwrap(tokens[i]["token"] as? Int)
                let myLogprob = try XCTUnwrap(tokens[i]["logprob"] as? Double)
                compared += 1
                if mine == refToken {
                    XCTAssertEqual(myLogprob, refLogprob, accuracy: 0.1, "prompt \(r["id"] ?? "?") step \(i) logprob")
                    continue
                }
                let top1 = try XCTUnwrap(top.first?["logprob"] as? Double)
                let alt = top.first { $0["id"] as? Int == mine }
                let altLogprob = alt?["logprob"] as? Double
                XCTAssertNotNil(alt, "prompt \(r["id"] ?? "?") step \(i): token \(mine) not in llama.cpp's top 5")
                if let a = altLogprob {
                    XCTAssertLessThanOrEqual(top1 - a, 0.1, "prompt \(r["id"] ?? "?") step \(i): not a near-tie")
                }
                break
            }
            XCTAssertGreaterThan(compared, 0)
        }
    }

    func testPerplexityMatchesLlamaCpp() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let ref = try CLI.json("perplexity-smollm2.json") as? [String: Any]
        let results = try XCTUnwrap(ref?["results"] as? [[String: Any]])
        let text = CLI.reference.appendingPathComponent("ppl-public.txt").path
        for r in results {
            let ctx = try XCTUnwrap(r["ctx"] as? Int)
            let expected = try XCTUnwrap(r["ppl"] as? Double)
            let run = try CLI.run(["perplexity", CLI.smollm2, text, "--ctx-size", "\(ctx)", "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            let obj = (try? JSONSerialization.jsonObject(with: run.stdout)) as? [String: Any]
            let ppl = try XCTUnwrap(obj?["ppl"] as? Double, "no ppl in \(run.out)")
            XCTAssertEqual(obj?["chunks"] as? Int, r["chunks"] as? Int)
            XCTAssertEqual(ppl, expected, accuracy: expected * 0.01, "ctx \(ctx)")
        }
    }
}
