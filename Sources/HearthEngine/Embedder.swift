import Foundation
import HearthFormats
import HearthKernels
import HearthModels
import HearthTensors
import HearthTokenizers

/// Embeddings of a batch of texts, in input order, with each text's token count (for usage reporting).
public struct EmbeddingResult: Sendable {
    public var embeddings: [[Float]]
    public var tokenCounts: [Int]
    public var totalTokens: Int { tokenCounts.reduce(0, +) }
}

/// Text → vector, for retrieval. Two kinds of model embed:
/// - an encoder in a Hugging Face directory (all-MiniLM-L6-v2 and other sentence-transformers models): its
///   tokenizer.json, its architecture from `model_type`, the pooling and normalization its sentence-transformers
///   modules declare, inputs cut to its `max_seq_length`;
/// - a GGUF language model: the mean of the final-normed hidden states over the text's tokens, L2-normalized (what
///   Ollama returns from /api/embed for an LLM).
///
/// Thread-safe: calls are serialized (one forward pass at a time on the model's thread pool). This is the API the
/// HTTP endpoints (`/api/embed`, `/api/embeddings`, `/v1/embeddings`) call.
public final class Embedder: @unchecked Sendable {
    public let path: String
    public let pool: ThreadPool
    /// The architecture name (`bert`, `llama`…).
    public let architecture: String
    /// The length of the vectors before any `dimensions` cut.
    public let dimensions: Int
    /// The longest input, in tokens; longer inputs are cut (or refused, with `truncate: false`).
    public let maxTokens: Int
    public let pooling: PoolingMode
    public let normalizes: Bool
    /// The HF directory, when the model is one.
    public let directory: HFModelDirectory?
    let encoder: EncoderModel?
    let tokenizerJSON: TokenizerJSON?
    let llm: LoadedModel?
    let lock = NSLock()

