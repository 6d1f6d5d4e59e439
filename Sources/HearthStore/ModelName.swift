/// A model's name in the store, in Ollama's scheme (`server/internal/model/name.go` and `types/model/name.go`):
/// `[host/][namespace/]model[:tag]`, with defaults `registry.ollama.ai`, `library` and `latest`. So `smollm2:135m`
/// is `registry.ollama.ai/library/smollm2:135m` and `hf.co/owner/repo:Q4_K_M` keeps its own host and namespace.
/// Each part becomes one directory level under `manifests/`, which is why every part is checked here: no empty
/// part, no `.`/`..`, no path separator, no control character, and a length limit.
public struct ModelName: Hashable, Sendable, CustomStringConvertible {
    public static let defaultHost = "registry.ollama.ai"
    public static let defaultNamespace = "library"
    public static let defaultTag = "latest"

    public var host: String
    public var namespace: String
    public var model: String
    public var tag: String

    /// Limits as Ollama's: host up to 350 characters, the other parts up to 80 (a tag up to 80).
    static let maxHost = 350
    static let maxPart = 80

    public init(host: String = ModelName.defaultHost, namespace: String = ModelName.defaultNamespace,
                model: String, tag: String = ModelName.defaultTag) throws {
        self.host = host
        self.namespace = namespace
        self.model = model
        self.tag = tag
        let shown = "\(host)/\(namespace)/\(model):\(tag)"
        try ModelName.check(host, kind: "host", max: ModelName.maxHost, allowColon: true, in: shown)
        try ModelName.check(namespace, kind: "namespace", max: ModelName.maxPart, allowColon: false, in: shown)
        try ModelName.check(model, kind: "model", max: ModelName.maxPart, allowColon: false, in: shown)
        try ModelName.check(tag, kind: "tag", max: ModelName.maxPart, allowColon: false, in: shown)
    }

    /// Parses `[host/][namespace/]model[:tag]`. The tag is what follows the last `:` after the last `/` (a host
    /// may carry a `:port`).
    public init(parsing text: String) throws {
        guard !text.isEmpty else { throw StoreError.invalidName(text, reason: "the name is empty") }
        guard text.utf8.count <= ModelName.maxHost + 3 * (ModelName.maxPart + 1) else {
            throw StoreError.invalidName(text, reason: "longer than \(ModelName.maxHost + 3 * (ModelName.maxPart + 1)) bytes")
        }
        if text.hasPrefix("/") { throw StoreError.invalidName(text, reason: "an absolute path is not a model name") }
        if text.contains("\\") { throw StoreError.invalidName(text, reason: "'\\' is not allowed") }
        var rest = Substring(text)
        var tag = ModelName.defaultTag
        let lastSlash = rest.lastIndex(of: "/")
        let tail = lastSlash.map { rest[rest.index(after: $0)...] } ?? rest
        if let colon = tail.lastIndex(of: ":") {
            tag = String(tail[tail.index(after: colon)...])
            rest = rest[..<colon]
            if tag.isEmpty { throw StoreError.invalidName(text, reason: "empty tag after ':'") }
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        do {
            switch parts.count {
            case 1: try self.init(model: parts[0], tag: tag)
            case 2: try self.init(namespace: parts[0], model: parts[1], tag: tag)
            case 3: try self.init(host: parts[0], namespace: parts[1], model: parts[2], tag: tag)
            default:
                throw StoreError.invalidName(text, reason: "expected [host/][namespace/]model[:tag], got \(parts.count) '/'-separated parts")
            }
        } catch StoreError.invalidName(_, let reason) {
            throw StoreError.invalidName(text, reason: reason)
        }
    }

    static func check(_ part: String, kind: String, max: Int, allowColon: Bool, in name: String) throws {
        if part.isEmpty { throw StoreError.invalidName(name, reason: "the \(kind) is empty") }
        if part.utf8.count > max { throw StoreError.invalidName(name, reason: "the \(kind) is longer than \(max) bytes") }
        if part == "." || part == ".." { throw StoreError.invalidName(name, reason: "the \(kind) may not be '\(part)'") }
        if part.contains("..") { throw StoreError.invalidName(name, reason: "the \(kind) may not contain '..'") }
        guard let first = part.unicodeScalars.first, ModelName.isAlnum(first) else {
            throw StoreError.invalidName(name, reason: "the \(kind) must start with a letter or digit")
        }
        for u in part.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f {
                throw StoreError.invalidName(name, reason: "the \(kind) contains a control character")
            }
            let ok = ModelName.isAlnum(u) || u == "_" || u == "-" || u == "." || (allowColon && u == ":")
            if !ok {
                throw StoreError.invalidName(name, reason: "the \(kind) may hold only letters, digits, '_', '-' and '.', not '\(u)'")
            }
        }
    }

    static func isAlnum(_ u: Unicode.Scalar) -> Bool {
        (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
    }

    /// The name as a user writes it: default host and namespace left out, as `ollama list` shows them.
    public var description: String {
        if host == ModelName.defaultHost {
            if namespace == ModelName.defaultNamespace { return "\(model):\(tag)" }
            return "\(namespace)/\(model):\(tag)"
        }
        return "\(host)/\(namespace)/\(model):\(tag)"
    }

    /// The fully qualified name.
    public var fullName: String { "\(host)/\(namespace)/\(model):\(tag)" }

    /// The manifest's path below `manifests/`.
    public var pathComponents: [String] { [host, namespace, model, tag] }
}
