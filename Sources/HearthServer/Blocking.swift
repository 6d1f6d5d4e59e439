import Foundation

/// Runs blocking work (loading a model, hashing or copying a file, a download, stopping a scheduler) on its own
/// thread and awaits it, so it never occupies one of Swift concurrency's few cooperative threads (two on a
/// two-core machine) for seconds.
func runBlocking<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
        let thread = Thread {
            do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// `runBlocking` for work that cannot fail.
func runDetached(_ name: String, _ body: @escaping @Sendable () -> Void) async {
    _ = try? await runBlocking(name) { () throws -> Bool in body(); return true }
}
