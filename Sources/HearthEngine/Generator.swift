import Foundation
import HearthGrammar
import HearthModels
import HearthTokenizers

/// Runs prompt → tokens for one sequence at a time on a loaded model (the server's scheduler batches many).
public final class Generator {
    public let loaded: LoadedModel
    public let cache: KVCache
    public let contextSize: Int
    /// The tokens whose keys and values are in `cache`, in order: a prompt that extends them (the next turn of a
    /// chat) only computes its new tokens.
    public private(set) var cachedTokens: [Int32] = []

    public init(_ loaded: LoadedModel, contextSize: Int) {
        self.loaded = loaded
        self.contextSize = contextSize
        cache = loaded.model.makeCache(capacity: contextSize)
    }

    /// The last grammar's matcher: reused (reset) when the next generation has the same grammar, keeping its
    /// memo tables and mask cache warm.
    private var grammarMatcher: GrammarMatcher?

    private func constraint(for grammar: Grammar?) -> GrammarConstraint? {
        guard let grammar else { return nil }
        let matcher: GrammarMatcher
        if let m = grammarMatcher, m.grammar == grammar {
            m.reset()
            matcher = m
        } else {
            matcher = GrammarMatcher(grammar)
            grammarMatcher = matcher
        }
        return GrammarConstraint(matcher: matcher, trie: loaded.tokenTrie, tokenizer: loaded.tokenizer)
    }

    /// Forgets the cached tokens (the next prompt is computed whole).
    public func reset() {
        cache.clear()
        cachedTokens = []
    }

    /// Generates after `prompt`, calling `onToken` for each token; return false from it to stop early.
    public func generate(prompt: [Int32], options: GenerateOptions,
                         onToken: (GeneratedToken) throws -> Bool) throws -> GenerationStats {
        let model = loaded.model, tok = loaded.tokenizer
        guard !prompt.isEmpty else { throw EngineError.invalidOption("the prompt is empty") }
        guard prompt.count < contextSize else {
            throw EngineError.promptTooLong(tokens: prompt.count, context: contextSize)
        }
        // Reuse the longest cached prefix; at least one token is evaluated, for its logits.
        var reuse = 0
        while reuse < min(cachedTokens.count, prompt.count - 1), cachedTokens[reuse] == prompt[reuse] { reuse += 1 }
        try cache.truncate(0, to: reuse)
        cachedTokens = Array(prompt[..<reuse])
        var stats = GenerationStats()
        var sampler = Sampler(options.sampling)
        let constraint = constraint(for: options.grammar)
        var history = prompt
        var detok = tok.makeDetokenizer()

        let t0 = Date()
        // The new tokens in llama.cpp's pieces (Batch.promptPieces), logits for the last prompt token only.
        var logits = Logits(vocabSize: model.info.vocabSize, values: [], batchIndices: [])
        for piece in Batch.promptPieces(count: prompt.count - reuse, slidingWindow: model.hasSlidingWindow) {
            var batch = Batch()
            for j in piece {
                let i = reuse + j
                batch.append(token: prompt[i], position: i, sequence: 0, wantsLogits: i == prompt.count - 1)
            }
            logits = try model.forward(batch, cache: cache)
        }
        cachedTokens = prompt
        stats.promptTokens = prompt.count - reuse
        stats.promptDuration = Date().timeIntervalSince(t0)

        let limit = (options.numPredict ?? -1) < 0 ? Int.max : (options.numPredict ?? 0)
        var position = prompt.count
        let t1 = Date()
        stats.doneReason = "length"
        while stats.generatedTokens < limit {
            let row = logits.row(0)
            let id: Int32
            if let constraint {
                let g0 = DispatchTime.now().uptimeNanoseconds
                let masks = constraint.masksComputed
                id = try sampler.sample(row, history: history, constraint: constraint)
                try constraint.accept(id)
                stats.grammarMasks += constraint.masksComputed - masks
                stats.grammarDuration += Double(DispatchTime.now().uptimeNanoseconds - g0) * 1e-9
            } else {
                id = sampler.sample(row, history: history)
            }
            if tok.isEndOfGeneration(id) { stats.doneReason = "stop"; break }
            var out = GeneratedToken(id: id, piece: tok.pieceText(id), text: detok.append(id), logprob: nil,
                                     topLogprobs: [])
            if options.logprobs || options.topLogprobs > 0 {
                let lp = LogProbs(row)
                out.logprob = lp.logprob(row, id)
                out.topLogprobs = lp.top(row, options.topLogprobs).map { ($0.token, tok.pieceText($0.token), $0.logprob) }
            }
            stats.generatedTokens += 1
            history.append(id)
            guard try onToken(out) else { stats.doneReason = "stop"; break }
            // A finished grammar allows only end-of-generation next: stop without computing that step.
            if constraint?.mustEnd == true { stats.doneReason = "stop"; break }
            if stats.generatedTokens >= limit || position >= contextSize { break }
            logits = try model.forward(Batch.prompt([id], start: position), cache: cache)
            cachedTokens.append(id)
            position += 1
        }
        stats.generateDuration = Date().timeIntervalSince(t1)
        return stats
    }
}
