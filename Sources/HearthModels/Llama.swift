import Foundation
import HearthKernels
import HearthKernelsAVX512
import HearthTensors

/// The llama architecture (Touvron et al. 2023), as llama.cpp builds it (src/models/llama.cpp): token
/// embedding → per layer [RMSNorm → Q/K/V projections → RoPE (normal pairing) → grouped-query causal attention →
/// output projection → residual → RMSNorm → SwiGLU FFN → residual] → final RMSNorm → output projection (tied to
/// the embedding when `output.weight` is absent). SmolLM2 is a llama.
/// Architectures that are this graph with small changes (qwen2) pass a `DecoderOptions` instead of copying it.
public struct DecoderOptions: Sendable {
    public enum RopeStyle: Sendable { case normal, neox }
    /// The `general.architecture` name, also the metadata key prefix (`llama.block_count`…).
    public var architecture: String
    public var rope: RopeStyle
    /// Whether `blk.N.attn_{q,k,v}.bias` (F32) are required and added after the projections.
    public var qkvBias: Bool

    public init(architecture: String, rope: RopeStyle, qkvBias: Bool) {
        self.architecture = architecture
        self.rope = rope
        self.qkvBias = qkvBias
    }

    public static let llama = DecoderOptions(architecture: "llama", rope: .normal, qkvBias: false)
}

public final class LlamaModel: LanguageModel, @unchecked Sendable {
    struct Layer {
        let attnNorm: UnsafePointer<Float>
        let wq, wk, wv, wo: TensorView
        let bq, bk, bv: UnsafePointer<Float>?
        let ffnNorm: UnsafePointer<Float>
        let gate, up, down: TensorView
    }

    public let info: ModelInfo
    let source: WeightSource
    let pool: ThreadPool
    let layers: [Layer]
    let tokenEmbedding: TensorView
    let outputNorm: UnsafePointer<Float>
    let output: TensorView
    let outputBias: UnsafePointer<Float>?
    let options: DecoderOptions
    let ropeDims: Int
    let ropeBase: Float
    let ropeScale: Float
    let eps: Float
    let ffnSize: Int
    let scratch = Scratch()
    /// Keeps the repacked weight copies alive.
    let packed: PackedWeights

