import HearthModels
import XCTest

/// The paged KV cache's prefix sharing on its own (no model): lookups find only whole published blocks with the
/// same history and attention variant, shared blocks are reference-counted, unreferenced cached blocks are evicted
/// least recently released first, and a truncated shared block is copied before it can be written.
final class PrefixCacheTests: XCTestCase {
    let bs = 4

    func fill(_ cache: KVCache, _ seq: Int32, _ count: Int, from start: Int = 0) throws {
        var b = Batch()
        for p in start..<(start + count) { b.append(token: 0, position: p, sequence: seq, wantsLogits: false) }
        try cache.prepare(b)
    }

    func testLookupAttachAndReferenceCounts() throws {
        let cache = KVCache(layers: 1, kvDim: 2, capacity: 8 * bs, blockSize: bs)
        let tokens: [Int32] = Array(0..<10), tiled = [Bool](repeating: false, count: 10)
        try fill(cache, 0, 10)
        XCTAssertEqual(cache.usedBlockCount, 3)
        XCTAssertEqual(cache.lookupPrefix(tokens, tiled: tiled, limit: 10), [], "nothing published yet")
        cache.publish(0, tokens: tokens, tiled: tiled)
        XCTAssertEqual(cache.cachedBlockCount, 2, "only the two full blocks")
        let found = cache.lookupPrefix(tokens, tiled: tiled, limit: 9)
        XCTAssertEqual(found, Array(cache.blocks(of: 0).prefix(2)))
        XCTAssertEqual(cache.lookupPrefix(tokens, tiled: tiled, limit: 7).count, 1, "the limit counts whole blocks")
        // Another history (first token differs) or another attention variant finds nothing.
        var other = tokens; other[0] = 99
        XCTAssertEqual(cache.lookupPrefix(other, tiled: tiled, limit: 9), [])
        XCTAssertEqual(cache.lookupPrefix(tokens, tiled: [Bool](repeating: true, count: 10), limit: 9), [])
        // A second sequence shares the blocks: no new blocks until it grows past them.
        try cache.attach(1, blocks: found)
        XCTAssertEqual(cache.length(of: 1), 8)
        XCTAssertEqual(cache.usedBlockCount, 3)
        try fill(cache, 1, 1, from: 8)
        XCTAssertEqual(cache.usedBlockCount, 4)
        // Rewriting a shared position is refused.
        var rewrite = Batch()
        rewrite.append(token: 0, position: 2, sequence: 1, wantsLogits: false)
        XCTAssertThrowsError(try cache.prepare(rewrite))
        cache.remove(0)
        XCTAssertEqual(cache.usedBlockCount, 3, "the shared blocks stay referenced by sequence 1")
        cache.remove(1)
        XCTAssertEqual(cache.usedBlockCount, 0)
        XCTAssertEqual(cache.cachedBlockCount, 2, "published blocks stay cached after their sequences end")
        XCTAssertEqual(cache.freeSlotCount, cache.capacity)
        XCTAssertEqual(cache.lookupPrefix(tokens, tiled: tiled, limit: 9).count, 2)
    }

    func testUnreferencedCachedBlocksAreEvictedLeastRecentlyReleasedFirst() throws {
        let cache = KVCache(layers: 1, kvDim: 2, capacity: 4 * bs, blockSize: bs)
        let a: [Int32] = [1, 2, 3, 4], b: [Int32] = [5, 6, 7, 8], f = [Bool](repeating: false, count: 4)
        try fill(cache, 0, 4); cache.publish(0, tokens: a, tiled: f); cache.remove(0)
        try fill(cache, 1, 4); cache.publish(1, tokens: b, tiled: f); cache.remove(1)
        XCTAssertEqual(cache.cachedBlockCount, 2)
        // Three blocks needed, two free: the least recently released cached block (a) goes.
        try fill(cache, 2, 12)
        XCTAssertEqual(cache.lookupPrefix(a, tiled: f, limit: 4), [])
        XCTAssertEqual(cache.lookupPrefix(b, tiled: f, limit: 4).count, 1)
        // A full cache refuses a batch it cannot place, and leaves everything as it was.
        XCTAssertThrowsError(try fill(cache, 3, 8))
        XCTAssertEqual(cache.length(of: 3), 0)
        XCTAssertEqual(cache.lookupPrefix(b, tiled: f, limit: 4).count, 1)
    }

    func testTruncatingIntoASharedBlockCopiesIt() throws {
        let cache = KVCache(layers: 1, kvDim: 2, capacity: 4 * bs, blockSize: bs)
        let t: [Int32] = Array(0..<8), f = [Bool](repeating: false, count: 8)
        try fill(cache, 0, 8)
        cache.publish(0, tokens: t, tiled: f)
        let shared = cache.lookupPrefix(t, tiled: f, limit: 8)
        XCTAssertEqual(shared.count, 2)
        try cache.attach(1, blocks: shared)
        try cache.truncate(1, to: 6)
        let mine = cache.blocks(of: 1)
        XCTAssertEqual(mine[0], shared[0])
        XCTAssertNotEqual(mine[1], shared[1], "the partial block is a private copy")
        try fill(cache, 1, 1, from: 6)  // writes into the copy, not into sequence 0's block
        XCTAssertEqual(cache.lookupPrefix(t, tiled: f, limit: 8), shared, "the published blocks are untouched")
    }
}
