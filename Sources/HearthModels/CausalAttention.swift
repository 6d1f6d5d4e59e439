import HearthKernels
import HearthKernelsAVX512

/// Causal self-attention of every batch token against its own sequence in the paged KV cache, shared by all
/// architectures. It picks the variant llama.cpp's CPU backend would use, so results match it bit for bit:
/// the tiled f32 flash attention when the batch holds ≥ 64 tokens, else the one-query-at-a-time F16 variant.
struct CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    /// Applied to q·k (1 when the model scales q itself, as gemma3).
    let scale: Float
    /// > 0: a query sees only the last `window` positions (sliding-window layers).
    let window: Int

    func run(batch: Batch, cache: KVCache, layer: Int, q: UnsafeMutablePointer<Float>,
             out: UnsafeMutablePointer<Float>, pool: ThreadPool, scratch: Scratch) {
        let n = batch.count, hd = headDim, group = heads / kvHeads
        // Block tables are copied out once so worker threads only read plain memory.
        var tables: [Int32: [Int32]] = [:]
        for s in Set(batch.sequenceIds) {
            tables[s] = cache.withBlockTable(s) { p in
                Array(UnsafeBufferPointer(start: p, count: (cache.length(of: s) + cache.blockSize - 1) / cache.blockSize))
            }
        }
        let kc = cache.keys[layer], vc = cache.values[layer], kvDim = cache.kvDim, bs = cache.blockSize
        if n >= 64, Attention.useAVX512, hd % 16 == 0 {
            runTiled(batch: batch, tables: tables, kc: kc, vc: vc, kvDim: kvDim, bs: bs, q: q, out: out, pool: pool,
                     scratch: scratch)
            return
        }
        let maxKeys = batch.positions.map { Int($0) + 1 }.max() ?? 1
        let perThread = maxKeys + 2 * hd
        let scores = scratch.get("attn.scores", perThread * pool.threadCount)
        let units = n * heads, qDim = heads * hd, window = self.window, scale = self.scale
        pool.run { t, nt in
            var u = t
            while u < units {
                let i = u / heads, h = u % heads
                let table = tables[batch.sequenceIds[i]] ?? []
                table.withUnsafeBufferPointer { tb in
                    guard let base = tb.baseAddress else { return }
                    let kv = PagedKV(k: kc, v: vc, slotStride: kvDim, blockSize: bs, blocks: base)
                    Attention.attendHead(q: q + i * qDim + h * hd, out: out + i * qDim + h * hd, kv: kv,
                                         kvHead: h / group, headDim: hd, nKeys: Int(batch.positions[i]) + 1,
                                         scale: scale, window: window, scratch: scores + t * perThread)
                }
                u += nt
            }
        }
    }

    /// Work units are (tile of ≤ 64 queries of one sequence, head), spread over the pool.
    private func runTiled(batch: Batch, tables: [Int32: [Int32]], kc: UnsafeMutablePointer<UInt16>,
                          vc: UnsafeMutablePointer<UInt16>, kvDim: Int, bs: Int, q: UnsafeMutablePointer<Float>,
                          out: UnsafeMutablePointer<Float>, pool: ThreadPool, scratch: Scratch) {
        let hd = headDim, qDim = heads * hd, group = heads / kvHeads, heads = self.heads
        var bySeq: [Int32: [Int32]] = [:]
        var order: [Int32] = []
        for i in 0..<batch.count {
            let s = batch.sequenceIds[i]
            if bySeq[s] == nil { order.append(s) }
            bySeq[s, default: []].append(Int32(i))
        }
        var tiles: [(seq: Int32, rows: [Int32], positions: [Int32])] = []
        for s in order {
            let rows = bySeq[s] ?? []
            for start in stride(from: 0, to: rows.count, by: 64) {
                let r = Array(rows[start..<min(rows.count, start + 64)])
                tiles.append((s, r, r.map { batch.positions[Int($0)] }))
            }
        }
        let perThread = 64 * hd * 4 + 64 * 64 + 128
        let buf = scratch.get("attn.tiled", perThread * pool.threadCount)
        let units = tiles.count * heads, scale = self.scale, window = self.window
        pool.run { t, nt in
            var u = t
            while u < units {
                let tile = tiles[u / heads], h = u % heads
                let table = tables[tile.seq] ?? []
                table.withUnsafeBufferPointer { tb in
                    tile.rows.withUnsafeBufferPointer { rb in
                        tile.positions.withUnsafeBufferPointer { pb in
                            guard let tbase = tb.baseAddress, let rbase = rb.baseAddress, let pbase = pb.baseAddress
                            else { return }
                            avx512AttendTileF32(q: q + h * hd, qStride: qDim, out: out + h * hd, outStride: qDim,
                                                rows: rbase, positions: pbase, count: rb.count, k: kc, v: vc,
                                                slotStride: kvDim, blockSize: bs, blocks: tbase,
                                                kvOffset: (h / group) * hd, headDim: hd, scale: scale,
                                                window: window, scratch: buf + t * perThread)
                        }
                    }
                }
                u += nt
            }
        }
    }
}
