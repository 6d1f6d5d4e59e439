import Foundation
import Hummingbird
import NIOCore

// A request whose client has gone away is cancelled, as Go's net/http (and so Ollama) cancels a request's
// context when its connection reads EOF. A streaming answer notices a closed socket at its next write, but a
// `stream: false` generation writes nothing until it is over: without this it kept its sequence (and a slot of
// HEARTH_NUM_PARALLEL) for its whole num_predict after the client had left (found by scripts/abuse,
// "disconnects"). Hummingbird accepts half-closed connections (allowRemoteHalfClosure), so the channel stays
// open when the client closes its side; the TCP FIN arrives as NIO's `ChannelEvent.inputClosed`, which
// `ClientGoneHandler` turns into a per-connection signal that `CancelOnClientGoneMiddleware` waits on beside
// the route, cancelling the route's task when it fires.

/// The server's request context: Hummingbird's basic context plus the connection's channel, so the middleware
/// can find the connection's `ClientGoneHandler`.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request arrived on.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Whether a connection's client has closed its side, and the tasks waiting for that.
final class ClientGoneSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var gone = false
    private var nextID: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    var isGone: Bool { lock.withLock { gone } }

    func markGone() {
        let resumed: [CheckedContinuation<Void, Never>] = lock.withLock {
            gone = true
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for c in resumed { c.resume() }
    }

    /// Returns once the client has gone, or as soon as the calling task is cancelled (its waiter is removed, so
    /// requests on a long keep-alive connection leave nothing behind).
    func wait() async {
        let id: UInt64 = lock.withLock {
            nextID += 1
            return nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    if gone || Task.isCancelled { return true }
                    waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = lock.withLock { waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }
}

/// In each connection's pipeline (after HTTP decoding): marks the connection's signal when the client closes its
/// side (`inputClosed`) or the connection closes.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny  // passes every part through untouched
    let signal = ClientGoneSignal()

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { signal.markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        signal.markGone()
        context.fireChannelInactive()
    }

    /// The signal of `channel`'s handler (nil for a channel without one, e.g. in tests).
    static func signal(of channel: any Channel) async -> ClientGoneSignal? {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ClientGoneHandler.self).signal
        }.get()
    }
}

/// Runs each route beside a wait for its client to go away; if the client goes first, the route's task is
/// cancelled (a generation's event stream then ends and the scheduler drops the sequence within a step).
struct CancelOnClientGoneMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response)
        async throws -> Response {
        guard let signal = await ClientGoneHandler.signal(of: context.channel) else { return try await next(request, context) }
        return try await withoutActuallyEscaping(next) { next in
            let route = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await route.value(request, context) }
                group.addTask {
                    await signal.wait()
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let response = result { return response }
                    group.cancelAll()  // the client went away: cancel the route, then take what it returns
                }
                throw CancellationError()
            }
        }
    }
}

/// Carries the route closure into the task group; it is only called there, while `handle` awaits the group.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
