import HearthTensors

/// A parsed, validated GGUF model file whose tensors are zero-copy views into a memory mapping.
///
/// Layout (GGUF spec, ggml/docs/gguf.md; ggml/src/gguf.cpp), all little-endian:
/// ```
/// magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
/// kv_count × (string key, u32 value_type, value)
/// tensor_count × (string name, u32 n_dims, n_dims × u64 dim, u32 ggml_type, u64 offset)
/// padding to `general.alignment` (default 32) | tensor data (offsets relative to here, each aligned)
/// ```
/// Versions 2 and 3 share this layout (v3 only added big-endian files, which this reader rejects with a
/// message); version 1 used 32-bit counts and is obsolete, as in llama.cpp.
///
/// Every field is validated as it is read, so a truncated, corrupt or hostile file fails with a `GGUFError`
/// naming the field and offset, and never crashes or allocates memory sized by an unchecked header value.
///
/// **Lifetime:** `tensors` and `tensor(_:)` return `TensorView`s whose `data` points into this object's
/// mapping. Keep the `GGUFFile` alive (hold a reference) for as long as any view is used; the mapping is
/// released when the last reference goes.
public final class GGUFFile: WeightSource {
    /// Deepest nesting of arrays accepted (an array of arrays is depth 2). Real files use at most 2; the limit
    /// keeps a hostile file from recursing the parser off the stack.
    public static let maxArrayDepth = 8
    /// Largest number of dimensions a tensor can have (ggml `GGML_MAX_DIMS`).
    public static let maxDims = 4
    /// Most metadata array elements a file may hold, all arrays together (16 Mi). The largest real vocabularies
    /// (262k tokens × token, score and type arrays, plus merges) stay far below; see `GGUFCursor.array`.
    public static let maxMetadataElements = 1 << 24
    /// Most tensors and metadata pairs a file may declare (1 Mi each; real models have hundreds to a few
    /// thousand tensors and tens of keys), so the per-entry bookkeeping of a hostile file stays small.
    public static let maxTensors = 1 << 20
    public static let maxMetadataPairs = 1 << 20
    /// Alignment of the data section and of each tensor when `general.alignment` is absent (GGUF spec).
    public static let defaultAlignment = 32

    /// The GGUF format version (2 or 3).
    public let version: Int
    /// Alignment of the data section and of every tensor offset: `general.alignment`, or 32.
    public let alignment: Int
    /// File offset where the tensor data section begins; tensor offsets are relative to it.
    public let dataOffset: Int
    public let fileSize: Int
    public let path: String
    /// All metadata keys, in file order.
    public let metadataKeys: [String]
    /// All tensors, in file order.
    public let tensors: [TensorView]

    private let mapping: MappedFile
    private let values: [String: MetadataValue]
    /// File offset of each key's value (after its type id), for typed getters' error messages.
    private let valueOffsets: [String: Int]
    private let tensorIndex: [String: Int]
    /// File offset of each tensor's data, parallel to `tensors`.
    private let tensorFileOffsets: [Int]

    public var sourceName: String { path }

    /// Maps and parses the file at `path`. Throws `GGUFError` (kind `.io` when the file cannot be mapped).
    public convenience init(path: String) throws(GGUFError) {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let e as MappedFileError {
            throw GGUFError(.io, path: path, offset: nil, field: "file", message: "\(e.operation) failed: \(e.reason)")
        } catch {
            throw GGUFError(.io, path: path, offset: nil, field: "file", message: "\(error)")
        }
        try self.init(file: file)
    }

    /// Parses GGUF bytes held in memory (copied), named `name` in error messages. For tests and tools.
    public convenience init(bytes: [UInt8], name: String = "<memory>") throws(GGUFError) {
        try self.init(file: MappedFile(copying: bytes, name: name))
    }