    /// Opens a model directory (config.json inside) or a GGUF file.
    public init(path: String, threads: Int? = nil) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw EngineError.fileNotFound(path) }
        if HFModelDirectory.isModelDirectory(path) {
            let dir = try HFModelDirectory(path: path)
            guard EncoderRegistry.supports(dir.modelType) else {
                throw EngineError.invalidOption("\(path): model_type '\(dir.modelType)' cannot embed (supported encoders: \(EncoderRegistry.architectures.joined(separator: ", ")))")
            }
            pool = ThreadPool(threads: threads ?? ThreadPool.defaultThreadCount)
            let enc = try EncoderRegistry.load(dir, pool: pool)
            directory = dir
            encoder = enc
            tokenizerJSON = try TokenizerJSON(path: dir.tokenizerPath)
            llm = nil
            architecture = dir.modelType
            dimensions = enc.info.embeddingSize
            maxTokens = min(dir.maxSequenceLength, enc.maxPositions)
            pooling = dir.pooling
            normalizes = dir.normalize
        } else {
            let loaded = try LoadedModel(path: path, threads: threads)
            pool = loaded.pool
            directory = nil
            encoder = nil
            tokenizerJSON = nil
            llm = loaded
            architecture = loaded.model.info.architecture
            dimensions = loaded.model.info.embeddingSize
            maxTokens = loaded.model.info.trainedContext
            pooling = .mean
            normalizes = true
        }
    }

    /// The token ids the model sees for `text` (special tokens included), before any truncation.
    public func tokenize(_ text: String) -> [Int32] {
        if let tokenizerJSON { return tokenizerJSON.encode(text) }
        return llm?.tokenize(text, addSpecial: true, parseSpecial: false) ?? []
    }

    /// Embeds `texts`. Inputs longer than `maxTokens` are cut when `truncate` (the default, as Ollama), refused
    /// otherwise. With `dimensions`, each vector keeps its first N values and is L2-normalized again (Ollama's and
    /// OpenAI's `dimensions`). Encoder inputs go `batchSize` at a time through one packed forward pass,
    /// shortest first.
    public func embed(_ texts: [String], truncate: Bool = true, dimensions requested: Int? = nil,
                      batchSize: Int = 32) throws -> EmbeddingResult {
        try embed(inputs: texts.map { .text($0) }, truncate: truncate, dimensions: requested, batchSize: batchSize)
    }

    /// Embeds texts and token sequences (OpenAI's `input` may be token arrays: here they are ids of this
    /// model's own vocabulary, used as given, special tokens included only if the caller put them there).
    /// `limit` lowers the token limit below `maxTokens` (Ollama's `num_ctx` on /api/embed).
    public func embed(inputs: [EmbeddingInput], truncate: Bool = true, dimensions requested: Int? = nil,
                      limit: Int? = nil, batchSize: Int = 32) throws -> EmbeddingResult {
        if let requested, requested < 1 || requested > dimensions {
            throw EngineError.invalidOption("dimensions must be between 1 and \(dimensions), got \(requested)")
        }
        guard batchSize >= 1 else { throw EngineError.invalidOption("batch size must be at least 1") }
        if let limit, limit < 2 { throw EngineError.invalidOption("the token limit must be at least 2, got \(limit)") }
        let maxTokens = min(self.maxTokens, limit ?? self.maxTokens)
        lock.lock()
        defer { lock.unlock() }
        var sequences: [[Int32]] = []
        for (i, input) in inputs.enumerated() {
            var ids: [Int32]
            switch input {
            case .tokens(let given):
                ids = given
                if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
                    throw EngineError.invalidOption("input \(i): token id \(bad) is outside the vocabulary 0..<\(vocabularySize)")
                }
                if ids.count > maxTokens {
                    guard truncate else { throw tooLong(i, ids.count, maxTokens) }
                    ids.removeSubrange(maxTokens...)
                }
            case .text(let text):
                if let tokenizerJSON {
                    ids = tokenizerJSON.encode(text)
                    if ids.count > maxTokens {
                        guard truncate else { throw tooLong(i, ids.count, maxTokens) }
                        ids = tokenizerJSON.encode(text, maxLength: maxTokens)
                    }
                } else {
                    ids = tokenize(text)
                    if ids.count > maxTokens {
                        guard truncate else { throw tooLong(i, ids.count, maxTokens) }
                        ids.removeSubrange(maxTokens...)
                    }
                }
            }
            guard !ids.isEmpty else { throw EngineError.invalidOption("input \(i) has no tokens to embed") }
            sequences.append(ids)
        }
        var vectors = [[Float]](repeating: [], count: inputs.count)
        if let encoder {
            let order = sequences.indices.sorted { sequences[$0].count < sequences[$1].count }
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let chunk = Array(order[start..<min(order.count, start + batchSize)])
                let out = try encoder.embed(chunk.map { sequences[$0] }, pooling: pooling)
                for (j, i) in chunk.enumerated() { vectors[i] = out[j] }
            }
        } else if let llm {
            for (i, ids) in sequences.enumerated() { vectors[i] = try llmEmbedding(llm, ids) }
        }
        for i in vectors.indices {
            if let requested { vectors[i].removeSubrange(requested...) }
            if normalizes || requested != nil { Pooling.normalize(&vectors[i]) }
        }
        return EmbeddingResult(embeddings: vectors, tokenCounts: sequences.map(\.count))
    }

    /// The number of token ids the model knows (valid ids are 0..<vocabularySize).
    public var vocabularySize: Int { encoder?.info.vocabSize ?? llm?.model.info.vocabSize ?? 0 }

    private func tooLong(_ i: Int, _ count: Int, _ limit: Int) -> EngineError {
        .invalidOption("input \(i) is \(count) tokens, longer than the model's limit of \(limit); allow truncation to cut it")
    }

    /// Mean of the final-normed hidden states of one sequence (llama.cpp's LLAMA_POOLING_TYPE_MEAN over
    /// `result_norm`).
    private func llmEmbedding(_ llm: LoadedModel, _ ids: [Int32]) throws -> [Float] {
        let cache = llm.model.makeCache(capacity: ids.count)
        var batch = Batch.prompt(ids, allLogits: true)
        batch.outputsHiddenStates = true
        let states = try llm.model.forward(batch, cache: cache)
        let e = states.vocabSize
        return states.values.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return [] }
            return Pooling.pool(base, lengths: [ids.count], dim: e, mode: .mean)[0]
        }
    }
}
