import Foundation
import XCTest
@testable import HearthEngine

/// A chat's next turn extends the previous prompt and answer; the generator computes only the new tokens and
/// must give the tokens a fresh run gives.
final class GeneratorPrefixTests: XCTestCase {
    func testNextTurnReusesCachedPrefix() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            return XCTFail("\(path) is missing: run scripts/fetch-model")
        }
        let loaded = try LoadedModel(path: path, threads: 2)
        var options = GenerateOptions()
        options.sampling.temperature = 0
        options.numPredict = 8
        func generate(_ g: Generator, _ prompt: [Int32]) throws -> ([Int32], GenerationStats) {
            var ids: [Int32] = []
            let stats = try g.generate(prompt: prompt, options: options) { ids.append($0.id); return true }
            return (ids, stats)
        }
        let chat = Generator(loaded, contextSize: 512)
        let first = loaded.tokenize("The capital of France is")
        let (answer, s1) = try generate(chat, first)
        XCTAssertEqual(s1.promptTokens, first.count)
        let second = first + answer + loaded.tokenize(" And the capital of Italy is", addSpecial: false)
        let (cached, s2) = try generate(chat, second)
        // Everything but the new text came from the cache (the last answer token was never fed back).
        XCTAssertEqual(s2.promptTokens, second.count - first.count - answer.count + 1)
        let (fresh, _) = try generate(Generator(loaded, contextSize: 512), second)
        XCTAssertEqual(cached, fresh)
        // A prompt that is not an extension recomputes from where it differs.
        let (again, s3) = try generate(chat, first)
        XCTAssertEqual(again, answer)
        XCTAssertEqual(s3.promptTokens, 1)
    }
}
