import Foundation
import HearthModels

/// Perplexity with llama.cpp's `llama-perplexity` protocol (tools/perplexity): the token stream is cut into
/// chunks of `contextSize` (remainder dropped); each chunk is evaluated from an empty cache, its first token
/// replaced by BOS when the model adds BOS; the logits at positions n/2 … n-2 score the tokens n/2+1 … n-1.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var chunks: Int
    public var tokens: Int
    /// Running estimate after each chunk, as llama-perplexity prints it.
    public var perChunk: [Double]
}

public enum Perplexity {
    public static func run(_ loaded: LoadedModel, tokens: [Int32], contextSize n: Int,
                           progress: ((Int, Int, Double) -> Void)? = nil) throws -> PerplexityResult {
        guard n >= 4 else { throw EngineError.invalidOption("--ctx-size must be at least 4 for perplexity") }
        let chunks = tokens.count / n
        guard chunks > 0 else {
            throw EngineError.invalidOption("the text is \(tokens.count) tokens; perplexity needs at least \(n) (one chunk)")
        }
        let cache = loaded.model.makeCache(capacity: n)
        let first = n / 2
        var nll: Double = 0
        var count = 0
        var running: [Double] = []
        for c in 0..<chunks {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if loaded.addsBOS, let bos = loaded.tokenizer.bosId { chunk[0] = bos }
            cache.clear()
            var batch = Batch()
            for (i, t) in chunk.enumerated() {
                batch.append(token: t, position: i, sequence: 0, wantsLogits: i >= first && i < n - 1)
            }
            let logits = try loaded.model.forward(batch, cache: cache)
            for r in 0..<logits.rowCount {
                let i = logits.batchIndices[r]
                let row = logits.row(r)
                let lp = LogProbs(row)
                nll -= Double(lp.logprob(row, chunk[i + 1]))
                count += 1
            }
            running.append(exp(nll / Double(count)))
            progress?(c + 1, chunks, running[running.count - 1])
        }
        return PerplexityResult(perplexity: exp(nll / Double(count)), chunks: chunks, tokens: tokens.count,
                                perChunk: running)
    }
}
