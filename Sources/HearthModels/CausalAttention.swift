import HearthKernels
import HearthKernelsAVX512
import HearthKernelsAVX2

/// Causal self-attention of every batch token against its own sequence in the paged KV cache, shared by all
/// architectures. It picks the variant llama.cpp's CPU backend would use for a batch holding only that sequence,
/// so a prompt matches it bit for bit: the tiled f32 flash attention when the sequence has ≥ 64 tokens in the
/// batch (or is named in `Batch.tiledSequences`), else the one-query-at-a-time F16 variant.
///
/// The choice is made per sequence, never from the batch size, and both variants compute each query row on its
/// own (the tiled kernel's key tiles are aligned to absolute positions and masked keys add exact zeros), so a
/// token's attention output is the same whether its sequence runs alone or beside others: batch invariance.
struct CausalAttention {
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    /// Applied to q·k (1 when the model scales q itself, as gemma3).
    let scale: Float
    /// > 0: a query sees only the last `window` positions (sliding-window layers).
    let window: Int

    /// Up to 64 queries of one sequence for the tiled kernel.
    private struct Tile {
        var sequence: Int32
        var rows: [Int32]
        var positions: [Int32]
    }

    func run(batch: Batch, cache: KVCache, layer: Int, q: UnsafeMutablePointer<Float>,
             out: UnsafeMutablePointer<Float>, pool: ThreadPool, scratch: Scratch) {
        let n = batch.count, hd = headDim, group = heads / kvHeads, heads = self.heads
        // Block tables are copied out once so worker threads only read plain memory.
        var tables: [Int32: [Int32]] = [:]
        var bySeq: [Int32: [Int32]] = [:]
        var order: [Int32] = []
        for i in 0..<n {
            let s = batch.sequenceIds[i]
            if bySeq[s] == nil { order.append(s) }
            bySeq[s, default: []].append(Int32(i))
        }
        for s in order {
            tables[s] = cache.withBlockTable(s) { p in
                Array(UnsafeBufferPointer(start: p, count: (cache.length(of: s) + cache.blockSize - 1) / cache.blockSize))
            }
        }
        let tiledPossible = (Attention.useAVX512 || Attention.useAVX2) && hd % 16 == 0
        let avx2 = !Attention.useAVX512
        var tiles: [Tile] = []
        var single: [Int32] = []
        for s in order {
            let rows = bySeq[s] ?? []
            if tiledPossible && (rows.count >= 64 || batch.tiledSequences.contains(s)) {
                for start in stride(from: 0, to: rows.count, by: 64) {
                    let r = Array(rows[start..<min(rows.count, start + 64)])
                    tiles.append(Tile(sequence: s, rows: r, positions: r.map { batch.positions[Int($0)] }))
                }
            } else {
                single.append(contentsOf: rows)
            }
        }
        let kc = cache.keys[layer], vc = cache.values[layer], kvDim = cache.kvDim, bs = cache.blockSize
        let maxKeys = single.map { Int(batch.positions[Int($0)]) + 1 }.max() ?? 1
        let perThreadSingle = maxKeys + 2 * hd
        let perThreadTiled = tiles.isEmpty ? 0 : 64 * hd * 2 + 64 * 64 + 128
        let perThread = perThreadSingle + perThreadTiled
        let buf = scratch.get("attn.scratch", perThread * pool.threadCount)
        // Keys and values of each tiled sequence as f32 tiles, once per KV head (not per query tile and head).
        var converted: [Int32: (offset: Int, tiles: Int, keys: Int)] = [:]
        var convertedFloats = 0
        for tile in tiles {
            let top = Int(tile.positions.max() ?? 0) / 64 + 1
            if let c = converted[tile.sequence] {
                converted[tile.sequence] = (c.offset, max(c.tiles, top), c.keys)
            } else {
                converted[tile.sequence] = (0, top, cache.length(of: tile.sequence))
            }
        }
        let tiledOrder = order.filter { converted[$0] != nil }
        for s in tiledOrder {
            guard let c = converted[s] else { continue }
            converted[s] = (convertedFloats, c.tiles, min(c.keys, c.tiles * 64))
            convertedFloats += c.tiles * 64 * hd * 2 * kvHeads
        }
        let kvTiles = scratch.get("attn.kvTiles", convertedFloats)
        if !tiledOrder.isEmpty {
            var jobs: [(sequence: Int32, kvHead: Int, tile: Int)] = []
            for s in tiledOrder {
                guard let c = converted[s] else { continue }
                for kh in 0..<kvHeads { for i in 0..<c.tiles { jobs.append((s, kh, i)) } }
            }
            pool.runChunks(items: jobs.count, grain: 1) { t, j0, j1 in
                for j in j0..<j1 {
                    let job = jobs[j]
                    guard let c = converted[job.sequence], let table = tables[job.sequence] else { continue }
                    let headFloats = c.tiles * 64 * hd * 2
                    let base = kvTiles + c.offset + job.kvHead * headFloats
                    table.withUnsafeBufferPointer { tb in
                        guard let tbase = tb.baseAddress else { return }
                        if avx2 {
                            avx2ConvertKVTiles(k: kc, v: vc, slotStride: kvDim, blockSize: bs, blocks: tbase,
                                               kvOffset: job.kvHead * hd, headDim: hd, count: c.keys,
                                               tileStart: job.tile, tileEnd: job.tile + 1, kTiles: base,
                                               vTiles: base + c.tiles * 64 * hd)
                            return
                        }
                        avx512ConvertKVTiles(k: kc, v: vc, slotStride: kvDim, blockSize: bs, blocks: tbase,
                                             kvOffset: job.kvHead * hd, headDim: hd, count: c.keys,
                                             tileStart: job.tile, tileEnd: job.tile + 1, kTiles: base,
                                             vTiles: base + c.tiles * 64 * hd)
                    }
                }
            }
        }
        let tileUnits = tiles.count * heads, units = tileUnits + single.count * heads
        let qDim = heads * hd, window = self.window, scale = self.scale
        // One unit (a head of a query tile or of a single token) a chunk, claimed as the threads go.
        pool.runChunks(items: units, grain: 1) { t, u0, u1 in
            for u in u0..<u1 {
                if u < tileUnits {
                    let tile = tiles[u / heads], h = u % heads
                    if let c = converted[tile.sequence] {
                        let base = kvTiles + c.offset + (h / group) * c.tiles * 64 * hd * 2
                        tile.rows.withUnsafeBufferPointer { rb in
                            tile.positions.withUnsafeBufferPointer { pb in
                                guard let rbase = rb.baseAddress, let pbase = pb.baseAddress else { return }
                                if avx2 {
                                    avx2AttendTileF32(q: q + h * hd, qStride: qDim, out: out + h * hd, outStride: qDim,
                                                      rows: rbase, positions: pbase, count: rb.count, kTiles: base,
                                                      vTiles: base + c.tiles * 64 * hd, headDim: hd, scale: scale,
                                                      window: window, scratch: buf + t * perThread + perThreadSingle)
                                    return
                                }
                                avx512AttendTileF32(q: q + h * hd, qStride: qDim, out: out + h * hd, outStride: qDim,
                                                    rows: rbase, positions: pbase, count: rb.count, kTiles: base,
                                                    vTiles: base + c.tiles * 64 * hd, headDim: hd, scale: scale,
                                                    window: window, scratch: buf + t * perThread + perThreadSingle)
                            }
                        }
                    }
                } else {
                    let v = u - tileUnits
                    let i = Int(single[v / heads]), h = v % heads
                    let table = tables[batch.sequenceIds[i]] ?? []
                    table.withUnsafeBufferPointer { tb in
                        guard let base = tb.baseAddress else { return }
                        let kv = PagedKV(k: kc, v: vc, slotStride: kvDim, blockSize: bs, blocks: base)
                        Attention.attendHead(q: q + i * qDim + h * hd, out: out + i * qDim + h * hd, kv: kv,
                                             kvHead: h / group, headDim: hd, nKeys: Int(batch.positions[i]) + 1,
                                             scale: scale, window: window, scratch: buf + t * perThread)
                    }
                }
            }
        }
    }
}
