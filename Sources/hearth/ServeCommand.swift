import ArgumentParser
import Foundation
import Hearth
import HearthServer
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
            HEARTH_CONTEXT_LENGTH (default num_ctx, 4096).

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

    @Option(name: .long, help: "A .gguf file served as the default model (requests may also name a .gguf path).")
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
        if let m = model, !FileManager.default.fileExists(atPath: m) { throw CLIError("\(m): no such file") }
        let config: SchedulerConfiguration
        do { config = try SchedulerConfiguration.fromEnvironment() } catch { throw CLIError("\(error)") }
        let security: SecurityConfiguration
        do { security = try SecurityConfiguration.fromEnvironment() } catch { throw CLIError("\(error)") }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let provider = FileModelProvider(defaultPath: model, configuration: config, threads: threads)
        let server = HearthServer(address: address, models: provider, security: security)
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
