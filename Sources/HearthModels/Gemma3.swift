import Foundation
import HearthKernels
import HearthTensors

/// Gemma 3 (Gemma Team 2025), as llama.cpp builds it (src/models/gemma3.cpp): embeddings scaled by √n_embd;
/// per layer [RMSNorm → Q/K/V → per-head RMSNorm of q and k → NEOX RoPE (base 10 000 on sliding-window layers,
/// `gemma3.rope.freq_base` on global ones) → q scaled by 1/√head_dim → causal attention (the last
/// `sliding_window` positions on local layers; every sixth layer is global) → output projection → post-attention
/// RMSNorm → residual → RMSNorm → GELU(tanh)-gated FFN → post-FFN RMSNorm → residual] → final RMSNorm → output
/// (tied to the embedding when absent) → optional logit soft-capping.
public final class Gemma3Model: LanguageModel, @unchecked Sendable {
    struct Layer {
        let attnNorm, qNorm, kNorm, postAttnNorm, ffnNorm, postFFNNorm: UnsafePointer<Float>
        let wq, wk, wv, wo, gate, up, down: TensorView
        let slidingWindow: Bool
    }

    public let info: ModelInfo
    let pool: ThreadPool
    let layers: [Layer]
    let tokenEmbedding: TensorView
    let outputNorm: UnsafePointer<Float>
    let output: TensorView
    let ropeBaseGlobal: Float
    let ropeBaseLocal: Float
    let window: Int
    public var hasSlidingWindow: Bool { window > 0 }
    let eps: Float
    let ffnSize: Int
    let softcap: Float
    let scratch = Scratch()
    /// Keeps the repacked weight copies alive.
    let packed: PackedWeights

