import Foundation
import HearthEngine
import HearthKernels
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The HTTP server (Hummingbird 2): Ollama's and OpenAI's routes over the scheduler of each model.
/// Routes: `GET|HEAD /`, `GET /api/version`, `GET /health`, Ollama's /api routes (OllamaRoutes.swift), the OpenAI
/// routes (OpenAIRoutes.swift), the embedding routes (EmbedRoutes.swift). Every route sits behind the security
/// middleware (Security*.swift): Host check on loopback, CORS allowlist, API key, body limit.
public struct HearthServer: Sendable {
    public static let version = "0.1.0"
    public let address: ServerAddress
    public let models: any ModelProvider
    public let logger: Logger
    /// Prometheus metrics served at `GET /metrics`.
    public let metrics = ServerMetrics()
    /// API key, CORS allowlist and body limit (SecurityConfiguration.swift); the default is the secure one.
    public let security: SecurityConfiguration
    /// Set when graceful shutdown begins (Shutdown.swift).
    let shutdownState = ShutdownState()

    /// Threads the models compute on (nil: `ThreadPool.defaultThreadCount`); the event loops keep off the CPU
    /// of the thread that drives their forward passes (`ThreadPool.ioCPUs`).
    public let computeThreads: Int?

    public init(address: ServerAddress, models: any ModelProvider, logger: Logger = Logger(label: "hearth.server"),
                security: SecurityConfiguration = SecurityConfiguration(), computeThreads: Int? = nil) {
        self.address = address
        self.models = models
        self.logger = logger
        self.security = security
        self.computeThreads = computeThreads
    }

    func makeRouter() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: RefuseDuringShutdownMiddleware(state: shutdownState))
        // The Host check and CORS first (a refused page learns nothing; preflights need no key), then the key,
        // then the body limit.
        if LocalHostHeaderMiddleware<ServerContext>.isLoopback(address.host) {
            router.add(middleware: LocalHostHeaderMiddleware())
        }
        router.add(middleware: CORSAllowlistMiddleware(configuration: security))
        if let key = security.apiKey { router.add(middleware: APIKeyMiddleware(key: key)) }
        router.add(middleware: BodyLimitMiddleware(limit: security.maxBodyBytes))
        router.add(middleware: CancelOnClientGoneMiddleware())
        router.get("/") { _, _ in "Hearth is running" }
        router.head("/") { _, _ in HTTPResponse.Status.ok }
        router.get("/api/version") { _, _ in jsonResponse(["version": HearthServer.version]) }
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        addOllamaRoutes(router)
        router.post("/v1/completions") { request, context in try await self.completions(request, context: context) }
        addOpenAIRoutes(router)
        router.post("/api/embed") { request, context in try await self.embed(request, context: context) }
        router.post("/api/embeddings") { request, context in try await self.legacyEmbeddings(request, context: context) }
        router.post("/v1/embeddings") { request, context in try await self.openAIEmbeddings(request, context: context) }
        return router
    }

    /// Serves until SIGINT/SIGTERM (graceful: new requests get 503, in-flight streams end at once with an error
    /// line saying the model was unloaded, the listener closes, then the process exits). `onListening` runs once the socket is bound (the CLI prints the address).
    /// A port already taken throws `ServeError.addressInUse` naming the address and HEARTH_HOST.
    public func run(onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let io = ThreadPool.ioCPUs(computeThreads: computeThreads ?? ThreadPool.defaultThreadCount)
        if !io.isEmpty {
            for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
                loop.execute { ThreadPool.pinCurrentThread(to: io) }
            }
        }
        let app = Application(router: makeRouter(),
                              server: .http1(configuration: .init(additionalChannelHandlers: [ClientGoneHandler()])),
                              configuration: .init(address: .hostname(address.host, port: address.port),
                                                   serverName: "Hearth"),
                              onServerRunning: { _ in onListening(address.description) },
                              logger: logger)
        do {
            // The group shuts services down in reverse order: the models unload first (ending in-flight streams),
            // then the HTTP server stops, which waits for those responses to finish.
            var config = ServiceGroupConfiguration(
                services: [.init(service: app),
                           .init(service: UnloadOnShutdown(models: models, state: shutdownState),
                                 successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: logger)
            config.gracefulShutdownSignals = [.sigterm, .sigint]
            try await ServiceGroup(configuration: config).run()
        } catch {
            await models.shutdown()
            // NIO reports a failed bind as an IOError (possibly wrapped by the service group): match errno or text.
            let text = "\(error)"
            if (error as? IOError)?.errnoCode == EADDRINUSE || text.contains("Address already in use") {
                throw ServeError.addressInUse(address.description)
            }
            if let e = error as? IOError, e.errnoCode == EADDRNOTAVAIL || e.errnoCode == EACCES {
                throw ServeError.cannotListen(address.description, text)
            }
            throw error
        }
        await models.shutdown()
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: security.maxBodyBytes)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw ServerError.badRequest("the request body is empty (expected a JSON object)") }
        return try JSONDecoder().decode(T.self, from: data)
    }

    func log(_ request: Request, status: Int, start: Date, prompt: Int, generated: Int) {
        logLine(logger, requestLine(request), status: status, start: start, prompt: prompt, generated: generated)
    }
}

