import Foundation
import HearthFormats
import HearthGrammar
import HearthKernels
import HearthModels
import HearthTensors
import HearthTokenizers

/// Errors the engine raises for user-level problems (prompt too long, bad options).
public enum EngineError: Error, CustomStringConvertible {
    case promptTooLong(tokens: Int, context: Int)
    case invalidOption(String)
    case fileNotFound(String)
    /// A grammar or JSON Schema that cannot be used, or that no token can continue.
    case grammar(String)

    public var description: String {
        switch self {
        case .promptTooLong(let t, let c): return "the prompt is \(t) tokens, longer than the context of \(c) tokens"
        case .invalidOption(let m): return m
        case .fileNotFound(let p): return "\(p): no such file"
        case .grammar(let m): return m
        }
    }
}

/// A model file opened and ready: the mmap'd weights, the architecture's forward pass, the tokenizer and the
/// thread pool they compute on.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let file: GGUFFile
    public let model: LanguageModel
    /// The model's tokenizer, chosen by `tokenizer.ggml.model` (`BPETokenizer` for gpt2, `SPMTokenizer` for llama).
    public let tokenizer: any Tokenizer
    public let pool: ThreadPool
    /// Wall time spent loading, in seconds.
    public let loadDuration: Double

    public init(path: String, threads: Int? = nil) throws {
        let start = Date()
        guard FileManager.default.fileExists(atPath: path) else { throw EngineError.fileNotFound(path) }
        self.path = path
        file = try GGUFFile(path: path)
        pool = ThreadPool(threads: threads ?? ThreadPool.defaultThreadCount)
        model = try ModelRegistry.load(file, pool: pool)
        tokenizer = try makeTokenizer(metadata: { [file] in file.metadata($0) })
        loadDuration = Date().timeIntervalSince(start)
    }

    private let trieLock = NSLock()
    private var trie: TokenTrie?

    /// The vocabulary as a prefix tree of token bytes, for grammar masks (built on first use, then kept).
    public var tokenTrie: TokenTrie {
        trieLock.lock()
        defer { trieLock.unlock() }
        if let trie { return trie }
        let t = TokenTrie(pieces: (0..<tokenizer.vocabSize).map { tokenizer.piece(Int32($0)) },
                          endTokens: Array(tokenizer.endOfGenerationIds))
        trie = t
        return t
    }

    /// Whether the model wants BOS before a prompt (`tokenizer.ggml.add_bos_token`).
    public var addsBOS: Bool { tokenizer.addBOS }

    public func tokenize(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int32] {
        tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
    }
}

extension LoadedModel {
    /// Only the tokenizer of a model file, without its weights or architecture (what `hearth tokenize` needs, so it
    /// also works for models whose architecture this build cannot run).
    public static func loadTokenizer(path: String) throws -> any Tokenizer {
        guard FileManager.default.fileExists(atPath: path) else { throw EngineError.fileNotFound(path) }
        let file = try GGUFFile(path: path)
        return try makeTokenizer(metadata: { file.metadata($0) })
    }
}

extension Tokenizer {
    /// A token's bytes as text, for display and JSON (a partial UTF-8 sequence shows as U+FFFD).
    public func pieceText(_ id: Int32) -> String { String(decoding: piece(id), as: UTF8.self) }
}
