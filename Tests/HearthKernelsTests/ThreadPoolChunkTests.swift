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

    /// `runChunks` returns once every chunk is done, without waiting for workers that have not turned up; a late
    /// worker must then never run a chunk (or `prepare`) of a job that has returned, nor miss a `run` job. Three
    /// threads on this two-core machine are late all the time; some chunks sleep to make them later.
    func testLateWorkersNeverTouchAFinishedJob() {
        let pool = ThreadPool(threads: 3)
        let current = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        let stale = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        current.initialize(to: 0); stale.initialize(to: 0)
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let ran = UnsafeMutablePointer<Int32>.allocate(capacity: 3)
        for job in 1...6000 {
            current.pointee = job
            if job % 3 == 0 {
                ran.initialize(repeating: 0, count: 3)
                pool.run { t, _ in
                    if current.pointee != job { stale.pointee += 1 }
                    ran[t] += 1
                }
                for t in 0..<3 where ran[t] != 1 { XCTFail("run job \(job): thread \(t) ran \(ran[t]) times") }
                continue
            }
            let items = 2 + job % 61
            hits.initialize(repeating: 0, count: items)
            pool.runChunks(items: items, grain: 1 + job % 4, prepare: { _ in
                if current.pointee != job { stale.pointee += 1 }
            }) { _, s, e in
                if current.pointee != job { stale.pointee += 1 }
                if job % 7 == 0 && s == 0 { usleep(50) }
                for i in s..<e { hits[i] += 1 }
            }
            current.pointee = -job  // a chunk of this job running from here on is a late worker's
            for i in 0..<items where hits[i] != 1 { XCTFail("job \(job): item \(i) of \(items) ran \(hits[i]) times") }
        }
        usleep(10_000)
        XCTAssertEqual(stale.pointee, 0, "chunks or prepares ran outside their job")
        current.deallocate(); stale.deallocate(); hits.deallocate(); ran.deallocate()
    }

    /// More chunks than the claim word counts (2^20): every thread takes part, each item once.
    func testRunChunksBeyondTheClaimWord() {
        let pool = ThreadPool(threads: 2)
        let items = (1 << 20) + 5
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: items)
        hits.initialize(repeating: 0, count: items)
        pool.runChunks(items: items, grain: 1) { _, s, e in for i in s..<e { hits[i] += 1 } }
        var wrong = 0
        for i in 0..<items where hits[i] != 1 { wrong += 1 }
        XCTAssertEqual(wrong, 0)
        hits.deallocate()
    }

    func testGrainIsAlignedAndSplitsWork() {
        let pool = ThreadPool(threads: 2)
        XCTAssertEqual(pool.grain(rows: 1536, align: 8), 96)
        XCTAssertEqual(pool.grain(rows: 10, align: 8), 8)
        XCTAssertEqual(pool.grain(rows: 151_936, align: 8) % 8, 0)
        XCTAssertEqual(pool.grain(rows: 256, align: 4), 16)
    }
}
