/// The key/value cache, paged: storage is a pool of fixed-size blocks of token slots shared by all sequences,
/// and each sequence owns a block table mapping its positions to slots (vLLM's PagedAttention layout, Kwon et al.
/// 2023). Freeing a sequence or sharing a prefix are block operations; blocks carry reference counts.
///
/// Prefix caching (vLLM's automatic prefix caching): a full block can be published under a `PrefixKey` (the
/// block before it, its tokens, how they were computed). A later sequence whose prompt starts with the same
/// blocks attaches to them instead of recomputing them. Published blocks nobody references stay cached until a
/// new block is needed and none is free; then the least recently released one is evicted (LRU).
///
/// Memory is reserved with `UnsafeMutablePointer.allocate` and never touched until used, so the OS maps pages
/// only as the context fills.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    /// Values per slot per layer (nHeadKV × headDim), for K and for V each.
    public let kvDim: Int
    public let blockSize: Int
    public let blockCount: Int
    /// Total token capacity (blockCount × blockSize).
    public var capacity: Int { blockCount * blockSize }

    /// IEEE half floats, as llama.cpp's default F16 cache: half the memory of F32, and the rounding the
    /// reference outputs were made with.
    let keys: [UnsafeMutablePointer<UInt16>]
    let values: [UnsafeMutablePointer<UInt16>]
    /// Blocks holding nothing worth keeping.
    private var freeBlocks: [Int32]
    private var refCounts: [Int32]
    private var tables: [Int32: [Int32]] = [:]
    private var lengths: [Int32: Int] = [:]
    /// The key each published block is findable under.
    private var blockKeys: [PrefixKey?]
    /// Bumped when a block's contents stop being what was published, so keys naming it as parent go stale.
    private var generations: [UInt32]
    private var index: [PrefixKey: Int32] = [:]
    /// Published blocks with no references, by the tick of their release (the smallest is evicted first).
    private var evictable: [Int32: UInt64] = [:]
    private var tick: UInt64 = 0

    public init(layers: Int, kvDim: Int, capacity: Int, blockSize: Int = 32) {
        self.layerCount = layers
        self.kvDim = kvDim
        self.blockSize = max(1, min(64, blockSize))
        self.blockCount = max(1, (capacity + self.blockSize - 1) / self.blockSize)
        let floats = blockCount * self.blockSize * kvDim
        keys = (0..<layers).map { _ in UnsafeMutablePointer<UInt16>.allocate(capacity: floats) }
        values = (0..<layers).map { _ in UnsafeMutablePointer<UInt16>.allocate(capacity: floats) }
        freeBlocks = (0..<Int32(blockCount)).reversed()
        refCounts = Array(repeating: 0, count: blockCount)
        blockKeys = Array(repeating: nil, count: blockCount)
        generations = Array(repeating: 0, count: blockCount)
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Number of positions stored for a sequence (0 when unknown).
    public func length(of sequence: Int32) -> Int { lengths[sequence] ?? 0 }
    public var sequences: [Int32] { Array(tables.keys) }
    /// Token slots a new sequence could take: free blocks plus cached blocks nobody references (evictable).
    public var freeSlotCount: Int { (freeBlocks.count + evictable.count) * blockSize }
    /// Blocks referenced by at least one sequence.
    public var usedBlockCount: Int { blockCount - freeBlocks.count - evictable.count }
    /// Blocks findable by prefix lookups (referenced or not).
    public var cachedBlockCount: Int { index.count }

    /// Makes room for the batch: every position must be at most the sequence's current length (positions are
    /// written in order, a sequence's first batch starts at 0), and blocks must be available. Checks everything
    /// before changing anything, so a rejected batch leaves the cache as it was.
    public func prepare(_ batch: Batch) throws {
        var newLengths: [Int32: Int] = [:]
        for i in 0..<batch.count {
            let s = batch.sequenceIds[i], p = Int(batch.positions[i])
            let len = newLengths[s] ?? lengths[s] ?? 0
            guard p >= 0, p <= len else {
                throw ModelError.invalidBatch("token \(i) of the batch is at position \(p) of sequence \(s), "
                    + "but the sequence holds \(len) positions (positions must follow on)")
            }
            if p < len, let table = tables[s], p / blockSize < table.count, refCounts[Int(table[p / blockSize])] > 1 {
                throw ModelError.invalidBatch("token \(i) of the batch rewrites position \(p) of sequence \(s), "
                    + "which is in a block shared with another sequence (truncate the sequence first)")
            }
            if p == len { newLengths[s] = len + 1 }
        }
        var needed = 0
        for (s, len) in newLengths {
            needed += (len + blockSize - 1) / blockSize - (tables[s]?.count ?? 0)
        }
        guard needed <= freeBlocks.count + evictable.count else {
            throw ModelError.contextFull("the KV cache is full: the batch needs \(needed * blockSize) more token slots, "
                + "\(freeSlotCount) are free (capacity \(capacity) tokens)")
        }
        // Rewritten positions leave their (private) block's published contents: unpublish it.
        for i in 0..<batch.count {
            let s = batch.sequenceIds[i], p = Int(batch.positions[i])
            if p < length(of: s), let table = tables[s] { unpublish(table[p / blockSize]) }
        }
        for (s, len) in newLengths {
            var table = tables[s] ?? []
            while table.count * blockSize < len, let b = allocate() {
                refCounts[Int(b)] = 1
                table.append(b)
            }
            tables[s] = table
            lengths[s] = len
        }
    }

    /// The slot holding (sequence, position). Valid after `prepare`.
    @inline(__always)
    func slot(_ sequence: Int32, _ position: Int) -> Int {
        guard let table = tables[sequence] else {
            preconditionFailure("KVCache.slot called before prepare() for sequence \(sequence)")  // programmer error
        }
        return Int(table[position / blockSize]) * blockSize + position % blockSize
    }

    func withBlockTable<R>(_ sequence: Int32, _ body: (UnsafePointer<Int32>) throws -> R) rethrows -> R {
        let table = tables[sequence] ?? [0]
        return try table.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { preconditionFailure("empty block table") }  // never empty
            return try body(base)
        }
    }

    /// The block ids of a sequence, in position order.
    public func blocks(of sequence: Int32) -> [Int32] { tables[sequence] ?? [] }

    /// Drops positions ≥ `length` of a sequence, freeing whole blocks no longer used. A kept partial block shared
    /// with another sequence is copied first (copy on write), so later writes never change what others read.
    public func truncate(_ sequence: Int32, to length: Int) throws {
        guard var table = tables[sequence], let len = lengths[sequence], length < len else { return }
        let keep = (max(0, length) + blockSize - 1) / blockSize
        while table.count > keep, let b = table.popLast() { release(b) }
        if length <= 0 {
            tables[sequence] = nil
            lengths[sequence] = nil
            return
        }
        if length % blockSize != 0, let last = table.last {
            if refCounts[Int(last)] > 1 {
                guard let copy = allocate() else {
                    throw ModelError.contextFull("the KV cache is full: truncating sequence \(sequence) needs one "
                        + "free block to copy a shared block into")
                }
                refCounts[Int(copy)] = 1
                let n = blockSize * kvDim, from = Int(last) * n, to = Int(copy) * n
                for l in 0..<layerCount {
                    (keys[l] + to).update(from: keys[l] + from, count: n)
                    (values[l] + to).update(from: values[l] + from, count: n)
                }
                release(last)
                table[table.count - 1] = copy
            } else {
                unpublish(last)
            }
        }
        tables[sequence] = table
        lengths[sequence] = length
    }

    /// Frees a sequence's blocks (published ones stay cached until evicted).
    public func remove(_ sequence: Int32) {
        guard let table = tables[sequence] else { return }
        for b in table.reversed() { release(b) }
        tables[sequence] = nil
        lengths[sequence] = nil
    }

    /// Frees every sequence and forgets every published block.
    public func clear() {
        for s in Array(tables.keys) { remove(s) }
        for b in Array(evictable.keys) { unpublish(b) }
    }

    // MARK: Prefix caching

    /// The blocks holding the longest published prefix of `tokens`, whole blocks only and at most `limit` tokens.
    /// `tiled[i]` says how token i is to be computed (see `PrefixKey.tiledMask`); it must cover `tokens`.
    public func lookupPrefix(_ tokens: [Int32], tiled: [Bool], limit: Int) -> [Int32] {
        var found: [Int32] = []
        var parent: Int32 = -1, generation: UInt32 = 0
        let blocks = min(min(tokens.count, tiled.count), limit) / blockSize
        for i in 0..<blocks {
            let key = PrefixKey(parent: parent, parentGeneration: generation, tokens: tokens, tiled: tiled,
                                start: i * blockSize, count: blockSize)
            guard let b = index[key] else { break }
            found.append(b)
            parent = b
            generation = generations[Int(b)]
        }
        return found
    }

    /// Starts the empty `sequence` on shared blocks from `lookupPrefix`: its first `blocks.count × blockSize`
    /// positions are theirs, and each block counts one more reference.
    public func attach(_ sequence: Int32, blocks: [Int32]) throws {
        guard tables[sequence] == nil else {
            throw ModelError.invalidBatch("sequence \(sequence) already holds positions; a prefix attaches to an empty one")
        }
        for b in blocks where b < 0 || Int(b) >= blockCount || blockKeys[Int(b)] == nil {
            throw ModelError.invalidBatch("block \(b) is not a cached prefix block")
        }
        guard !blocks.isEmpty else { return }
        for b in blocks {
            if refCounts[Int(b)] == 0 { evictable[b] = nil }
            refCounts[Int(b)] += 1
        }
        tables[sequence] = blocks
        lengths[sequence] = blocks.count * blockSize
    }

    /// Publishes the full blocks of `sequence` so later sequences can share them. `tokens` and `tiled` describe
    /// the sequence's positions (at least its length); blocks already published, or whose contents another block
    /// already holds, are left as they are.
    public func publish(_ sequence: Int32, tokens: [Int32], tiled: [Bool]) {
        guard let table = tables[sequence] else { return }
        let full = min(length(of: sequence), min(tokens.count, tiled.count)) / blockSize
        var parent: Int32 = -1, generation: UInt32 = 0
        for i in 0..<min(full, table.count) {
            let b = table[i]
            let key = PrefixKey(parent: parent, parentGeneration: generation, tokens: tokens, tiled: tiled,
                                start: i * blockSize, count: blockSize)
            var canonical = b
            if let existing = index[key] {
                canonical = existing
            } else if blockKeys[Int(b)] == nil {
                blockKeys[Int(b)] = key
                index[key] = b
            } else {
                return  // this block is published under another parent: the chain ends here
            }
            parent = canonical
            generation = generations[Int(canonical)]
        }
    }

    private func allocate() -> Int32? {
        if let b = freeBlocks.popLast() { return b }
        guard let victim = evictable.min(by: { $0.value < $1.value })?.key else { return nil }
        evictable[victim] = nil
        unpublish(victim)
        return victim
    }

    /// Forgets a block's published key; an unreferenced cached block becomes plainly free.
    private func unpublish(_ b: Int32) {
        guard let key = blockKeys[Int(b)] else { return }
        if index[key] == b { index[key] = nil }
        blockKeys[Int(b)] = nil
        generations[Int(b)] &+= 1
        if evictable.removeValue(forKey: b) != nil { freeBlocks.append(b) }
    }

    private func release(_ b: Int32) {
        refCounts[Int(b)] -= 1
        guard refCounts[Int(b)] == 0 else { return }
        if blockKeys[Int(b)] != nil {
            tick &+= 1
            evictable[b] = tick
        } else {
            freeBlocks.append(b)
        }
    }
}

/// What a full KV block holds, for prefix sharing: the block before it (id and generation, so an entry whose
/// parent was evicted and reused never matches), its tokens, and which of them were computed with the tiled
/// attention variant. The K/V of a token depend on every token before it and, in the last bit, on the attention
/// variant that computed the layers below, so two blocks are interchangeable only when all of that is equal.
public struct PrefixKey: Hashable, Sendable {
    public let parent: Int32
    public let parentGeneration: UInt32
    public let tokens: [Int32]
    /// Bit i set: token i of the block was computed with the tiled variant.
    public let tiledMask: UInt64

    init(parent: Int32, parentGeneration: UInt32, tokens: [Int32], tiled: [Bool], start: Int, count: Int) {
        self.parent = parent
        self.parentGeneration = parentGeneration
        self.tokens = Array(tokens[start..<(start + count)])
        var mask: UInt64 = 0
        for i in 0..<count where tiled[start + i] { mask |= 1 << UInt64(i) }
        tiledMask = mask
    }
}