    public init(source: WeightSource, pool: ThreadPool) throws {
        let packer = PackedWeights(source: source, pool: pool)
        let r = WeightReader(source: source, packer: packer)
        packed = packer
        let a = "gemma3"
        let nLayer = try r.int("\(a).block_count")
        let nEmbd = try r.int("\(a).embedding_length")
        let nHead = try r.int("\(a).attention.head_count")
        let nHeadKV = try r.int("\(a).attention.head_count_kv", default: nHead)
        let nFF = try r.int("\(a).feed_forward_length")
        let headDim = try r.int("\(a).attention.key_length", default: nHead > 0 ? nEmbd / nHead : 0)
        guard nLayer > 0, nEmbd > 0, nHead > 0, nHeadKV > 0, nHead % nHeadKV == 0, nFF > 0,
              headDim > 0, headDim % 16 == 0, headDim <= 256 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: "\(a).attention.key_length",
                expected: "positive sizes, head_count a multiple of head_count_kv, head size a multiple of 16 ≤ 256")
        }
        ropeBaseGlobal = try r.float("\(a).rope.freq_base", default: 1_000_000)
        ropeBaseLocal = try r.float("\(a).rope.freq_base_swa", default: 10_000)
        window = try r.int("\(a).attention.sliding_window", default: 0)
        let pattern = try r.int("\(a).attention.sliding_window_pattern", default: 6)
        eps = try r.float("\(a).attention.layer_norm_rms_epsilon", default: 1e-6)
        softcap = try r.float("\(a).final_logit_softcapping", default: 0)
        ffnSize = nFF

        tokenEmbedding = try r.tensor("token_embd.weight", [nEmbd, source.tensor("token_embd.weight")?.shape.last ?? 0])
        let vocab = tokenEmbedding.rows
        outputNorm = try r.f32Tensor("output_norm.weight", nEmbd)
        output = packer.prepare(try r.optionalTensor("output.weight", [nEmbd, vocab]) ?? tokenEmbedding)
        let qDim = nHead * headDim, kvDim = nHeadKV * headDim
        let window = self.window
        layers = try (0..<nLayer).map { i in
            let p = "blk.\(i)."
            return Layer(attnNorm: try r.f32Tensor(p + "attn_norm.weight", nEmbd),
                         qNorm: try r.f32Tensor(p + "attn_q_norm.weight", headDim),
                         kNorm: try r.f32Tensor(p + "attn_k_norm.weight", headDim),
                         postAttnNorm: try r.f32Tensor(p + "post_attention_norm.weight", nEmbd),
                         ffnNorm: try r.f32Tensor(p + "ffn_norm.weight", nEmbd),
                         postFFNNorm: try r.f32Tensor(p + "post_ffw_norm.weight", nEmbd),
                         wq: try r.weight(p + "attn_q.weight", [nEmbd, qDim]),
                         wk: try r.weight(p + "attn_k.weight", [nEmbd, kvDim]),
                         wv: try r.weight(p + "attn_v.weight", [nEmbd, kvDim]),
                         wo: try r.weight(p + "attn_output.weight", [qDim, nEmbd]),
                         gate: try r.weight(p + "ffn_gate.weight", [nEmbd, nFF]),
                         up: try r.weight(p + "ffn_up.weight", [nEmbd, nFF]),
                         down: try r.weight(p + "ffn_down.weight", [nFF, nEmbd]),
                         // llama.cpp's set_swa_pattern: layer i is local unless i % pattern == pattern - 1.
                         slidingWindow: window > 0 && (pattern == 0 || i % pattern < pattern - 1))
        }
        for l in layers { for t in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down] { try checkMatmulType(t, source) } }
        try checkMatmulType(output, source)
        info = ModelInfo(architecture: a, layerCount: nLayer, embeddingSize: nEmbd, headCount: nHead,
                         headCountKV: nHeadKV, headDim: headDim, vocabSize: vocab,
                         trainedContext: try r.int("\(a).context_length", default: 8192),
                         parameterCount: source.tensors.reduce(0) { $0 + $1.elementCount })
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
        let e = info.embeddingSize, hd = info.headDim, nHead = info.headCount, nKV = info.headCountKV
        let qDim = nHead * hd, kvDim = nKV * hd
        let x = scratch.get("x", n * e), xn = scratch.get("xn", n * e), tmp = scratch.get("tmp", n * e)
        let q = scratch.get("q", n * qDim), k = scratch.get("k", n * kvDim), v = scratch.get("v", n * kvDim)
        let att = scratch.get("att", n * qDim)
        let gate = scratch.get("gate", n * ffnSize), up = scratch.get("up", n * ffnSize)
        let half = hd / 2
        let cosG = scratch.get("cosG", n * half), sinG = scratch.get("sinG", n * half)
        let cosL = scratch.get("cosL", n * half), sinL = scratch.get("sinL", n * half)

        try getRows(tokenEmbedding, batch.tokens, x)
        let embScale = Float(e).squareRoot()
        for i in 0..<(n * e) { x[i] *= embScale }
        DebugDump.write("inp_scaled", x, n * e)
        for i in 0..<n {
            let pos = Int(batch.positions[i])
            Ops.ropeAngles(position: pos, dims: hd, base: ropeBaseGlobal, cos: cosG + i * half, sin: sinG + i * half)
            Ops.ropeAngles(position: pos, dims: hd, base: ropeBaseLocal, cos: cosL + i * half, sin: sinL + i * half)
        }
        let slots = (0..<n).map { cache.slot(batch.sequenceIds[$0], Int(batch.positions[$0])) }
        let qScale = 1 / Float(hd).squareRoot()
        let place = batch.kernelPlacement

        for (li, l) in layers.enumerated() {
            let dump = DebugDump.write
            Ops.rmsNorm(x, l.attnNorm, xn, n: e, rows: n, eps: eps, pool: pool)
            dump("attn_norm-\(li)", xn, n * e)
            matmul(l.wq, xn, nTokens: n, q, pool: pool, placement: place)
            matmul(l.wk, xn, nTokens: n, k, pool: pool, placement: place)
            matmul(l.wv, xn, nTokens: n, v, pool: pool, placement: place)
            Ops.rmsNorm(q, l.qNorm, q, n: hd, rows: n * nHead, eps: eps, pool: pool)
            Ops.rmsNorm(k, l.kNorm, k, n: hd, rows: n * nKV, eps: eps, pool: pool)
            dump("Qcur_normed-\(li)", q, n * qDim); dump("Kcur_normed-\(li)", k, n * kvDim); dump("Vcur-\(li)", v, n * kvDim)
            let (cs, sn) = l.slidingWindow ? (cosL, sinL) : (cosG, sinG)
            let kc = cache.keys[li], vc = cache.values[li]
            for i in 0..<n {
                Ops.ropeNeox(q + i * qDim, heads: nHead, headDim: hd, dims: hd, cos: cs + i * half, sin: sn + i * half)
                Ops.ropeNeox(k + i * kvDim, heads: nKV, headDim: hd, dims: hd, cos: cs + i * half, sin: sn + i * half)
                Ops.toHalf(k + i * kvDim, kc + slots[i] * kvDim, kvDim)
                Ops.toHalf(v + i * kvDim, vc + slots[i] * kvDim, kvDim)
            }
            for i in 0..<(n * qDim) { q[i] *= qScale }
            let attention = CausalAttention(heads: nHead, kvHeads: nKV, headDim: hd, scale: 1,
                                            window: l.slidingWindow ? window : 0)
            dump("Qrope-\(li)", q, n * qDim); dump("Krope-\(li)", k, n * kvDim)
            attention.run(batch: batch, cache: cache, layer: li, q: q, out: att, pool: pool, scratch: scratch)
            dump("kqv_out-\(li)", att, n * qDim)
            matmul(l.wo, att, nTokens: n, tmp, pool: pool, placement: place)
            dump("attn_out-\(li)", tmp, n * e)
            Ops.rmsNorm(tmp, l.postAttnNorm, tmp, n: e, rows: n, eps: eps, pool: pool)
            Ops.add(x, tmp, n * e)
            // The last layer's FFN runs on the rows that want logits only (see keepLogitRows).
            let nf = li == layers.count - 1 ? keepLogitRows(batch, x, width: e) : n
            let ffnPlace = li == layers.count - 1 ? logitPlacement(batch) : place

            Ops.rmsNorm(x, l.ffnNorm, xn, n: e, rows: nf, eps: eps, pool: pool)
            matmul(l.gate, xn, nTokens: nf, gate, pool: pool, placement: ffnPlace)
            matmul(l.up, xn, nTokens: nf, up, pool: pool, placement: ffnPlace)
            dump("ffn_gate-\(li)", gate, nf * ffnSize); dump("ffn_up-\(li)", up, nf * ffnSize)
            Ops.geglu(gate, up, nf * ffnSize, pool: pool)
            dump("ffn_geglu-\(li)", gate, nf * ffnSize)
            matmul(l.down, gate, nTokens: nf, tmp, pool: pool, placement: ffnPlace)
            dump("ffn_out-\(li)", tmp, nf * e)
            Ops.rmsNorm(tmp, l.postFFNNorm, tmp, n: e, rows: nf, eps: eps, pool: pool)
            Ops.add(x, tmp, nf * e)
            dump("l_out-\(li)", x, nf * e)
        }
        var logits = finalLogits(batch: batch, x: x, xn: xn, outputNorm: outputNorm, output: output, eps: eps,
                                 vocabSize: info.vocabSize, pool: pool)
        if softcap > 0 && !batch.outputsHiddenStates {
            for i in logits.values.indices { logits.values[i] = tanhf(logits.values[i] / softcap) * softcap }
        }
        return logits
    }
}