    public init(source: WeightSource, pool: ThreadPool, options: DecoderOptions = .llama) throws {
        let packer = PackedWeights(source: source, pool: pool)
        let r = WeightReader(source: source, packer: packer)
        packed = packer
        let a = options.architecture
        self.options = options
        let nLayer = try r.int("\(a).block_count")
        let nEmbd = try r.int("\(a).embedding_length")
        let nHead = try r.int("\(a).attention.head_count")
        let nHeadKV = try r.int("\(a).attention.head_count_kv", default: nHead)
        let nFF = try r.int("\(a).feed_forward_length")
        guard nLayer > 0, nEmbd > 0, nHead > 0, nHeadKV > 0, nHead % nHeadKV == 0, nEmbd % nHead == 0, nFF > 0 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: "\(a).attention.head_count",
                expected: "positive sizes with head_count dividing embedding_length and a multiple of head_count_kv")
        }
        let headDim = try r.int("\(a).attention.key_length", default: nEmbd / nHead)
        guard headDim > 0, headDim % 2 == 0, headDim <= 1024 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: "\(a).attention.key_length",
                                             expected: "an even head size ≤ 1024")
        }
        ropeDims = try r.int("\(a).rope.dimension_count", default: headDim)
        guard ropeDims > 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: "\(a).rope.dimension_count",
                                             expected: "an even number ≤ head size \(headDim)")
        }
        ropeBase = try r.float("\(a).rope.freq_base", default: 10000)
        let scaleType = source.metadata("\(a).rope.scaling.type")?.stringValue ?? "none"
        let factor = try r.float("\(a).rope.scaling.factor", default: 0)
        ropeScale = (scaleType == "linear" && factor > 0) ? 1 / factor : 1
        eps = try r.float("\(a).attention.layer_norm_rms_epsilon", default: 1e-5)
        ffnSize = nFF

        tokenEmbedding = try r.tensor("token_embd.weight", [nEmbd, source.tensor("token_embd.weight")?.shape.last ?? 0])
        let vocab = tokenEmbedding.rows
        outputNorm = try r.f32Tensor("output_norm.weight", nEmbd)
        output = packer.prepare(try r.optionalTensor("output.weight", [nEmbd, vocab]) ?? tokenEmbedding)
        outputBias = source.tensor("output.bias") == nil ? nil : try r.f32Tensor("output.bias", vocab)
        let qDim = nHead * headDim, kvDim = nHeadKV * headDim
        layers = try (0..<nLayer).map { i in
            let p = "blk.\(i)."
            return Layer(attnNorm: try r.f32Tensor(p + "attn_norm.weight", nEmbd),
                         wq: try r.weight(p + "attn_q.weight", [nEmbd, qDim]),
                         wk: try r.weight(p + "attn_k.weight", [nEmbd, kvDim]),
                         wv: try r.weight(p + "attn_v.weight", [nEmbd, kvDim]),
                         wo: try r.weight(p + "attn_output.weight", [qDim, nEmbd]),
                         bq: options.qkvBias ? try r.f32Tensor(p + "attn_q.bias", qDim) : nil,
                         bk: options.qkvBias ? try r.f32Tensor(p + "attn_k.bias", kvDim) : nil,
                         bv: options.qkvBias ? try r.f32Tensor(p + "attn_v.bias", kvDim) : nil,
                         ffnNorm: try r.f32Tensor(p + "ffn_norm.weight", nEmbd),
                         gate: try r.weight(p + "ffn_gate.weight", [nEmbd, nFF]),
                         up: try r.weight(p + "ffn_up.weight", [nEmbd, nFF]),
                         down: try r.weight(p + "ffn_down.weight", [nFF, nEmbd]))
        }
        for l in layers { for t in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down] { try checkMatmulType(t, source) } }
        try checkMatmulType(output, source)
        let params = source.tensors.reduce(0) { $0 + $1.elementCount }
        info = ModelInfo(architecture: a, layerCount: nLayer, embeddingSize: nEmbd, headCount: nHead,
                         headCountKV: nHeadKV, headDim: headDim, vocabSize: vocab,
                         trainedContext: try r.int("\(a).context_length", default: 2048), parameterCount: params)
        self.source = source
        self.pool = pool
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: info.layerCount, kvDim: info.headCountKV * info.headDim, capacity: capacity)
    }

    public func forward(_ batch: Batch, cache: KVCache) throws -> Logits {
        let n = batch.count
        guard n > 0 else { return Logits(vocabSize: info.vocabSize, values: [], batchIndices: []) }
        try validate(batch, vocabSize: info.vocabSize)
        try cache.prepare(batch)

        let e = info.embeddingSize, hd = info.headDim
        let qDim = info.headCount * hd, kvDim = info.headCountKV * hd
        let x = scratch.get("x", n * e), xn = scratch.get("xn", n * e)
        let q = scratch.get("q", n * qDim), k = scratch.get("k", n * kvDim), v = scratch.get("v", n * kvDim)
        let att = scratch.get("att", n * qDim), tmp = scratch.get("tmp", n * e)
        let gate = scratch.get("gate", n * ffnSize), up = scratch.get("up", n * ffnSize)
        let half = ropeDims / 2
        let cosT = scratch.get("cos", n * half), sinT = scratch.get("sin", n * half)

        try getRows(tokenEmbedding, batch.tokens, x)
        for i in 0..<n {
            Ops.ropeAngles(position: Int(batch.positions[i]), dims: ropeDims, base: ropeBase, freqScale: ropeScale,
                           cos: cosT + i * half, sin: sinT + i * half)
        }
        let slots = (0..<n).map { cache.slot(batch.sequenceIds[$0], Int(batch.positions[$0])) }

        let dump = DebugDump.write
        let place = batch.kernelPlacement
        dump("inp_embd", x, n * e)
        for (li, l) in layers.enumerated() {
            Ops.rmsNorm(x, l.attnNorm, xn, n: e, rows: n, eps: eps, pool: pool)
            dump("attn_norm-\(li)", xn, n * e)
            matmul(l.wq, xn, nTokens: n, q, pool: pool, placement: place)
            matmul(l.wk, xn, nTokens: n, k, pool: pool, placement: place)
            matmul(l.wv, xn, nTokens: n, v, pool: pool, placement: place)
            if let b = l.bq { for i in 0..<n { Ops.add(q + i * qDim, b, qDim) } }
            if let b = l.bk { for i in 0..<n { Ops.add(k + i * kvDim, b, kvDim) } }
            if let b = l.bv { for i in 0..<n { Ops.add(v + i * kvDim, b, kvDim) } }
            dump("Qcur-\(li)", q, n * qDim); dump("Kcur-\(li)", k, n * kvDim); dump("Vcur-\(li)", v, n * kvDim)
            let kc = cache.keys[li], vc = cache.values[li]
            let rope = options.rope == .neox ? Ops.ropeNeox : Ops.ropeNormal
            for i in 0..<n {
                rope(q + i * qDim, info.headCount, hd, ropeDims, cosT + i * half, sinT + i * half)
                rope(k + i * kvDim, info.headCountKV, hd, ropeDims, cosT + i * half, sinT + i * half)
                Ops.toHalf(k + i * kvDim, kc + slots[i] * kvDim, kvDim)
                Ops.toHalf(v + i * kvDim, vc + slots[i] * kvDim, kvDim)
            }
            dump("Qrope-\(li)", q, n * qDim); dump("Krope-\(li)", k, n * kvDim)
            CausalAttention(heads: info.headCount, kvHeads: info.headCountKV, headDim: hd,
                            scale: 1 / Float(hd).squareRoot(), window: 0)
                .run(batch: batch, cache: cache, layer: li, q: q, out: att, pool: pool, scratch: scratch)
            dump("kqv_out-\(li)", att, n * qDim)
            matmul(l.wo, att, nTokens: n, tmp, pool: pool, placement: place)
            dump("attn_out-\(li)", tmp, n * e)
            Ops.add(x, tmp, n * e)
            // The last layer's FFN runs on the rows that want logits only (see keepLogitRows).
            let nf = li == layers.count - 1 ? keepLogitRows(batch, x, width: e) : n
            let ffnPlace = li == layers.count - 1 ? logitPlacement(batch) : place
            dump("ffn_inp-\(li)", x, nf * e)

            Ops.rmsNorm(x, l.ffnNorm, xn, n: e, rows: nf, eps: eps, pool: pool)
            matmul(l.gate, xn, nTokens: nf, gate, pool: pool, placement: ffnPlace)
            matmul(l.up, xn, nTokens: nf, up, pool: pool, placement: ffnPlace)
            dump("ffn_gate-\(li)", gate, nf * ffnSize); dump("ffn_up-\(li)", up, nf * ffnSize)
            Ops.swiglu(gate, up, nf * ffnSize)
            dump("ffn_swiglu-\(li)", gate, nf * ffnSize)
            matmul(l.down, gate, nTokens: nf, tmp, pool: pool, placement: ffnPlace)
            dump("ffn_out-\(li)", tmp, nf * e)
            Ops.add(x, tmp, nf * e)
            dump("l_out-\(li)", x, nf * e)
        }
        return finalLogits(batch: batch, x: x, xn: xn, outputNorm: outputNorm, output: output, bias: outputBias,
                           eps: eps, vocabSize: info.vocabSize, pool: pool)
    }


}

/// Rejects weight types the matmul kernels cannot multiply, naming the tensor.
func checkMatmulType(_ t: TensorView, _ source: WeightSource) throws {
    switch t.type {
    case .q8_1, .q8_K:
        throw ModelError.badTensor(source: source.sourceName, name: t.name,
                                   expected: "a weight type (found activation type \(t.type))")
    default: return
    }
}
