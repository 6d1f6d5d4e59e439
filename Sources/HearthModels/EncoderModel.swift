import HearthFormats
import HearthKernels
import HearthTensors

/// A bidirectional encoder (BERT and its kin): token sequences in, one pooled vector per sequence out.
/// Sequences of different lengths go through one forward pass together.
public protocol EncoderModel: AnyObject, Sendable {
    var info: ModelInfo { get }
    /// The longest sequence the position table allows.
    var maxPositions: Int { get }
    /// The pooling the model's files declare, when they declare one (GGUF `bert.pooling_type`, the directory's
    /// sentence-transformers Pooling module).
    var declaredPooling: PoolingMode? { get }
    /// Runs all `sequences` in one batch and pools each one's last hidden states with `pooling`.
    /// Throws `ModelError.invalidBatch` for an empty or over-long sequence, a token id outside the vocabulary.
    func embed(_ sequences: [[Int32]], pooling: PoolingMode) throws -> [[Float]]
}

/// Maps `model_type` (HF directory) / `general.architecture` (GGUF) to an encoder loader. Adding an encoder
/// architecture = one file + one line here.
public enum EncoderRegistry {
    static let loaders: [String: @Sendable (WeightSource, ThreadPool) throws -> EncoderModel] = [
        "bert": { try BertModel(source: $0, pool: $1) },
    ]

    public static var architectures: [String] { loaders.keys.sorted() }

    public static func supports(_ architecture: String) -> Bool { loaders[architecture] != nil }

    public static func load(_ source: WeightSource, pool: ThreadPool) throws -> EncoderModel {
        guard let arch = source.metadata("general.architecture")?.stringValue else {
            throw ModelError.missingMetadata(source: source.sourceName, key: "general.architecture")
        }
        guard let loader = loaders[arch] else { throw ModelError.unsupportedArchitecture(arch) }
        return try loader(source, pool)
    }
}

/// Pooling of token states into one vector per sequence, as sentence-transformers' `Pooling` module computes it.
public enum Pooling {
    /// `hidden` holds the sequences' token states back to back (`lengths[s]` rows of `dim` each).
    public static func pool(_ hidden: UnsafePointer<Float>, lengths: [Int], dim: Int, mode: PoolingMode) -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(lengths.count)
        var row = 0
        for len in lengths {
            var v = [Float](repeating: 0, count: dim)
            let base = hidden + row * dim
            switch mode {
            case .cls:
                for d in 0..<dim { v[d] = base[d] }
            case .lastToken:
                for d in 0..<dim { v[d] = base[(len - 1) * dim + d] }
            case .max:
                for d in 0..<dim { v[d] = base[d] }
                for t in 1..<max(1, len) { for d in 0..<dim { v[d] = max(v[d], base[t * dim + d]) } }
            case .mean, .meanSqrtLen:
                var acc = [Double](repeating: 0, count: dim)
                for t in 0..<len { for d in 0..<dim { acc[d] += Double(base[t * dim + d]) } }
                let div = mode == .mean ? Double(len) : Double(len).squareRoot()
                for d in 0..<dim { v[d] = Float(acc[d] / div) }
            }
            out.append(v)
            row += len
        }
        return out
    }

    /// L2 normalization, as `torch.nn.functional.normalize` (the norm clamped below at 1e-12).
    public static func normalize(_ v: inout [Float]) {
        var ss: Double = 0
        for x in v { ss += Double(x) * Double(x) }
        let inv = Float(1 / max(ss.squareRoot(), 1e-12))
        for i in v.indices { v[i] *= inv }
    }
}
