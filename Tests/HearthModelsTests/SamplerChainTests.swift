import Foundation
import HearthEngine
import HearthGrammar
import XCTest

/// Each stage of the sampler chain against distributions computed by hand, by drawing many times.
final class SamplerChainTests: XCTestCase {
    func options(_ f: (inout SamplingOptions) -> Void) -> SamplingOptions {
        var o = SamplingOptions()
        o.seed = 11
        o.topK = 0
        o.topP = 1
        o.repeatPenalty = 1
        o.temperature = 1
        f(&o)
        return o
    }

    /// Frequencies of each token over `n` draws.
    func frequencies(_ o: SamplingOptions, _ logits: [Float], history: [Int32] = [], n: Int = 20000) -> [Double] {
        var s = Sampler(o)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<n { counts[Int(s.sample(logits[...], history: history))] += 1 }
        return counts.map { Double($0) / Double(n) }
    }

    func softmax(_ x: [Double]) -> [Double] {
        let m = x.max() ?? 0
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func assertClose(_ got: [Double], _ want: [Double], _ tol: Double = 0.015, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, file: file, line: line)
        for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: tol, "got \(got), want \(want)", file: file, line: line) }
    }

    func testFrequencyAndPresencePenalties() {
        // Token 0 seen twice, token 1 once: logits 1 - (2·0.5 + 0.25), 1 - (0.5 + 0.25), 1.
        let f = frequencies(options { $0.frequencyPenalty = 0.5; $0.presencePenalty = 0.25 }, [1, 1, 1], history: [0, 0, 1])
        assertClose(f, softmax([-0.25, 0.25, 1]))
    }

    func testRepeatPenaltyWithFrequencyInOneStage() {
        // llama.cpp: penalize by division/multiplication first, then subtract the counts.
        let f = frequencies(options { $0.repeatPenalty = 2; $0.frequencyPenalty = 0.1 }, [2, -1, 0.5], history: [0, 1, 1])
        assertClose(f, softmax([2.0 / 2 - 0.1, -1 * 2 - 0.2, 0.5]))
    }

    func testPenaltyWindow() {
        // Only the last 2 tokens count: token 0 (seen 3 tokens ago) is not penalized.
        let f = frequencies(options { $0.presencePenalty = 1; $0.repeatLastN = 2 }, [0, 0, 0], history: [0, 1, 2])
        assertClose(f, softmax([0, -1, -1]))
    }

    func testLogitBias() {
        let f = frequencies(options { $0.logitBias = [0: -.infinity, 2: 1] }, [3, 1, 1])
        assertClose(f, [0, softmax([1, 2])[0], softmax([1, 2])[1]])
        // At temperature 0 the bias still applies (a banned token is never the arg-max).
        var greedy = Sampler(options { $0.temperature = 0; $0.logitBias = [0: -.infinity] })
        XCTAssertEqual(greedy.sample([3, 1, 2][...], history: []), 2)
    }

    func testTypicalP() {
        // p = [0.5, 0.3, 0.15, 0.05]: entropy 1.1422 nats; |surprise − H| = 0.449, 0.062, 0.755, 1.854, so the
        // order is 1, 0, 2, 3 and typical_p 0.5 keeps {1, 0} (0.3 + 0.5 > 0.5), renormalized to 0.375/0.625.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        let f = frequencies(options { $0.typicalP = 0.5 }, logits)
        assertClose(f, [0.625, 0.375, 0, 0])
    }

    func testTopPThenMinPThenTemperature() {
        // softmax([2, 1, 0, -5]) ≈ [0.662, 0.243, 0.090, 0.004]: top-p 0.95 keeps three; min-p 0.2 then drops token 2
        // (0.090 < 0.2 · 0.662); temperature 2 flattens the survivors: softmax([1, 0.5]).
        let f = frequencies(options { $0.topP = 0.95; $0.minP = 0.2; $0.temperature = 2 }, [2, 1, 0, -5])
        let s = softmax([1, 0.5])
        assertClose(f, [s[0], s[1], 0, 0])
    }

    func testTopKThenTemperature() {
        let f = frequencies(options { $0.topK = 2; $0.temperature = 0.5 }, [0, 1, 1.5, -1])
        let s = softmax([2, 3])
        assertClose(f, [0, s[0], s[1], 0])
    }

    func testMirostat2TruncatesBySurpriseAndUpdatesMu() {
        // tau 0.5 → mu starts at 1 bit: only tokens with p > 0.5 survive, here token 0 alone (p ≈ 0.84).
        var s = Sampler(options { $0.mirostat = 2; $0.mirostatTau = 0.5; $0.mirostatEta = 0.1 })
        XCTAssertEqual(s.mu, 1)
        XCTAssertEqual(s.sample([3, 1, 0][...], history: []), 0)
        // Renormalized p = 1: observed surprise 0, error −0.5, mu = 1 − 0.1 · (−0.5) = 1.05.
        XCTAssertEqual(s.mu, 1.05, accuracy: 1e-6)
        // A high tau keeps everything: the draw follows the full softmax.
        let f = frequencies(options { $0.mirostat = 2; $0.mirostatTau = 20 }, [1, 0.5, 0])
        assertClose(f, softmax([1, 0.5, 0]))
    }

    func testMirostat1KeepsTopTokensAndAdapts() {
        var s = Sampler(options { $0.mirostat = 1; $0.mirostatTau = 0.01; $0.mirostatEta = 0.1 })
        let logits: [Float] = (0..<200).map { -Float($0) * 0.05 }
        for _ in 0..<5 { XCTAssertEqual(s.sample(logits[...], history: []), 0, "tiny tau keeps only the top token") }
        XCTAssertLessThan(s.mu, 2 * 0.01 + 1e-6 + 0.1 * 0.01 * 5)
    }

    func testSeedMakesTheWholeChainReproducible() {
        let o = options { $0.topK = 10; $0.typicalP = 0.9; $0.topP = 0.9; $0.minP = 0.01; $0.presencePenalty = 0.3; $0.seed = 99 }
        let logits = (0..<64).map { Float(($0 * 37) % 11) * 0.2 }
        var a = Sampler(o), b = Sampler(o)
        var hist: [Int32] = []
        var ra: [Int32] = [], rb: [Int32] = []
        for _ in 0..<100 {
            let x = a.sample(logits[...], history: hist), y = b.sample(logits[...], history: hist)
            ra.append(x); rb.append(y); hist.append(x)
        }
        XCTAssertEqual(ra, rb)
    }

    // MARK: grammar

    /// A toy vocabulary: ids 0…5 with these pieces, 6 = end of generation.
    let pieces: [[UInt8]] = ["{", "a", "b", "}", "ab", "}}", ""].map { Array($0.utf8) }

    func constraint(_ gbnf: String) throws -> GrammarConstraint {
        let trie = TokenTrie(pieces: pieces, endTokens: [6])
        return GrammarConstraint(matcher: GrammarMatcher(try Grammar(gbnf: gbnf)), trie: trie,
                                 piece: { [pieces] in pieces[Int($0)] }, isEnd: { $0 == 6 })
    }

    func testGrammarMaskThenChain() throws {
        let c = try constraint(#"root ::= "{" "a"+ "}""#)
        XCTAssertEqual(try c.mask().enumerated().flatMap { w, bits in (0..<64).filter { bits >> UInt64($0) & 1 == 1 }.map { w * 64 + $0 } }, [0])
        var s = Sampler(options { $0.temperature = 0 })
        // The model prefers "b" (2) then "}}" (5); the grammar forces "{", then "a" …
        let logits: [Float] = [0, 1, 5, 2, 3, 4, 9]
        var out: [Int32] = []
        for _ in 0..<4 {
            let id = try s.sample(logits[...], history: [], constraint: c)
            out.append(id)
            if id == 6 { break }
            try c.accept(id)
        }
        // "{" (only choice), "ab" is rejected ("b"), so "a"; then "}" beats "a" (2 > 1); then only the end.
        XCTAssertEqual(out, [0, 1, 3, 6])
        XCTAssertTrue(c.mustEnd)
    }

    func testGrammarSamplingAtTemperatureOneOnlyDrawsAllowedTokens() throws {
        let c = try constraint(#"root ::= "{" ("a" | "b")* "}""#)
        var s = Sampler(options { $0.temperature = 1.5 })
        let logits: [Float] = [0.5, 1, 1, 0.2, 3, 2, 1]
        var text = ""
        for _ in 0..<200 {
            let id = try s.sample(logits[...], history: [], constraint: c)
            if id == 6 { break }
            try c.accept(id)
            text += String(decoding: pieces[Int(id)], as: UTF8.self)
        }
        XCTAssertTrue(text.hasPrefix("{") && text.hasSuffix("}") && !text.dropLast().contains("}"), text)
    }

    func testGrammarThatAllowsNothingIsAnError() throws {
        let c = try constraint(#"root ::= "z""#)
        var s = Sampler(options { $0.temperature = 0 })
        XCTAssertThrowsError(try s.sample([1, 1, 1, 1, 1, 1, 1][...], history: [], constraint: c)) { error in
            XCTAssertTrue("\(error)".contains("no token"), "\(error)")
        }
    }
}
