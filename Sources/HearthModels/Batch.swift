import HearthKernels

/// One forward pass's input: tokens from any number of sequences, as llama.cpp's `llama_batch`. A prompt's
/// prefill is one batch; a decode step of eight streams is one batch of eight; mixes are fine.
public struct Batch: Sendable {
    public var tokens: [Int32] = []
    public var positions: [Int32] = []
    public var sequenceIds: [Int32] = []
    public var wantsLogits: [Bool] = []
    /// Return, for the entries that want logits, the final-normed hidden states (`embeddingSize` floats each)
    /// instead of logits: what llama.cpp's embedding mode pools (`result_norm`), for embedding with an LLM.
    public var outputsHiddenStates = false
    /// Sequences whose tokens in this batch take the tiled (f32) attention variant even when the batch holds fewer
    /// than 64 of them. The variant is chosen per sequence, never from the whole batch, so a token's result does
    /// not depend on what else runs beside it (see `CausalAttention`); a scheduler that splits a long prompt into
    /// chunks names the sequence here so that every chunk computes what the whole prompt in one batch would.
    public var tiledSequences: Set<Int32> = []
    /// Per entry (nil: every token where it is in this batch): the token's row and the row count of the matmul
    /// llama.cpp gives it when its own sequence runs alone. ggml's K-quant matmuls pick their float arithmetic by
    /// their row count (KQuantMatmul.swift), so a scheduler that mixes sequences names each token's own place
    /// (a decode token: alone; a prompt token: its place in the prompt's `promptPieces`) and the results do not
    /// depend on what runs beside it. The rows that want logits then count as computed together per sequence.
    public var kernelPlacement: [KernelPlacement]?

    public init() {}

    public var count: Int { tokens.count }
    public var isEmpty: Bool { tokens.isEmpty }
    public var logitCount: Int { wantsLogits.reduce(0) { $0 + ($1 ? 1 : 0) } }

    public mutating func append(token: Int32, position: Int, sequence: Int32, wantsLogits: Bool) {
        tokens.append(token)
        positions.append(Int32(truncatingIfNeeded: position))
        sequenceIds.append(sequence)
        self.wantsLogits.append(wantsLogits)
    }

    /// A prompt for one sequence starting at `start`, logits for the last token only (or all when `allLogits`).
    public static func prompt(_ tokens: [Int32], sequence: Int32 = 0, start: Int = 0, allLogits: Bool = false) -> Batch {
        var b = Batch()
        for (i, t) in tokens.enumerated() {
            b.append(token: t, position: start + i, sequence: sequence, wantsLogits: allLogits || i == tokens.count - 1)
        }
        return b
    }
}

extension Batch {
    /// The pieces llama.cpp evaluates an `count`-token prompt in. ggml's K-quant matmuls choose their float
    /// arithmetic by the number of rows they get (ExactQ4K.swift), so giving the model the same pieces gives the
    /// same bits. llama-server (tools/server/server-context.cpp, `update_slots`) fills batches of at most
    /// n_batch = 2048 tokens and, for models with sliding-window attention (to place context checkpoints), also
    /// ends a batch where 4 + n_ubatch or 4 prompt tokens remain; `llama_decode` then runs each batch in ubatches
    /// of n_ubatch = 512 tokens.
    public static func promptPieces(count n: Int, slidingWindow: Bool) -> [Range<Int>] {
        let nBatch = 2048, nUbatch = 512
        var pieces: [Range<Int>] = []
        var start = 0
        while start < n {
            var end = start
            while end < n && end - start < nBatch {
                end += 1
                if slidingWindow && (n - end == min(nBatch, 4 + nUbatch) || n - end == min(nBatch, 4)) { break }
            }
            for u in stride(from: start, to: end, by: nUbatch) { pieces.append(u..<min(u + nUbatch, end)) }
            start = end
        }
        return pieces
    }
}

/// Logits for the batch entries that asked for them, in batch order: row `i` belongs to the i-th such entry.
public struct Logits: Sendable {
    public let vocabSize: Int
    public var values: [Float]
    /// Batch index of each row.
    public let batchIndices: [Int]

    public init(vocabSize: Int, values: [Float], batchIndices: [Int]) {
        self.vocabSize = vocabSize; self.values = values; self.batchIndices = batchIndices
    }

    public var rowCount: Int { batchIndices.count }

    public func row(_ i: Int) -> ArraySlice<Float> { values[(i * vocabSize)..<((i + 1) * vocabSize)] }
}
