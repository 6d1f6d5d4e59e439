import Foundation
import HearthTensors

/// How token states become one embedding, from sentence-transformers' `Pooling` module config
/// (`1_Pooling/config.json`: `pooling_mode_cls_token`, `pooling_mode_mean_tokens`, `pooling_mode_max_tokens`,
/// `pooling_mode_mean_sqrt_len_tokens`, `pooling_mode_lasttoken`).
public enum PoolingMode: String, Sendable, CaseIterable {
    case mean, cls, max, meanSqrtLen = "mean_sqrt_len", lastToken = "last_token"
}

/// A Hugging Face model directory: `config.json` (its `model_type` picks the architecture), SafeTensors weights
/// (one file or shards), `tokenizer.json` with `tokenizer_config.json` / `special_tokens_map.json`, and the
/// sentence-transformers files that say how to pool and normalize (`modules.json`, `1_Pooling/config.json`,
/// `2_Normalize`, `sentence_bert_config.json`).
///
/// As a `WeightSource` it serves the checkpoint's tensors under their own names, and config.json under
/// GGUF-style keys (`general.architecture`, `bert.embedding_length`, `bert.block_count`…) so models read
/// hyperparameters the same way from either format; every scalar config entry is also there as `config.<key>`.
public final class HFModelDirectory: WeightSource, @unchecked Sendable {
    // @unchecked: immutable after init.
    public let path: String
    public let modelType: String
    /// config.json as parsed.
    public let config: [String: JSONValue]
    public let weights: SafeTensorsWeights
    /// Path of tokenizer.json (checked to exist).
    public let tokenizerPath: String
    /// tokenizer_config.json and special_tokens_map.json (empty when absent).
    public let tokenizerConfig: [String: JSONValue]
    public let specialTokensMap: [String: JSONValue]
    /// The pooling the sentence-transformers modules declare (mean when the directory has none).
    public let pooling: PoolingMode
    /// Whether a `Normalize` module follows pooling (L2 normalization).
    public let normalize: Bool
    /// The longest input in tokens: sentence_bert_config.json's `max_seq_length`, else tokenizer_config.json's
    /// `model_max_length`, never more than config.json's `max_position_embeddings`.
    public let maxSequenceLength: Int

