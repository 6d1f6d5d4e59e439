import HearthKernels
import XCTest

/// `ThreadPool.runChunks`: every item is handed out exactly once, whatever the grain, and `prepare` runs once
/// per thread that takes a chunk, before its first chunk.
final class ThreadPoolChunkTests: XCTestCase {
    func testRunChunksCoversEveryItemOnce() {
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threads: threads)
            for (items, grain) in [(0, 8), (1, 8), (7, 8), (8, 8), (9, 8), (1000, 8), (1000, 1), (151_936, 1192), (37, 100)] {
                let hits = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, items))
                hits.initialize(repeating: 0, count: max(1, items))
                let prepared = UnsafeMutablePointer<Int32>.allocate(capacity: threads)
                prepared.initialize(repeating: 0, count: threads)
                let chunksSeen = UnsafeMutablePointer<Int32>.allocate(capacity: threads)
                chunksSeen.initialize(repeating: 0, count: threads)
                pool.runChunks(items: items, grain: grain, prepare: { t in
                    XCTAssertEqual(chunksSeen[t], 0, "prepare after a chunk")
                    prepared[t] += 1
                }) { t, s, e in
                    XCTAssert(s < e && e <= items && (e - s == grain || e == items), "chunk \(s)..<\(e)")
                    XCTAssertEqual(prepared[t], 1, "a chunk before prepare")
                    chunksSeen[t] += 1
                    for i in s..<e { hits[i] += 1 }  // chunks are disjoint: no two threads write one item
                }
                for i in 0..<items where hits[i] != 1 { XCTFail("item \(i) of \(items) (grain \(grain), \(threads) threads) ran \(hits[i]) times") }
                for t in 0..<threads { XCTAssertLessThanOrEqual(prepared[t], 1) }
                hits.deallocate(); prepared.deallocate(); chunksSeen.deallocate()
            }
        }
    }

    func testGrainIsAlignedAndSplitsWork() {
        let pool = ThreadPool(threads: 2)
        XCTAssertEqual(pool.grain(rows: 1536, align: 8), 96)
        XCTAssertEqual(pool.grain(rows: 10, align: 8), 8)
        XCTAssertEqual(pool.grain(rows: 151_936, align: 8) % 8, 0)
        XCTAssertEqual(pool.grain(rows: 256, align: 4), 16)
    }
}
