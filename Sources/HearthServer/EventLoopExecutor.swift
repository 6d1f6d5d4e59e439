import Hummingbird
import NIOCore

/// Runs a task's jobs on its connection's NIO event loop (a task executor preference, SE-0417).
///
/// Why: a streamed token went scheduler thread → a task on Swift's cooperative pool (one wake-up) → the event
/// loop that writes the socket (a second wake-up, and the pool thread's futex traffic). On a machine whose cores
/// all run the forward pass, every wake-up preempts a compute thread, and the other compute thread then waits for
/// it at the next barrier. With the streaming loop on the event loop, the scheduler's `yield` wakes only the loop,
/// which formats the chunk and writes it inline (NIO's async writer writes directly when called on its loop).
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Runs `body` with its jobs on `loop` when there is one (a `ServerContext`'s connection), else as it is.
func onEventLoop<T: Sendable>(_ loop: (any EventLoop)?, _ body: () async throws -> T) async rethrows -> T {
    guard let loop else { return try await body() }
    return try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) { try await body() }
}

extension RequestContext {
    /// The connection's event loop, for `onEventLoop`.
    var eventLoop: (any EventLoop)? { (self as? ServerContext)?.channel.eventLoop }
}
