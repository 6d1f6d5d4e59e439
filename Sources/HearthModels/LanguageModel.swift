import HearthFormats
import HearthKernels
import HearthTensors

/// Errors a model raises: each names the tensor, key or batch entry and says what was expected.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String)
    case missingMetadata(source: String, key: String)
    case invalidMetadata(source: String, key: String, expected: String)
    case missingTensor(source: String, name: String)
    case badTensor(source: String, name: String, expected: String)
    case invalidBatch(String)
    case contextFull(String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a): return "unsupported model architecture '\(a)' (supported: \(ModelRegistry.architectures.joined(separator: ", ")))"
        case .missingMetadata(let s, let k): return "\(s): missing metadata key '\(k)'"
        case .invalidMetadata(let s, let k, let e): return "\(s): metadata key '\(k)' is invalid: expected \(e)"
        case .missingTensor(let s, let n): return "\(s): missing tensor '\(n)'"
        case .badTensor(let s, let n, let e): return "\(s): tensor '\(n)': expected \(e)"
        case .invalidBatch(let m): return "invalid batch: \(m)"
        case .contextFull(let m): return m
        }
    }
}

/// Hyperparameters every causal LM exposes to the engine.
public struct ModelInfo: Sendable {
    public var architecture: String
    public var layerCount: Int
    public var embeddingSize: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int
    public var vocabSize: Int
    public var trainedContext: Int
    public var parameterCount: Int
}

/// A causal language model: one forward pass over a multi-sequence batch, writing K/V into the cache.
public protocol LanguageModel: AnyObject, Sendable {
    var info: ModelInfo { get }
    /// A KV cache laid out for this model.
    func makeCache(capacity: Int) -> KVCache
    func forward(_ batch: Batch, cache: KVCache) throws -> Logits
    /// Whether some layers attend over a sliding window only (llama.cpp's `n_swa > 0`).
    var hasSlidingWindow: Bool { get }
}

extension LanguageModel {
    public var hasSlidingWindow: Bool { false }
}

/// Maps `general.architecture` to a loader. Adding an architecture = one file + one line here.
public enum ModelRegistry {
    static let loaders: [String: @Sendable (WeightSource, ThreadPool) throws -> LanguageModel] = [
        "llama": { try LlamaModel(source: $0, pool: $1) },
        "gemma3": { try Gemma3Model(source: $0, pool: $1) },
        "qwen2": { try Qwen2.load(source: $0, pool: $1) },
    ]

    public static var architectures: [String] { loaders.keys.sorted() }

    public static func load(_ source: WeightSource, pool: ThreadPool) throws -> LanguageModel {
        guard let arch = source.metadata("general.architecture")?.stringValue else {
            throw ModelError.missingMetadata(source: source.sourceName, key: "general.architecture")
        }
        guard let loader = loaders[arch] else { throw ModelError.unsupportedArchitecture(arch) }
        return try loader(source, pool)
    }
}

/// Typed access to weights and hyperparameters with errors that name the file and key/tensor.
struct WeightReader {
    let source: WeightSource
    /// Where matmul weights get their repacked copies (`weight(_:_:)`); nil: never repacked.
    var packer: PackedWeights? = nil

    func int(_ key: String) throws -> Int {
        guard let v = source.metadata(key) else { throw ModelError.missingMetadata(source: source.sourceName, key: key) }
        guard let i = v.intValue, i >= 0 else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: key, expected: "a non-negative integer")
        }
        return i
    }

    func int(_ key: String, default d: Int) throws -> Int {
        source.metadata(key) == nil ? d : try int(key)
    }

    func float(_ key: String, default d: Float? = nil) throws -> Float {
        guard let v = source.metadata(key) else {
            if let d { return d }
            throw ModelError.missingMetadata(source: source.sourceName, key: key)
        }
        guard let f = v.doubleValue else {
            throw ModelError.invalidMetadata(source: source.sourceName, key: key, expected: "a number")
        }
        return Float(f)
    }

    /// A tensor with the given ggml shape (innermost first). Types must be ones the kernels handle.
    func tensor(_ name: String, _ shape: [Int]) throws -> TensorView {
        guard let t = source.tensor(name) else { throw ModelError.missingTensor(source: source.sourceName, name: name) }
        var actual = t.shape
        while actual.count > shape.count, actual.last == 1 { actual.removeLast() }
        guard actual == shape else {
            throw ModelError.badTensor(source: source.sourceName, name: name,
                                       expected: "shape \(shape), found \(t.shape)")
        }
        return t
    }

    /// A weight only ever multiplied (never read row by row as an embedding): `tensor` with a repacked copy
    /// attached where the kernels have a faster layout for it (`PackedWeights`).
    func weight(_ name: String, _ shape: [Int]) throws -> TensorView {
        let t = try tensor(name, shape)
        return packer?.prepare(t) ?? t
    }

    func optionalTensor(_ name: String, _ shape: [Int]) throws -> TensorView? {
        source.tensor(name) == nil ? nil : try tensor(name, shape)
    }

    /// A norm or bias vector: must be F32 since ops read it as floats directly.
    func f32Tensor(_ name: String, _ count: Int) throws -> UnsafePointer<Float> {
        let t = try tensor(name, [count])
        guard t.type == .f32 else {
            throw ModelError.badTensor(source: source.sourceName, name: name, expected: "type F32, found \(t.type)")
        }
        return t.data.assumingMemoryBound(to: Float.self)
    }
}
