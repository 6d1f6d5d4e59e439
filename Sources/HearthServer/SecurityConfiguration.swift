import Foundation

/// The server's security settings (issue 9 "security defaults"), read from the environment by `hearth serve`:
/// - `HEARTH_API_KEY`: when set, every route but `/` and `/health` needs `Authorization: Bearer KEY`.
/// - `HEARTH_ORIGINS`: comma-separated extra origins a browser page may call from (`*` matches any text; a
///   trailing `:*` any port). They add to the defaults, as `OLLAMA_ORIGINS` does (ollama/envconfig/config.go
///   `AllowedOrigins`): http(s)://localhost, 127.0.0.1, [::1] and 0.0.0.0 with or without a port, and the
///   app://, file://, tauri://, vscode-webview://, vscode-file:// schemes of desktop apps and editors.
///   `HEARTH_ORIGINS=*` allows every origin.
/// - `HEARTH_MAX_BODY`: the largest request body in bytes (suffixes K, M, G: KiB, MiB, GiB), default 32M;
///   a larger body gets 413. Blob uploads (`/api/blobs/…`, model files verified by digest) are exempt.
public struct SecurityConfiguration: Sendable {
    public var apiKey: String?
    /// Allowed origin patterns (defaults first, then HEARTH_ORIGINS).
    public var origins: [String]
    public var maxBodyBytes: Int

    public static let defaultMaxBodyBytes = 32 << 20

    /// Loopback origins and desktop-app schemes (Ollama's default list, with [::1] added).
    public static let defaultOrigins: [String] = {
        var list: [String] = []
        for host in ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"] {
            list += ["http://\(host)", "https://\(host)", "http://\(host):*", "https://\(host):*"]
        }
        return list + ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]
    }()

    public init(apiKey: String? = nil, extraOrigins: [String] = [], maxBodyBytes: Int = defaultMaxBodyBytes) {
        self.apiKey = apiKey
        self.origins = Self.defaultOrigins + extraOrigins
        self.maxBodyBytes = maxBodyBytes
    }

    /// Reads HEARTH_API_KEY, HEARTH_ORIGINS and HEARTH_MAX_BODY; a malformed value is an error naming the variable.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> SecurityConfiguration {
        var key = env["HEARTH_API_KEY"]
        if let k = key, k.isEmpty { key = nil }
        if let k = key, k.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw SecurityConfigurationError("HEARTH_API_KEY must not contain spaces or newlines")
        }
        let extra = (env["HEARTH_ORIGINS"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var limit = defaultMaxBodyBytes
        if let text = env["HEARTH_MAX_BODY"], !text.isEmpty {
            guard let v = parseByteCount(text), v >= 1 else {
                throw SecurityConfigurationError("HEARTH_MAX_BODY '\(text)': expected a number of bytes ≥ 1, optionally with K, M or G (e.g. 32M)")
            }
            limit = v
        }
        return SecurityConfiguration(apiKey: key, extraOrigins: extra, maxBodyBytes: limit)
    }

    /// Whether a browser page from `origin` may call the server.
    public func allows(origin: String) -> Bool {
        let o = origin.lowercased()
        return origins.contains { originMatches(o, pattern: $0.lowercased()) }
    }
}

public struct SecurityConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// "1048576", "512K", "32M", "1G" (binary multiples) → bytes; nil when malformed or overflowing.
func parseByteCount(_ text: String) -> Int? {
    var s = text.trimmingCharacters(in: .whitespaces).uppercased()
    if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
    var shift = 0
    switch s.last {
    case "K": shift = 10
    case "M": shift = 20
    case "G": shift = 30
    default: break
    }
    if shift > 0 { s.removeLast() }
    guard let n = Int(s), n >= 0 else { return nil }
    let (v, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : v
}

/// Glob match where `*` matches any run of characters, except that a trailing `:*` matches a port (1–5
/// digits) only, so `http://localhost:*` cannot match `http://localhost:1.evil.example`.
func originMatches(_ origin: String, pattern: String) -> Bool {
    if pattern == "*" { return true }
    if pattern.hasSuffix(":*") {
        let prefix = pattern.dropLast(2)
        guard let colon = origin.lastIndex(of: ":") else { return false }
        let port = origin[origin.index(after: colon)...]
        guard (1...5).contains(port.count), port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return globMatches(Array(origin[..<colon].utf8), Array(prefix.utf8))
    }
    return globMatches(Array(origin.utf8), Array(pattern.utf8))
}

/// Iterative glob with backtracking to the last `*` (linear in practice, no recursion).
func globMatches(_ s: [UInt8], _ p: [UInt8]) -> Bool {
    var i = 0, j = 0, star = -1, mark = 0
    let asterisk = UInt8(ascii: "*")
    while i < s.count {
        if j < p.count && p[j] != asterisk && p[j] == s[i] {
            i += 1; j += 1
        } else if j < p.count && p[j] == asterisk {
            star = j; mark = i; j += 1
        } else if star >= 0 {
            j = star + 1; mark += 1; i = mark
        } else {
            return false
        }
    }
    while j < p.count && p[j] == asterisk { j += 1 }
    return j == p.count
}
