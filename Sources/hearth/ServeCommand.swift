import ArgumentParser
import Foundation
import Hearth
import HearthServer
import HearthStore
import Logging

/// `hearth serve`: the HTTP server with Ollama's and OpenAI's APIs (see HearthServer), listening on
/// `--host` / HEARTH_HOST (default 127.0.0.1:11434, Ollama's port, so Ollama clients work unchanged).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP (Ollama and OpenAI APIs).",
        discussion: """
            Environment: HEARTH_HOST (address, default 127.0.0.1:11434), HEARTH_NUM_PARALLEL (sequences computed \
            together per model, default 4), HEARTH_MAX_QUEUE (waiting requests before 503, default 512), \
            HEARTH_CONTEXT_LENGTH (default num_ctx, 4096), HEARTH_KEEP_ALIVE (how long an idle model stays loaded: \
            a duration such as 5m or 1h30m, seconds, or negative for ever; default 5m), HEARTH_MAX_LOADED_MODELS \
            (default 3; the least recently used idle model is unloaded to make room), HEARTH_MODELS (the model store).

            Security: HEARTH_API_KEY (when set, every route but / and /health needs the header \
            'Authorization: Bearer KEY'; others get 401), HEARTH_ORIGINS (comma-separated origins that browser \
            pages may call from, added to the defaults: http(s)://localhost, 127.0.0.1, [::1], 0.0.0.0 with any \
            port, app://, file://, tauri://, vscode-webview://, vscode-file://; '*' matches any text, \
            HEARTH_ORIGINS='*' allows every origin; other origins get 403), HEARTH_MAX_BODY (largest request body, \
            bytes or with K/M/G, default 32M; larger bodies get 413; blob uploads are exempt). On a loopback \
            address, requests whose Host header is not a local name get 403 (DNS-rebinding guard). The server logs one \
            line per request (method, path, status, time, token counts), never prompt or input text.
            """)

    @Option(name: .long, help: "Address to listen on, HOST[:PORT] (default: HEARTH_HOST or 127.0.0.1:11434).")
    var host: String?

    @Option(name: .long, help: "The model requests get when they name none: a store name or a .gguf path.")
    var model: String?

    @Option(name: .long, help: "Threads to compute on (default: physical cores).")
    var threads: Int?

    func run() throws {
        if let t = threads, t < 1 { throw CLIError("--threads must be at least 1") }
        let address: ServerAddress
        do {
            address = try ServerAddress(parsing: host ?? ProcessInfo.processInfo.environment["HEARTH_HOST"] ?? "127.0.0.1:11434")
        } catch {
            throw CLIError("\(error)")
        }
        let store = openStore()
        // A bad --model fails now, not at the first request; an HF model directory (an embedder) is served as is.
        if let m = model, !HFModelDirectory.isModelDirectory(m) { _ = try storeCall { try store.resolve(m) } }
        let config: SchedulerConfiguration
        let keepAlive: KeepAlive
        let maxLoaded: Int
        let security: SecurityConfiguration
        do {
            config = try SchedulerConfiguration.fromEnvironment()
            keepAlive = try KeepAlive.fromEnvironment()
            maxLoaded = try StoreModelProvider.maxLoadedFromEnvironment()
            security = try SecurityConfiguration.fromEnvironment()
        } catch {
            throw CLIError("\(error)")
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let provider = StoreModelProvider(store: store, defaultModel: model, configuration: config, threads: threads,
                                          keepAlive: keepAlive, maxLoaded: maxLoaded)
        let server = HearthServer(address: address, models: provider, security: security, computeThreads: threads)
        let outcome = ServeOutcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run(onListening: { writeErr("Hearth is listening on http://\($0)\n") })
            } catch {
                outcome.set("\(error)")
            }
            done.signal()
        }
        done.wait()
        if let message = outcome.message { throw CLIError(message) }
    }
}

/// The server task's error, handed to the blocked main thread.
private final class ServeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?
    func set(_ m: String) { lock.lock(); stored = m; lock.unlock() }
    var message: String? { lock.lock(); defer { lock.unlock() }; return stored }
}
