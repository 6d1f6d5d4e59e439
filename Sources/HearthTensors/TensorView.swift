/// A zero-copy view of one tensor: its type, its shape and a pointer into memory someone else owns (usually an
/// mmap'd model file). Shapes follow ggml: `shape[0]` is the innermost (contiguous) dimension, so a weight matrix
/// of `rows × cols` has `shape == [cols, rows]`, and each row is `rowBytes` long.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// The same Q4_K rows repacked sixteen at a time for the AVX-512 kernels (HearthKernels/Q4KInterleave.swift),
    /// or nil. `data` stays valid either way: paths that cannot read the repacked layout use it.
    public let interleavedQ4K: UnsafeRawPointer?

    public init(name: String, type: GGMLType, shape: [Int], data: UnsafeRawPointer, byteCount: Int,
                interleavedQ4K: UnsafeRawPointer? = nil) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
        self.byteCount = byteCount
        self.interleavedQ4K = interleavedQ4K
    }

    public var elementCount: Int { shape.reduce(1, *) }
    /// Length of the innermost dimension (the "k" of a matmul).
    public var columns: Int { shape.first ?? 1 }
    /// Product of the outer dimensions.
    public var rows: Int { shape.dropFirst().reduce(1, *) }
    public var rowBytes: Int { columns / type.blockSize * type.blockBytes }

    public func row(_ i: Int) -> UnsafeRawPointer { data + i * rowBytes }
}

/// A metadata value, as GGUF types them (GGUF spec, `gguf_metadata_value_type`). SafeTensors' config.json is
/// mapped onto the same keys so models never know the file format.
public enum MetadataValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([MetadataValue])

    /// Any integer type as Int (nil for non-integers or a UInt64 above Int.max).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        case .bool(let v): return v ? 1 : 0
        default: return nil
        }
    }

    /// Any numeric type as Double.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? {
        switch self {
        case .bool(let b): return b
        default: return intValue.map { $0 != 0 }
        }
    }
    public var arrayValue: [MetadataValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// Where a model gets its weights and hyperparameters from. Models ask for tensors by their GGUF names
/// (`blk.0.attn_q.weight`) and metadata by GGUF keys (`llama.block_count`); adapters for other formats map names.
public protocol WeightSource: AnyObject, Sendable {
    /// A short description of the source, for error messages (usually the file path).
    var sourceName: String { get }
    func tensor(_ name: String) -> TensorView?
    func metadata(_ key: String) -> MetadataValue?
    /// All metadata keys, in file order.
    var metadataKeys: [String] { get }
    /// All tensors, in file order.
    var tensors: [TensorView] { get }
    /// Tells the source that `tensor`'s bytes will not be read for a while (the engine keeps a repacked copy),
    /// so a file mapping can drop those pages from the resident set. Reading them later must still work: a
    /// mapping faults them in again. Sources without a file mapping do nothing.
    func releasePages(of tensor: TensorView)
}

extension WeightSource {
    public func releasePages(of tensor: TensorView) {}
}