    /// Parses an already-mapped file. The `GGUFFile` keeps `file` alive.
    public init(file: MappedFile) throws(GGUFError) {
        mapping = file
        path = file.path
        fileSize = file.count
        guard let base = file.bytes.baseAddress else {
            throw GGUFError(.truncated, path: file.path, offset: 0, field: "header magic",
                            message: "the file is empty; expected a GGUF file starting with \"GGUF\"")
        }
        var c = GGUFCursor(base: base, end: file.count, path: file.path)

        // Header.
        try c.need(4, "header magic")
        let magic = c.load(UInt32.self)
        guard magic == 0x4655_4747 else {  // "GGUF" read as little-endian u32
            let b = (0..<4).map { i in UInt8(truncatingIfNeeded: magic >> (8 * UInt32(i))) }
            let shown = b.map { (0x20..<0x7f).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }
            throw GGUFError(.badMagic, path: path, offset: 0, field: "header magic",
                            message: "found \"\(shown.joined())\"; expected \"GGUF\" (is this a GGUF model file?)")
        }
        let versionOffset = c.pos
        let rawVersion = try c.read(UInt32.self, "header version")
        guard rawVersion == 2 || rawVersion == 3 else {
            var msg = "version \(rawVersion) is not supported; expected 2 or 3"
            if rawVersion == 1 { msg += " (GGUF v1 is obsolete; re-convert the model with a current llama.cpp)" }
            if rawVersion & 0xFFFF == 0 { msg += " (a big-endian file? only little-endian GGUF is supported)" }
            throw GGUFError(.unsupportedVersion, path: path, offset: versionOffset, field: "header version", message: msg)
        }
        version = Int(rawVersion)
        // Minimum on-disk sizes: a tensor info is name length + n_dims + type + offset; a kv pair is key length +
        // type + a one-byte value.
        let tensorCount = try c.count(minimumSize: 8 + 4 + 4 + 8, limit: GGUFFile.maxTensors, "header tensor_count")
        let kvCount = try c.count(minimumSize: 8 + 4 + 1, limit: GGUFFile.maxMetadataPairs, "header metadata_kv_count")

        // Metadata.
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        var values: [String: MetadataValue] = [:]
        values.reserveCapacity(kvCount)
        var valueOffsets: [String: Int] = [:]
        valueOffsets.reserveCapacity(kvCount)
        for i in 0..<kvCount {
            let keyOffset = c.pos
            let key = try c.string("metadata pair \(i) key")
            if values[key] != nil {
                throw GGUFError(.duplicateKey, path: path, offset: keyOffset, field: "metadata key '\(key)'",
                                message: "key appears more than once; expected unique keys")
            }
            let typeOffset = c.pos
            let type = try c.read(UInt32.self, "metadata key '\(key)' value type")
            let valueOffset = c.pos
            let value = try c.value(type: type, typeOffset: typeOffset, depth: 0, "metadata key '\(key)' value")
            keys.append(key)
            values[key] = value
            valueOffsets[key] = valueOffset
        }

        // Alignment (GGUF spec: `general.alignment`, uint32, a power of two; default 32).
        var alignment = GGUFFile.defaultAlignment
        if let a = values["general.alignment"] {
            var n = a.intValue
            if case .bool = a { n = nil }  // intValue maps bools to 0/1; a bool is not an alignment
            guard let n, n > 0, n & (n - 1) == 0 else {
                throw GGUFError(.invalidValue, path: path, offset: valueOffsets["general.alignment"],
                                field: "metadata key 'general.alignment'",
                                message: "value \(a) is not valid; expected a nonzero power of two integer")
            }
            alignment = n
        }
        self.alignment = alignment

        // Tensor infos.
        struct Info { var name: String; var type: GGMLType; var shape: [Int]; var offset: Int; var bytes: Int; var at: Int }
        var infos: [Info] = []
        infos.reserveCapacity(tensorCount)
        var tensorIndex: [String: Int] = [:]
        tensorIndex.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let infoOffset = c.pos
            let name = try c.string("tensor info \(i) name")
            if tensorIndex[name] != nil {
                throw GGUFError(.duplicateTensor, path: path, offset: infoOffset, field: "tensor '\(name)'",
                                message: "tensor name appears more than once; expected unique names")
            }
            let dimsOffset = c.pos
            let nDims = try c.read(UInt32.self, "tensor '\(name)' n_dims")
            guard nDims >= 1, nDims <= UInt32(GGUFFile.maxDims) else {
                throw GGUFError(.invalidShape, path: path, offset: dimsOffset, field: "tensor '\(name)' n_dims",
                                message: "n_dims is \(nDims); expected 1...\(GGUFFile.maxDims)")
            }
            var shape: [Int] = []
            shape.reserveCapacity(Int(nDims))
            var elements = 1
            for d in 0..<Int(nDims) {
                let dimOffset = c.pos
                let raw = try c.read(UInt64.self, "tensor '\(name)' dim \(d)")
                guard raw >= 1, raw <= UInt64(Int64.max) else {
                    throw GGUFError(.invalidShape, path: path, offset: dimOffset, field: "tensor '\(name)' dim \(d)",
                                    message: "dimension is \(Int64(bitPattern: raw)); expected a positive size")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                if overflow {
                    throw GGUFError(.invalidShape, path: path, offset: dimOffset, field: "tensor '\(name)' dims",
                                    message: "the element count of dims \(shape + [Int(raw)]) overflows a 64-bit integer")
                }
                elements = product
                shape.append(Int(raw))
            }
            let typeOffset = c.pos
            let typeID = try c.read(UInt32.self, "tensor '\(name)' type")
            guard let type = GGMLType(rawValue: typeID) else {
                let known = GGUFFile.ggmlTypeNames[typeID].map { " (\($0))" } ?? ""
                throw GGUFError(.unsupportedTensorType, path: path, offset: typeOffset, field: "tensor '\(name)' type",
                                message: "ggml type id \(typeID)\(known) is not supported; expected one of "
                                + GGMLType.allCases.map { "\($0.rawValue) (\($0))" }.joined(separator: ", "))
            }
            guard shape[0] % type.blockSize == 0 else {
                throw GGUFError(.invalidShape, path: path, offset: dimsOffset, field: "tensor '\(name)' dims",
                                message: "innermost dimension \(shape[0]) is not a multiple of the \(type) block size \(type.blockSize)")
            }
            guard let bytes = type.byteCount(elements: elements) else {
                throw GGUFError(.invalidShape, path: path, offset: dimsOffset, field: "tensor '\(name)' dims",
                                message: "byte size of \(type) tensor with dims \(shape) overflows a 64-bit integer")
            }
            let offOffset = c.pos
            let rawOffset = try c.read(UInt64.self, "tensor '\(name)' offset")
            guard rawOffset <= UInt64(Int.max) else {
                throw GGUFError(.tensorOutOfBounds, path: path, offset: offOffset, field: "tensor '\(name)' offset",
                                message: "data offset \(rawOffset) is past the end of the file (size \(fileSize))")
            }
            guard Int(rawOffset) % alignment == 0 else {
                throw GGUFError(.misalignedTensor, path: path, offset: offOffset, field: "tensor '\(name)' offset",
                                message: "data offset \(rawOffset) is not a multiple of the alignment \(alignment)")
            }
            tensorIndex[name] = i
            infos.append(Info(name: name, type: type, shape: shape, offset: Int(rawOffset), bytes: bytes, at: offOffset))
        }

        // Data section: starts at the next multiple of `alignment` (llama.cpp pads only when there are tensors).
        var dataOffset = c.pos
        if tensorCount > 0 {
            let (padded, overflow) = c.pos.addingReportingOverflow(alignment - 1)
            dataOffset = overflow ? Int.max : padded / alignment * alignment
            if dataOffset > fileSize {
                throw GGUFError(.truncated, path: path, offset: c.pos, field: "tensor data section",
                                message: "expected the data section at byte \(dataOffset) (aligned to \(alignment)) "
                                + "but the file ends at \(fileSize)")
            }
        }
        self.dataOffset = dataOffset

        // Bounds, then overlap (sorted by offset so this is n log n, not n²).
        var fileOffsets: [Int] = []
        fileOffsets.reserveCapacity(infos.count)
        for t in infos {
            let available = fileSize - dataOffset
            guard t.offset <= available, t.bytes <= available - t.offset else {
                throw GGUFError(.tensorOutOfBounds, path: path, offset: t.at, field: "tensor '\(t.name)' offset",
                                message: "data [\(t.offset), +\(t.bytes)) relative to the data section at byte "
                                + "\(dataOffset) ends past the end of the file (size \(fileSize)); expected it to end by "
                                + "\(fileSize) — is the file truncated?")
            }
            fileOffsets.append(dataOffset + t.offset)
        }
        let order = infos.indices.sorted { (infos[$0].offset, $0) < (infos[$1].offset, $1) }
        for (a, b) in zip(order, order.dropFirst()) where infos[a].offset + infos[a].bytes > infos[b].offset {
            throw GGUFError(.overlappingTensors, path: path, offset: infos[b].at, field: "tensor '\(infos[b].name)' offset",
                            message: "data [\(infos[b].offset), +\(infos[b].bytes)) overlaps tensor '\(infos[a].name)' "
                            + "at [\(infos[a].offset), +\(infos[a].bytes)); expected disjoint tensor data")
        }

        self.tensors = zip(infos, fileOffsets).map { t, at in
            TensorView(name: t.name, type: t.type, shape: t.shape, data: base + at, byteCount: t.bytes)
        }
        self.tensorFileOffsets = fileOffsets
        self.tensorIndex = tensorIndex
        self.metadataKeys = keys
        self.values = values
        self.valueOffsets = valueOffsets
    }

