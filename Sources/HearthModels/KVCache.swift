/// The key/value cache, paged: storage is a pool of fixed-size blocks of token slots shared by all sequences,
/// and each sequence owns a block table mapping its positions to slots (vLLM's PagedAttention layout). Freeing a
/// sequence or sharing a prefix are block operations; blocks carry reference counts for prefix sharing.
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
    private var freeBlocks: [Int32]
    private var refCounts: [Int32]
    private var tables: [Int32: [Int32]] = [:]
    private var lengths: [Int32: Int] = [:]

    public init(layers: Int, kvDim: Int, capacity: Int, blockSize: Int = 32) {
        self.layerCount = layers
        self.kvDim = kvDim
        self.blockSize = blockSize
        self.blockCount = max(1, (capacity + blockSize - 1) / blockSize)
        let floats = blockCount * blockSize * kvDim
        keys = (0..<layers).map { _ in UnsafeMutablePointer<UInt16>.allocate(capacity: floats) }
        values = (0..<layers).map { _ in UnsafeMutablePointer<UInt16>.allocate(capacity: floats) }
        freeBlocks = (0..<Int32(blockCount)).reversed()
        refCounts = Array(repeating: 0, count: blockCount)
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Number of positions stored for a sequence (0 when unknown).
    public func length(of sequence: Int32) -> Int { lengths[sequence] ?? 0 }
    public var sequences: [Int32] { Array(tables.keys) }
    public var freeSlotCount: Int { freeBlocks.count * blockSize }

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
            if p == len { newLengths[s] = len + 1 }
        }
        var needed = 0
        for (s, len) in newLengths {
            needed += (len + blockSize - 1) / blockSize - (tables[s]?.count ?? 0)
        }
        guard needed <= freeBlocks.count else {
            throw ModelError.contextFull("the KV cache is full: the batch needs \(needed * blockSize) more token slots, "
                + "\(freeSlotCount) are free (capacity \(capacity) tokens)")
        }
        for (s, len) in newLengths {
            var table = tables[s] ?? []
            while table.count * blockSize < len, let b = freeBlocks.popLast() {
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

    /// Drops positions ≥ `length` of a sequence, freeing whole blocks no longer used.
    public func truncate(_ sequence: Int32, to length: Int) {
        guard var table = tables[sequence], let len = lengths[sequence], length < len else { return }
        let keep = (max(0, length) + blockSize - 1) / blockSize
        while table.count > keep, let b = table.popLast() { release(b) }
        if length <= 0 {
            tables[sequence] = nil
            lengths[sequence] = nil
        } else {
            tables[sequence] = table
            lengths[sequence] = length
        }
    }

    public func remove(_ sequence: Int32) { truncate(sequence, to: 0) }

    public func clear() { for s in Array(tables.keys) { remove(s) } }

    private func release(_ b: Int32) {
        refCounts[Int(b)] -= 1
        if refCounts[Int(b)] == 0 { freeBlocks.append(b) }
    }
}
