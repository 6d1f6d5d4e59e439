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
}

/// Final norm and output projection for the batch entries that want logits only.
func finalLogits(batch: Batch, x: UnsafeMutablePointer<Float>, xn: UnsafeMutablePointer<Float>,
                 outputNorm: UnsafePointer<Float>, output: TensorView, bias: UnsafePointer<Float>? = nil,
                 eps: Float, vocabSize: Int, pool: ThreadPool) -> Logits {
    let e = output.columns
    let rows = batch.wantsLogits.indices.filter { batch.wantsLogits[$0] }
    for (j, i) in rows.enumerated() {
        Ops.rmsNorm(x + i * e, outputNorm, xn + j * e, n: e, rows: 1, eps: eps)
    }
    if batch.outputsHiddenStates {
        return Logits(vocabSize: e, values: Array(UnsafeBufferPointer(start: xn, count: rows.count * e)), batchIndices: rows)
    }
    var values = [Float](repeating: 0, count: rows.count * vocabSize)
    if !rows.isEmpty {
        values.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            matmul(output, xn, nTokens: rows.count, base, pool: pool)
            if let b = bias {
                for j in 0..<rows.count { Ops.add(base + j * vocabSize, b, vocabSize) }
            }
        }
    }
    return Logits(vocabSize: vocabSize, values: values, batchIndices: rows)
}