    /// Whether `path` looks like a model directory (a directory holding config.json).
    public static func isModelDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            && FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json"))
    }

    public init(path: String) throws {
        self.path = path
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        config = try HFModelDirectory.readObject(file("config.json"), required: true)
        guard let type = config["model_type"]?.stringValue, !type.isEmpty else {
            throw SafeTensorsError(.invalidConfig, path: file("config.json"), field: "model_type",
                                   message: "expected the architecture name as a string (e.g. \"bert\")")
        }
        modelType = type
        tokenizerPath = file("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw SafeTensorsError(.io, path: tokenizerPath, field: "file",
                                   message: "missing: the directory needs a tokenizer.json (Hugging Face tokenizers format)")
        }
        tokenizerConfig = try HFModelDirectory.readObject(file("tokenizer_config.json"), required: false)
        specialTokensMap = try HFModelDirectory.readObject(file("special_tokens_map.json"), required: false)

        // sentence-transformers modules: Transformer, then Pooling, then optionally Normalize.
        var pooling = PoolingMode.mean, normalize = false
        if FileManager.default.fileExists(atPath: file("modules.json")) {
            let modules = try HFModelDirectory.readJSON(file("modules.json"))
            guard let list = modules.arrayValue else {
                throw SafeTensorsError(.invalidConfig, path: file("modules.json"), field: "modules",
                                       message: "expected an array of modules, found \(modules.kindName)")
            }
            for (i, m) in list.enumerated() {
                guard let kind = m["type"]?.stringValue else {
                    throw SafeTensorsError(.invalidConfig, path: file("modules.json"), field: "module \(i) type",
                                           message: "expected a string such as \"sentence_transformers.models.Pooling\"")
                }
                let sub = m["path"]?.stringValue ?? ""
                guard !sub.contains(".."), !sub.hasPrefix("/") else {
                    throw SafeTensorsError(.invalidConfig, path: file("modules.json"), field: "module \(i) path",
                                           message: "'\(sub)' leaves the model directory")
                }
                if kind.hasSuffix(".Pooling") {
                    pooling = try HFModelDirectory.poolingMode(file((sub as NSString).appendingPathComponent("config.json")))
                } else if kind.hasSuffix(".Normalize") {
                    normalize = true
                }
            }
        }
        self.pooling = pooling
        self.normalize = normalize

        let positions = config["max_position_embeddings"]?.intValue
        var maxLength = positions ?? 512
        let stConfig = try HFModelDirectory.readObject(file("sentence_bert_config.json"), required: false)
        if let m = stConfig["max_seq_length"]?.intValue, m > 0 {
            maxLength = min(m, positions ?? m)
        } else if let m = tokenizerConfig["model_max_length"]?.intValue, m > 0 {
            maxLength = min(m, positions ?? m)
        }
        maxSequenceLength = maxLength

        var meta: [(String, MetadataValue)] = [("general.architecture", .string(type))]
        let name = config["_name_or_path"]?.stringValue ?? (path as NSString).lastPathComponent
        meta.append(("general.name", .string(name)))
        let mapped: [(String, String)] = [
            ("hidden_size", "embedding_length"), ("num_hidden_layers", "block_count"),
            ("num_attention_heads", "attention.head_count"), ("intermediate_size", "feed_forward_length"),
            ("max_position_embeddings", "context_length"), ("layer_norm_eps", "attention.layer_norm_epsilon"),
            ("vocab_size", "vocab_size"), ("type_vocab_size", "token_type_count"),
        ]
        for (hf, gguf) in mapped { if let v = config[hf]?.metadataValue { meta.append(("\(type).\(gguf)", v)) } }
        meta.append(("\(type).pooling_type", .string(pooling.rawValue)))
        meta.append(("\(type).normalize", .bool(normalize)))
        for key in config.keys.sorted() { if let v = config[key]?.metadataValue { meta.append(("config.\(key)", v)) } }
        weights = try SafeTensorsWeights(directory: path, metadata: meta)
    }

    public var sourceName: String { path }
    public func tensor(_ name: String) -> TensorView? { weights.tensor(name) }
    public func metadata(_ key: String) -> MetadataValue? { weights.metadata(key) }
    public var metadataKeys: [String] { weights.metadataKeys }
    public var tensors: [TensorView] { weights.tensors }

    static func readJSON(_ file: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SafeTensorsError(.io, path: file, field: "file", message: "cannot be read")
        }
        do { return try JSONValue.parse(data) } catch {
            throw SafeTensorsError(.badJSON, path: file, field: "JSON", message: "not valid JSON: \(JSONValue.describe(error))")
        }
    }

    static func readObject(_ file: String, required: Bool) throws -> [String: JSONValue] {
        if !required && !FileManager.default.fileExists(atPath: file) { return [:] }
        guard FileManager.default.fileExists(atPath: file) else {
            throw SafeTensorsError(.io, path: file, field: "file", message: "missing from the model directory")
        }
        let json = try readJSON(file)
        guard let o = json.objectValue else {
            throw SafeTensorsError(.invalidConfig, path: file, field: "JSON", message: "expected an object, found \(json.kindName)")
        }
        return o
    }

    static func poolingMode(_ file: String) throws -> PoolingMode {
        let o = try readObject(file, required: true)
        let modes: [(String, PoolingMode)] = [
            ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max),
            ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLen), ("pooling_mode_lasttoken", .lastToken),
        ]
        let on = modes.filter { o[$0.0]?.boolValue == true }
        guard on.count == 1 else {
            throw SafeTensorsError(.invalidConfig, path: file, field: "pooling_mode_*",
                                   message: on.isEmpty ? "no pooling mode is true; expected exactly one"
                                       : "\(on.map(\.0).joined(separator: ", ")) are all true; combined poolings are not supported")
        }
        return on[0].1
    }
}
