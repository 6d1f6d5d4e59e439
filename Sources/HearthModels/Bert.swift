import Foundation
import HearthFormats
import HearthKernels
import HearthKernelsAVX512
import HearthTensors

/// BERT (Devlin et al. 2019) as Hugging Face transformers' `BertModel` computes it (modeling_bert.py): word +
/// absolute position + token-type embeddings → LayerNorm → per layer [Q/K/V projections with bias →
/// bidirectional multi-head attention (each sequence sees only its own tokens: the padding mask) → output
/// projection → residual → LayerNorm → intermediate projection → GELU (erf) → output projection → residual →
/// LayerNorm] → last hidden states, pooled by the caller's mode. Post-LN throughout.
///
/// Batches are packed, not padded: the sequences' tokens lie back to back, so every projection is one F32 GEMM
/// over all tokens of all sequences and no work is spent on padding.
///
/// Weights come by the checkpoint's names (`encoder.layer.N.attention.self.query.weight`, optionally prefixed
/// `bert.`) or by llama.cpp's GGUF names (`blk.N.attn_q.weight`), whichever the source has.
public final class BertModel: EncoderModel, @unchecked Sendable {
    struct Layer {
        let wq, wk, wv, wo, wi, wout: Weight
        let bq, bk, bv, bo, bi, bout: UnsafePointer<Float>
        let ln1g, ln1b, ln2g, ln2b: UnsafePointer<Float>
    }

    /// A projection matrix: repacked for the outer-product GEMM where the CPU has AVX-512, else the file's view.
    struct Weight {
        let view: TensorView
        let packed: PackedF32Matrix?
        init(_ view: TensorView) {
            self.view = view
            packed = KernelISA.selected == .avx512 ? PackedF32Matrix(view) : nil
        }
    }

    public let info: ModelInfo
    public let maxPositions: Int
    public let declaredPooling: PoolingMode?
    let source: WeightSource
    let pool: ThreadPool
    let wordEmbedding, positionEmbedding: TensorView
    let typeEmbedding: TensorView?
    let embNormG, embNormB: UnsafePointer<Float>
    let layers: [Layer]
    let eps: Float
    let ffnSize: Int
    /// Where a forward pass runs: a thread pool and the scratch buffers it writes.
    struct Lane {
        let pool: ThreadPool
        let scratch: Scratch
    }
    /// The whole pool (a few sequences: every projection split by rows over all threads).
    let wide: Lane
    /// One single-thread lane per pool thread (many sequences: each thread runs whole forward passes for its
    /// share of the sequences, with no barrier between operations).
    let solo: [Lane]
    /// One forward pass at a time (the scratch buffers are shared).
    let lock = NSLock()