    // MARK: - WeightSource

    /// Drops `tensor`'s whole pages from the resident set (see `MappedFile.releasePages`).
    public func releasePages(of tensor: TensorView) {
        mapping.releasePages(tensor.data, count: tensor.byteCount)
    }

    /// The tensor named `name`, or nil. The view points into this file's mapping: keep `self` alive.
    public func tensor(_ name: String) -> TensorView? {
        guard let i = tensorIndex[name] else { return nil }
        return tensors[i]
    }

    public func metadata(_ key: String) -> MetadataValue? { values[key] }

    /// Absolute file offset of a metadata key's value (just after its type id), or nil when absent.
    public func metadataValueOffset(_ key: String) -> Int? { valueOffsets[key] }

    /// Absolute file offset of the tensor's data, or nil when there is no such tensor.
    public func tensorFileOffset(_ name: String) -> Int? {
        guard let i = tensorIndex[name] else { return nil }
        return tensorFileOffsets[i]
    }

    /// `general.architecture` ("llama", "qwen2", "gemma3"…), which model loaders dispatch on.
    public var architecture: String? { values["general.architecture"]?.stringValue }

    /// Names of ggml type ids this build cannot load, so the error says "IQ2_XXS" rather than just a number
    /// (ggml.h `enum ggml_type`).
    static let ggmlTypeNames: [UInt32: String] = [
        4: "Q4_2, removed", 5: "Q4_3, removed", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
        20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64",
        28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
    ]
}
