import HearthKernels
import HearthTensors

/// Token ids must be inside the vocabulary and the batch's arrays the same length.
func validate(_ batch: Batch, vocabSize: Int) throws {
    let n = batch.count
    guard batch.positions.count == n, batch.sequenceIds.count == n, batch.wantsLogits.count == n else {
        throw ModelError.invalidBatch("tokens, positions, sequence ids and logit flags differ in length")
    }
    for (i, t) in batch.tokens.enumerated() where t < 0 || Int(t) >= vocabSize {
        throw ModelError.invalidBatch("token \(i) has id \(t), outside the vocabulary (0..<\(vocabSize))")
    }
    if let p = batch.kernelPlacement {
        guard p.count == n else {
            throw ModelError.invalidBatch("kernel placement has \(p.count) entries for \(n) tokens")
        }
        if let i = p.firstIndex(where: { !$0.isValid }) {
            throw ModelError.invalidBatch("kernel placement of token \(i) is row \(p[i].index) of \(p[i].count)")
        }
    }
}

/// The kernel placement of the rows that want logits, in order (nil when the batch has none): llama.cpp
/// computes the last layer's FFN and the output projection on a ubatch's logit rows only, so each such row
/// counts as one of its own sequence's logit rows in this batch.
func logitPlacement(_ batch: Batch) -> [KernelPlacement]? {
    guard batch.kernelPlacement != nil else { return nil }
    var counts: [Int32: Int] = [:], seen: [Int32: Int] = [:]
    for (i, wants) in batch.wantsLogits.enumerated() where wants { counts[batch.sequenceIds[i], default: 0] += 1 }
    var out: [KernelPlacement] = []
    for (i, wants) in batch.wantsLogits.enumerated() where wants {
        let s = batch.sequenceIds[i]
        out.append(KernelPlacement(index: seen[s, default: 0], count: counts[s, default: 1]))
        seen[s, default: 0] += 1
    }
    return out
}

/// Moves the rows of `x` (`width` floats each) of the batch entries that want logits to the front, in order, and
/// returns how many there are. llama.cpp does this in the last layer right after the attention
/// (`inp_out_ids`, src/models/*.cpp), so the last FFN multiplies only those rows; since ggml's K-quant matmuls
/// pick their kernel (and so their float arithmetic) from the row count, Hearth must do the same to give the same
/// bits.
func keepLogitRows(_ batch: Batch, _ x: UnsafeMutablePointer<Float>, width: Int) -> Int {
    var j = 0
    for (i, wants) in batch.wantsLogits.enumerated() where wants {
        if i != j { (x + j * width).update(from: x + i * width, count: width) }
        j += 1
    }
    return j
}

/// Final norm and output projection for the batch entries that want logits only; `x` holds only their rows, in
/// order, after `keepLogitRows`.
func finalLogits(batch: Batch, x: UnsafeMutablePointer<Float>, xn: UnsafeMutablePointer<Float>,
                 outputNorm: UnsafePointer<Float>, output: TensorView, bias: UnsafePointer<Float>? = nil,
                 eps: Float, vocabSize: Int, pool: ThreadPool) -> Logits {
    let e = output.columns
    let rows = batch.wantsLogits.indices.filter { batch.wantsLogits[$0] }
    for j in rows.indices {
        Ops.rmsNorm(x + j * e, outputNorm, xn + j * e, n: e, rows: 1, eps: eps)
    }
    if batch.outputsHiddenStates {
        return Logits(vocabSize: e, values: Array(UnsafeBufferPointer(start: xn, count: rows.count * e)), batchIndices: rows)
    }
    // Not zero-filled first: the matmul writes every entry (at 8 streams of a 150k vocabulary the fill alone was
    // a 5 MB memset a step on the caller's thread).
    let values = [Float](unsafeUninitializedCapacity: rows.count * vocabSize) { buf, initialized in
        if let base = buf.baseAddress, !rows.isEmpty {
            matmul(output, xn, nTokens: rows.count, base, pool: pool, placement: logitPlacement(batch))
            if let b = bias {
                for j in 0..<rows.count { Ops.add(base + j * vocabSize, b, vocabSize) }
            }
        }
        initialized = rows.count * vocabSize
    }
    return Logits(vocabSize: vocabSize, values: values, batchIndices: rows)
}
