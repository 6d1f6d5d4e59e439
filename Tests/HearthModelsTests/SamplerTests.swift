import HearthEngine
import XCTest

final class SamplerTests: XCTestCase {
    func options(_ f: (inout SamplingOptions) -> Void) -> SamplingOptions {
        var o = SamplingOptions()
        o.seed = 7
        f(&o)
        return o
    }

    func testDefaultsAreOllamas() {
        let o = SamplingOptions()
        XCTAssertEqual(o.temperature, 0.8)
        XCTAssertEqual(o.topK, 40)
        XCTAssertEqual(o.topP, 0.9)
        XCTAssertEqual(o.minP, 0.0)
        XCTAssertEqual(o.repeatPenalty, 1.1)
        XCTAssertEqual(o.repeatLastN, 64)
    }

    func testTemperatureZeroIsArgmaxOfRawLogits() {
        var s = Sampler(options { $0.temperature = 0 })
        let logits: [Float] = [0.1, 3, 2.9, -1]
        // The penalty would demote token 1, but greedy ignores penalties (as Ollama's sampler).
        XCTAssertEqual(s.sample(logits[...], history: [1, 1, 1]), 1)
    }

    func testSeedIsReproducible() {
        let logits = (0..<100).map { Float($0 % 7) * 0.3 }
        var a = Sampler(options { $0.topK = 0; $0.topP = 1 })
        var b = Sampler(options { $0.topK = 0; $0.topP = 1 })
        let ra = (0..<50).map { _ in a.sample(logits[...], history: []) }
        let rb = (0..<50).map { _ in b.sample(logits[...], history: []) }
        XCTAssertEqual(ra, rb)
        XCTAssertGreaterThan(Set(ra).count, 3, "a temperature-0.8 sampler should vary")
    }

    func testTopKLimitsCandidates() {
        var s = Sampler(options { $0.topK = 2; $0.topP = 1; $0.temperature = 5 })
        let logits: [Float] = [1, 5, 4, 3, 2]
        for _ in 0..<200 { XCTAssertTrue([1, 2].contains(s.sample(logits[...], history: []))) }
    }

    func testTopPKeepsTheNucleus() {
        // softmax([10, 9, 0, 0]) ≈ [0.73, 0.27, 0.00005, 0.00005]: top-p 0.5 keeps only token 0.
        var s = Sampler(options { $0.topK = 0; $0.topP = 0.5; $0.temperature = 1 })
        let logits: [Float] = [10, 9, 0, 0]
        for _ in 0..<100 { XCTAssertEqual(s.sample(logits[...], history: []), 0) }
    }

    func testMinPDropsUnlikelyTokens() {
        var s = Sampler(options { $0.topK = 0; $0.topP = 1; $0.minP = 0.5; $0.temperature = 3 })
        let logits: [Float] = [2, 1.9, -5, -5, -5]
        for _ in 0..<200 { XCTAssertTrue([0, 1].contains(s.sample(logits[...], history: []))) }
    }

    func testRepeatPenaltyDemotesRecentTokens() {
        // Token 0 leads by a hair; a strong penalty on it makes token 1 win every time at low temperature.
        var s = Sampler(options { $0.topK = 0; $0.topP = 1; $0.temperature = 0.01; $0.repeatPenalty = 2 })
        let logits: [Float] = [4.0, 3.9, -2]
        for _ in 0..<20 { XCTAssertEqual(s.sample(logits[...], history: [0]), 1) }
        var none = Sampler(options { $0.topK = 0; $0.topP = 1; $0.temperature = 0.01; $0.repeatPenalty = 2; $0.repeatLastN = 0 })
        XCTAssertEqual(none.sample(logits[...], history: [0]), 0)
    }

    func testLogProbsAreNormalized() {
        let logits: [Float] = [1, 2, 3, 4]
        let lp = LogProbs(logits[...])
        let total = (0..<4).reduce(Float(0)) { $0 + expf(lp.logprob(logits[...], Int32($1))) }
        XCTAssertEqual(total, 1, accuracy: 1e-5)
        XCTAssertEqual(lp.top(logits[...], 2).map(\.token), [3, 2])
    }
    /// The vectorized argmax gives the first index of the largest value, as a plain `>` scan does, for any
    /// length (vector body and tail), ties, -inf, NaNs and slices that do not start at 0.
    func testArgmaxMatchesAScan() {
        func scan(_ x: ArraySlice<Float>) -> Int32 {
            var best = x.startIndex
            for i in x.indices where x[i] > x[best] { best = i }
            return Int32(best - x.startIndex)
        }
        var rng = SeededRandom(seed: 99)
        for trial in 0..<400 {
            let n = 1 + Int(rng.next() % 300)
            var x = (0..<n).map { _ in Float(Int(rng.next() % 9)) - 4 }  // few values: many ties
            if trial % 3 == 0 { x[Int(rng.next() % UInt64(n))] = .nan }
            if trial % 5 == 0 { x[Int(rng.next() % UInt64(n))] = -.infinity }
            if trial % 7 == 0 { x[0] = .nan }
            if trial % 11 == 0 { x = x.map { _ in -.infinity } }
            let start = trial % 4 == 0 && n > 3 ? 2 : 0
            XCTAssertEqual(Sampler.argmax(x[start...]), scan(x[start...]), "trial \(trial), n \(n)")
        }
        XCTAssertEqual(Sampler.argmax([Float](repeating: 1, count: 40)[...]), 0)
        let big = (0..<151_936).map { Float(($0 * 7919) % 151_936) }
        XCTAssertEqual(Sampler.argmax(big[...]), scan(big[...]))
    }
}