/// "METHOD /path" of a request, for the log line.
func requestLine(_ r: Request) -> String { "\(r.method.rawValue) \(r.uri.path)" }

/// The one log line per request: method, path, status, duration and, for generation, the token counts.
func logLine(_ logger: Logger, _ line: String, status: Int, start: Date, prompt: Int, generated: Int) {
    let ms = Int((Date().timeIntervalSince(start) * 1000).rounded())
    logger.info("\(line) \(status) \(ms)ms prompt_tokens=\(prompt) generated_tokens=\(generated)")
}

/// Logs requests the generation routes do not log themselves (those log when their stream ends, with counts).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    static var selfLogging: Set<String> { ["/api/generate", "/api/chat", "/v1/completions", "/v1/chat/completions"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        let start = Date()
        if Self.selfLogging.contains(request.uri.path) {
            // Those routes log themselves, but a request the security middleware refuses (401, 403, 413) never
            // reaches them: log it here.
            let response = try await next(request, context)
            if [401, 403, 413].contains(response.status.code) {
                logLine(logger, requestLine(request), status: Int(response.status.code), start: start, prompt: 0, generated: 0)
            }
            return response
        }
        do {
            let response = try await next(request, context)
            logLine(logger, requestLine(request), status: Int(response.status.code), start: start, prompt: 0, generated: 0)
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            logLine(logger, requestLine(request), status: Int(status), start: start, prompt: 0, generated: 0)
            throw error
        }
    }
}

/// Errors starting the server.
public enum ServeError: Error, CustomStringConvertible {
    case addressInUse(String)
    case cannotListen(String, String)
    case badAddress(String)

    public var description: String {
        switch self {
        case .addressInUse(let a):
            return "cannot listen on \(a): the address is already in use (is another server running? set HEARTH_HOST "
                + "or --host to another address, e.g. HEARTH_HOST=127.0.0.1:11435)"
        case .cannotListen(let a, let why): return "cannot listen on \(a) (HEARTH_HOST / --host): \(why)"
        case .badAddress(let a): return "HEARTH_HOST / --host '\(a)': expected HOST[:PORT], e.g. 127.0.0.1:11434"
        }
    }
}

/// Where the server listens, parsed as Ollama parses OLLAMA_HOST: `[scheme://]host[:port]`, IPv6 in brackets;
/// the port defaults to 11434, the host to 127.0.0.1 (`:8080` → 127.0.0.1:8080).
public struct ServerAddress: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) { self.host = host; self.port = port }

    public init(parsing text: String) throws {
        var s = text.trimmingCharacters(in: .whitespaces)
        if let r = s.range(of: "://") { s = String(s[r.upperBound...]) }
        while s.hasSuffix("/") { s.removeLast() }
        var host = s, portText: String?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw ServeError.badAddress(text) }
            host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            if rest.hasPrefix(":") { portText = String(rest.dropFirst()) } else if !rest.isEmpty { throw ServeError.badAddress(text) }
        } else if let colon = s.lastIndex(of: ":") {
            host = String(s[..<colon])
            portText = String(s[s.index(after: colon)...])
        }
        if host.isEmpty { host = "127.0.0.1" }
        var port = 11434
        if let p = portText {
            guard let v = Int(p), (0...65535).contains(v) else { throw ServeError.badAddress(text) }
            port = v
        }
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

