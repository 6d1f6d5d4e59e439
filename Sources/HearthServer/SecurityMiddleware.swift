import Crypto
import Foundation
import Hummingbird
import NIOCore

/// A refusal in the error shape of the API the path belongs to: OpenAI's `{"error": {message, type, code}}`
/// under `/v1/`, Ollama's `{"error": "…"}` elsewhere.
func refusal(_ status: HTTPResponse.Status, _ message: String, path: String, code: String,
             headers extra: HTTPFields = [:]) -> Response {
    let body: [String: Any]
    if path.hasPrefix("/v1/") {
        let type = status == .unauthorized ? "invalid_request_error" : status == .forbidden ? "permission_error"
            : "invalid_request_error"
        body = ["error": ["message": message, "type": type, "code": code]]
    } else {
        body = ["error": message]
    }
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extra)
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: jsonBytes(body))))
}

/// CORS limited to an allowlist (Fetch standard, "CORS protocol"): a request without `Origin` (curl, SDKs)
/// passes untouched; an allowed origin gets `Access-Control-Allow-Origin` echoed (and `Vary: Origin`), its
/// preflight `OPTIONS` a 204 with the allowed methods and headers; any other origin gets 403 and no CORS
/// headers, so a web page the user visits cannot drive the local server (the gin-contrib/cors behaviour Ollama
/// relies on).
struct CORSAllowlistMiddleware<Context: RequestContext>: RouterMiddleware {
    let configuration: SecurityConfiguration

    /// The request headers browsers may send: Ollama's list (content and auth headers, OpenAI SDK headers).
    static var allowedHeaders: String {
        "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, x-stainless-arch, "
            + "x-stainless-async, x-stainless-custom-poll-interval, x-stainless-helper-method, x-stainless-lang, "
            + "x-stainless-os, x-stainless-package-version, x-stainless-poll-helper, x-stainless-retry-count, "
            + "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        guard configuration.allows(origin: origin) else {
            return refusal(.forbidden, "origin '\(origin)' is not allowed to call this server (add it to HEARTH_ORIGINS)",
                           path: request.uri.path, code: "origin_not_allowed")
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin,
                .accessControlAllowMethods: "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
                .accessControlAllowHeaders: Self.allowedHeaders,
                .accessControlMaxAge: "43200",
                .vary: "Origin",
            ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            // Router errors (404, 405…) become responses here so they carry the CORS headers too.
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}

/// `HEARTH_API_KEY`: every route but `/` and `/health` (and CORS preflights, which browsers send without
/// credentials) needs `Authorization: Bearer KEY`; otherwise 401 with `WWW-Authenticate: Bearer` (RFC 6750).
/// The key is compared in constant time: both sides are hashed with SHA-256 and the digests compared without
/// an early exit, so neither the key's content nor its length shows in the timing.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keyDigest: [UInt8]

    init(key: String) { keyDigest = Array(SHA256.hash(data: Array(key.utf8))) }

    static func isOpen(_ path: String) -> Bool { path == "/" || path == "/health" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        let path = request.uri.path
        if Self.isOpen(path) || request.method == .options { return try await next(request, context) }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer"]
        guard let header = request.headers[.authorization] else {
            return refusal(.unauthorized, "this server needs an API key: send the header 'Authorization: Bearer KEY' (HEARTH_API_KEY)",
                           path: path, code: "invalid_api_key", headers: challenge)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return refusal(.unauthorized, "the Authorization header must be 'Bearer KEY'", path: path,
                           code: "invalid_api_key", headers: challenge)
        }
        let given = Array(SHA256.hash(data: Array(parts[1].trimmingCharacters(in: .whitespaces).utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(given, keyDigest) { difference |= a ^ b }
        guard difference == 0 else {
            return refusal(.unauthorized, "invalid API key", path: path, code: "invalid_api_key", headers: challenge)
        }
        return try await next(request, context)
    }
}

/// `HEARTH_MAX_BODY`: a body over the limit gets 413 in the API's error shape. A declared `Content-Length` over
/// the limit is refused before anything is read; a chunked body is read up to the limit (the routes decode JSON
/// bodies whole anyway) and refused as soon as it passes it. Hummingbird reads and drops what the client still
/// sends, so the connection stays usable. Blob uploads (`/api/blobs/…`: model files, checked by digest) stream
/// past the limit.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    static func isExempt(_ path: String) -> Bool { path.hasPrefix("/api/blobs/") }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        let path = request.uri.path
        if Self.isExempt(path) { return try await next(request, context) }
        if let text = request.headers[.contentLength], let declared = Int(text), declared > limit {
            return tooLarge(path, "\(declared) bytes")
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            return tooLarge(path, "more than \(limit) bytes")
        }
        return try await next(request, context)
    }

    func tooLarge(_ path: String, _ size: String) -> Response {
        refusal(.contentTooLarge, "the request body is \(size); the limit is \(limit) bytes (HEARTH_MAX_BODY)",
                path: path, code: "request_too_large")
    }
}

/// DNS-rebinding guard (as Ollama's `allowedHostsMiddleware`): while the server listens on a loopback address,
/// a request must name a local host in its `Host` header: `localhost`, `*.localhost`, `*.local`, `*.internal`,
/// this machine's host name, or a loopback, private or unspecified IP literal. A page on `evil.example` whose DNS
/// name was rebound to 127.0.0.1 sends `Host: evil.example` and gets 403, even for same-origin GETs that carry
/// no `Origin` header.
struct LocalHostHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    static func isLoopback(_ bindHost: String) -> Bool {
        let h = bindHost.lowercased()
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        let host = request.head.authority ?? ""
        if Self.isLocal(hostHeader: host) { return try await next(request, context) }
        return refusal(.forbidden, "host '\(host)' is not a local name for this server (it listens on loopback only)",
                       path: request.uri.path, code: "host_not_allowed")
    }

    static func isLocal(hostHeader: String) -> Bool {
        var host = hostHeader.lowercased()
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            host = String(host[..<colon])
        }
        if host.isEmpty || host == "localhost" { return true }
        for suffix in [".localhost", ".local", ".internal"] where host.hasSuffix(suffix) { return true }
        if host == machineHostName() { return true }
        if let v4 = ipv4(host) {
            let (a, b) = (v4[0], v4[1])
            return a == 127 || a == 10 || a == 0 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 169 && b == 254)
        }
        if host.contains(":") {
            return host == "::1" || host == "::" || host.hasPrefix("fe80:") || host.hasPrefix("fc") || host.hasPrefix("fd")
                || host.hasPrefix("::ffff:127.")
        }
        return false
    }

    static func ipv4(_ s: String) -> [Int]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [Int] = []
        for p in parts {
            guard (1...3).contains(p.count), p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else { return nil }
            out.append(v)
        }
        return out
    }

    static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
    }
}