    public init(source: WeightSource, pool: ThreadPool) throws {
        let r = WeightReader(source: source)
        let nLayer = try r.int("bert.block_count")
        let nEmbd = try r.int("bert.embedding_length")
        let nHead = try r.int("bert.attention.head_count")
        let nFF = try r.int("bert.feed_forward_length")
        guard nLayer > 0, nEmbd > 0, nHead > 0, nEmbd % nHead == 0, nFF > 0 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: "bert.attention.head_count",
                                             expected: "positive sizes with head_count dividing embedding_length")
        }
        eps = try r.float("bert.attention.layer_norm_epsilon", default: 1e-12)
        ffnSize = nFF
        let hf = source.tensor("embeddings.word_embeddings.weight") != nil ? ""
            : (source.tensor("bert.embeddings.word_embeddings.weight") != nil ? "bert." : nil)
        /// The tensor's name in this source: the checkpoint's name when it is a HF checkpoint, else the GGUF one.
        func name(_ hfName: String, _ gguf: String) -> String { hf.map { $0 + hfName } ?? gguf }

        let word = try r.tensor(name("embeddings.word_embeddings.weight", "token_embd.weight"),
                                [nEmbd, source.tensor(name("embeddings.word_embeddings.weight", "token_embd.weight"))?.rows ?? 0])
        wordEmbedding = word
        let posName = name("embeddings.position_embeddings.weight", "position_embd.weight")
        positionEmbedding = try r.tensor(posName, [nEmbd, source.tensor(posName)?.rows ?? 0])
        maxPositions = positionEmbedding.rows
        let typeName = name("embeddings.token_type_embeddings.weight", "token_types.weight")
        typeEmbedding = try r.optionalTensor(typeName, [nEmbd, source.tensor(typeName)?.rows ?? 0])
        embNormG = try r.f32Tensor(name("embeddings.LayerNorm.weight", "token_embd_norm.weight"), nEmbd)
        embNormB = try r.f32Tensor(name("embeddings.LayerNorm.bias", "token_embd_norm.bias"), nEmbd)
        layers = try (0..<nLayer).map { i in
            let h = "encoder.layer.\(i).", g = "blk.\(i)."
            func w(_ a: String, _ b: String, _ shape: [Int]) throws -> Weight {
                let t = try r.tensor(name(h + a, g + b), shape)
                try checkMatmulType(t, source)
                return Weight(t)
            }
            func v(_ a: String, _ b: String, _ n: Int) throws -> UnsafePointer<Float> { try r.f32Tensor(name(h + a, g + b), n) }
            return Layer(wq: try w("attention.self.query.weight", "attn_q.weight", [nEmbd, nEmbd]),
                         wk: try w("attention.self.key.weight", "attn_k.weight", [nEmbd, nEmbd]),
                         wv: try w("attention.self.value.weight", "attn_v.weight", [nEmbd, nEmbd]),
                         wo: try w("attention.output.dense.weight", "attn_output.weight", [nEmbd, nEmbd]),
                         wi: try w("intermediate.dense.weight", "ffn_up.weight", [nEmbd, nFF]),
                         wout: try w("output.dense.weight", "ffn_down.weight", [nFF, nEmbd]),
                         bq: try v("attention.self.query.bias", "attn_q.bias", nEmbd),
                         bk: try v("attention.self.key.bias", "attn_k.bias", nEmbd),
                         bv: try v("attention.self.value.bias", "attn_v.bias", nEmbd),
                         bo: try v("attention.output.dense.bias", "attn_output.bias", nEmbd),
                         bi: try v("intermediate.dense.bias", "ffn_up.bias", nFF),
                         bout: try v("output.dense.bias", "ffn_down.bias", nEmbd),
                         ln1g: try v("attention.output.LayerNorm.weight", "attn_output_norm.weight", nEmbd),
                         ln1b: try v("attention.output.LayerNorm.bias", "attn_output_norm.bias", nEmbd),
                         ln2g: try v("output.LayerNorm.weight", "layer_output_norm.weight", nEmbd),
                         ln2b: try v("output.LayerNorm.bias", "layer_output_norm.bias", nEmbd))
        }
        // GGUF: bert.pooling_type is llama.cpp's enum (1 mean, 2 cls, 3 last); the HF directory maps its name.
        switch source.metadata("bert.pooling_type") {
        case .string(let s)?: declaredPooling = PoolingMode(rawValue: s)
        case let v?: declaredPooling = [1: PoolingMode.mean, 2: .cls, 3: .lastToken][v.intValue ?? 0]
        case nil: declaredPooling = nil
        }
        let params = source.tensors.reduce(0) { $0 + $1.elementCount }
        info = ModelInfo(architecture: "bert", layerCount: nLayer, embeddingSize: nEmbd, headCount: nHead,
                         headCountKV: nHead, headDim: nEmbd / nHead, vocabSize: word.rows,
                         trainedContext: maxPositions, parameterCount: params)
        self.source = source
        self.pool = pool
        wide = Lane(pool: pool, scratch: Scratch())
        solo = (0..<pool.threadCount).map { _ in Lane(pool: ThreadPool(threads: 1), scratch: Scratch()) }
    }

    func matmul(_ w: Weight, _ x: UnsafePointer<Float>, nTokens: Int, _ y: UnsafeMutablePointer<Float>, _ lane: Lane) {
        if let p = w.packed {
            HearthKernels.matmul(p, x, nTokens: nTokens, y, pool: lane.pool)
        } else {
            HearthKernels.matmul(w.view, x, nTokens: nTokens, y, pool: lane.pool)
        }
    }

    public func embed(_ sequences: [[Int32]], pooling: PoolingMode) throws -> [[Float]] {
        lock.lock()
        defer { lock.unlock() }
        if sequences.isEmpty { return [] }
        for (i, s) in sequences.enumerated() {
            guard !s.isEmpty, s.count <= maxPositions else {
                throw ModelError.invalidBatch("sequence \(i) has \(s.count) tokens; expected 1...\(maxPositions) (the model's position table)")
            }
            for id in s where id < 0 || Int(id) >= info.vocabSize {
                throw ModelError.invalidBatch("sequence \(i): token id \(id) is outside the vocabulary 0..<\(info.vocabSize)")
            }
        }
        let threads = solo.count
        if threads == 1 || sequences.count < 2 * threads {
            let hidden = try forward(sequences, wide)
            return Pooling.pool(hidden, lengths: sequences.map(\.count), dim: info.embeddingSize, mode: pooling)
        }
        // Many sequences: split them over the threads, balancing tokens (plus the quadratic attention term).
        var groups = [[Int]](repeating: [], count: threads), load = [Double](repeating: 0, count: threads)
        for i in sequences.indices.sorted(by: { sequences[$0].count > sequences[$1].count }) {
            let g = load.indices.min { load[$0] < load[$1] } ?? 0
            groups[g].append(i)
            let len = Double(sequences[i].count)
            load[g] += len + len * len / 32
        }
        var results = [[[Float]]](repeating: [], count: threads)
        var failures = [Error?](repeating: nil, count: threads)
        let dim = info.embeddingSize
        results.withUnsafeMutableBufferPointer { results in
            failures.withUnsafeMutableBufferPointer { failures in
                pool.run { t, _ in
                    let mine = groups[t].map { sequences[$0] }
                    if mine.isEmpty { return }
                    do {
                        let hidden = try forward(mine, solo[t])
                        results[t] = Pooling.pool(hidden, lengths: mine.map(\.count), dim: dim, mode: pooling)
                    } catch {
                        failures[t] = error
                    }
                }
            }
        }
        if let e = failures.compactMap({ $0 }).first { throw e }
        var out = [[Float]](repeating: [], count: sequences.count)
        for t in 0..<threads { for (j, i) in groups[t].enumerated() { out[i] = results[t][j] } }
        return out
    }

    /// The last hidden states of all tokens, packed (a scratch buffer, valid until the next call).
    func forward(_ sequences: [[Int32]], _ lane: Lane) throws -> UnsafePointer<Float> {
        let scratch = lane.scratch, pool = lane.pool
        let n = info.embeddingSize, nT = sequences.reduce(0) { $0 + $1.count }
        let x = scratch.get("x", nT * n), tmp = scratch.get("tmp", nT * n)
        let q = scratch.get("q", nT * n), k = scratch.get("k", nT * n), v = scratch.get("v", nT * n)
        let ctx = scratch.get("ctx", nT * n), ff = scratch.get("ff", nT * ffnSize)

        // Embeddings: word + position + token type 0 (single sequences), then LayerNorm.
        try getRows(wordEmbedding, sequences.flatMap { $0 }, x)
        let posIds = sequences.flatMap { s in (0..<s.count).map { Int32($0) } }
        try getRows(positionEmbedding, posIds, tmp)
        Ops.add(x, tmp, nT * n)
        if let typeEmbedding {
            try getRows(typeEmbedding, [0], tmp)
            for t in 0..<nT { Ops.add(x + t * n, tmp, n) }
        }
        Ops.layerNorm(x, gamma: embNormG, beta: embNormB, n: n, rows: nT, eps: eps)

        var starts: [Int] = [], s0 = 0
        for s in sequences { starts.append(s0); s0 += s.count }
        let lengths = sequences.map(\.count)
        for l in layers {
            matmul(l.wq, x, nTokens: nT, q, lane)
            matmul(l.wk, x, nTokens: nT, k, lane)
            matmul(l.wv, x, nTokens: nT, v, lane)
            Ops.addBias(q, l.bq, n: n, rows: nT)
            Ops.addBias(k, l.bk, n: n, rows: nT)
            Ops.addBias(v, l.bv, n: n, rows: nT)
            attention(q: q, k: k, v: v, out: ctx, starts: starts, lengths: lengths, lane)
            matmul(l.wo, ctx, nTokens: nT, tmp, lane)
            Ops.addBias(tmp, l.bo, n: n, rows: nT)
            Ops.add(x, tmp, nT * n)
            Ops.layerNorm(x, gamma: l.ln1g, beta: l.ln1b, n: n, rows: nT, eps: eps)

            matmul(l.wi, x, nTokens: nT, ff, lane)
            let f = ffnSize, bi = l.bi
            pool.run { t, threads in
                let per = (nT + threads - 1) / threads
                let r0 = min(nT, t * per), r1 = min(nT, r0 + per)
                if r0 >= r1 { return }
                Ops.addBias(ff + r0 * f, bi, n: f, rows: r1 - r0)
                Ops.geluErf(ff + r0 * f, (r1 - r0) * f)
            }
            matmul(l.wout, ff, nTokens: nT, tmp, lane)
            Ops.addBias(tmp, l.bout, n: n, rows: nT)
            Ops.add(x, tmp, nT * n)
            Ops.layerNorm(x, gamma: l.ln2g, beta: l.ln2b, n: n, rows: nT, eps: eps)
        }
        return UnsafePointer(x)
    }

    /// Scaled dot-product attention per (sequence, head), each sequence over its own tokens only; the work items
    /// are spread over the pool's threads. The AVX-512 kernel where the CPU has it and the head size is a multiple
    /// of 16, else the portable loop.
    func attention(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                   out: UnsafeMutablePointer<Float>, starts: [Int], lengths: [Int], _ lane: Lane) {
        let scratch = lane.scratch, pool = lane.pool
        let n = info.embeddingSize, heads = info.headCount, d = info.headDim
        let maxPad = ((lengths.max() ?? 0) + 15) & ~15
        let threads = pool.threadCount
        let fast = KernelISA.selected == .avx512 && d % 16 == 0 && d <= 256
        let perThread = maxPad * (d + 1)
        let scratchBase = scratch.get("attn", threads * perThread)
        let scale = 1 / Float(d).squareRoot()
        let items = lengths.count * heads
        starts.withUnsafeBufferPointer { starts in
            lengths.withUnsafeBufferPointer { lengths in
                pool.run { t, nThreads in
                    let sc = scratchBase + t * perThread
                    var item = t
                    while item < items {
                        let s = item / heads, h = item % heads
                        let base = starts[s], len = lengths[s]
                        let off = base * n + h * d
                        if fast {
                            avx512EncoderAttention(q: q + off, k: k + off, v: v + off, out: out + off, len: len, stride: n,
                                                   d: d, scale: scale, kT: sc + maxPad, scores: sc)
                        } else {
                            for i in 0..<len {
                                let qi = q + off + i * n
                                for j in 0..<len { sc[j] = Ops.dot(qi, k + off + j * n, d) * scale }
                                Ops.softmax(sc, len)
                                let o = out + off + i * n
                                for e in 0..<d { o[e] = 0 }
                                for j in 0..<len { Ops.axpy(sc[j], v + off + j * n, o, d) }
                            }
                        }
                        item += nThreads
                    }
                }
            }
        }
    }
}
