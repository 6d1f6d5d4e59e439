import Hummingbird
import ServiceLifecycle
import Synchronization

/// Whether graceful shutdown has begun; set once, read by every request.
final class ShutdownState: Sendable {
    private let flag = Atomic<Bool>(false)
    var isShuttingDown: Bool { flag.load(ordering: .acquiring) }
    func begin() { flag.store(true, ordering: .releasing) }
}

/// Stop accepting work first (issue 6: "stop accepting, end in-flight streams cleanly, unload"): once shutdown has
/// begun, a request that reaches the router gets 503 with `Connection: close` in its API's error shape, instead of
/// starting on a model that is being unloaded. The listener itself closes when Hummingbird's graceful shutdown
/// runs, after the models are unloaded (the service group stops services in reverse order).
struct RefuseDuringShutdownMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: ShutdownState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        guard state.isShuttingDown else { return try await next(request, context) }
        return refusal(.serviceUnavailable, "the server is shutting down", path: request.uri.path, code: "shutting_down",
                       headers: [.connection: "close"])
    }
}

/// On graceful shutdown: refuse new requests, then unload every model, so in-flight streams end now (with an
/// error line saying the model was unloaded) instead of running to their token limits while the server waits.
struct UnloadOnShutdown: Service {
    let models: any ModelProvider
    let state: ShutdownState

    func run() async throws {
        try? await gracefulShutdown()
        state.begin()
        await models.shutdown()
    }
}
