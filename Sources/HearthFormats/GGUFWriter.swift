#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HearthTensors

/// Builds a GGUF version 3 file (GGUF spec, ggml/docs/gguf.md), the layout `GGUFFile` reads.
///
/// Used by tests to build tiny models with random weights, and by `quantize` to write converted models.
/// Metadata and tensors are written in the order they were added. The data section and every tensor start at
/// a multiple of the alignment, and each tensor's data is zero-padded to the alignment (as llama.cpp's
/// writer does, so the last tensor also ends on a boundary). The alignment is 32 unless `general.alignment` is
/// added as metadata, in which case its value is used (it must be a nonzero power of two).
///
/// Arrays: GGUF stores one element type per array, taken from the first element; every other element must
/// have the same type (nested arrays may each have their own). An empty array is written with element type
/// uint8, which reads back as an empty array of any type.
public struct GGUFWriter: Sendable {
    private struct Tensor: Sendable {
        var name: String
        var type: GGMLType
        var shape: [Int]
        var data: [UInt8]
    }

    private var keys: [String] = []
    private var values: [String: MetadataValue] = [:]
    private var tensors: [Tensor] = []
    private var tensorNames: Set<String> = []

    /// Alignment of the data section and tensors: `general.alignment` if added, else 32.
    public private(set) var alignment = GGUFFile.defaultAlignment

    public init() {}

    /// Appends a metadata pair. Throws for a duplicate key, an array whose elements differ in type, arrays
    /// nested deeper than `GGUFFile.maxArrayDepth`, or an invalid `general.alignment`.
    public mutating func addMetadata(_ key: String, _ value: MetadataValue) throws(GGUFError) {
        if values[key] != nil {
            throw writerError(.duplicateKey, "metadata key '\(key)'", "key was already added")
        }
        try validate(value, key: key, depth: 0)
        if key == "general.alignment" {
            var n = value.intValue
            if case .bool = value { n = nil }
            guard let n, n > 0, n & (n - 1) == 0, n <= 1 << 30 else {
                throw writerError(.invalidValue, "metadata key 'general.alignment'",
                                  "value \(value) is not valid; expected a nonzero power of two integer")
            }
            alignment = n
        }
        keys.append(key)
        values[key] = value
    }

    /// Appends a tensor. `shape` is in ggml order (innermost first); `bytes` is the raw data in `type`'s
    /// layout and must be exactly the size the shape implies. Throws for a duplicate name or a bad shape.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], bytes: [UInt8]) throws(GGUFError) {
        let field = "tensor '\(name)'"
        if tensorNames.contains(name) {
            throw writerError(.duplicateTensor, field, "tensor name was already added")
        }
        guard (1...GGUFFile.maxDims).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else {
            throw writerError(.invalidShape, field, "shape \(shape) must have 1...\(GGUFFile.maxDims) positive dims")
        }
        var elements = 1
        for d in shape {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            if o { throw writerError(.invalidShape, field, "element count of shape \(shape) overflows") }
            elements = p
        }
        guard shape[0] % type.blockSize == 0, let expected = type.byteCount(elements: elements) else {
            throw writerError(.invalidShape, field,
                              "innermost dim \(shape[0]) is not a multiple of the \(type) block size \(type.blockSize)")
        }
        guard bytes.count == expected else {
            throw writerError(.invalidValue, field,
                              "got \(bytes.count) bytes; a \(type) tensor of shape \(shape) takes \(expected)")
        }
        tensorNames.insert(name)
        tensors.append(Tensor(name: name, type: type, shape: shape, data: bytes))
    }

    /// Appends a tensor, copying its bytes from `bytes`.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int],
                                   bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        try addTensor(name: name, type: type, shape: shape, bytes: Array(bytes))
    }

    /// Appends float32 values as an F32 tensor.
    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws(GGUFError) {
        let bytes = floats.withUnsafeBytes { Array($0) }
        try addTensor(name: name, type: .f32, shape: shape, bytes: bytes)
    }

    /// The whole file's bytes.
    public func serialize() -> [UInt8] {
        var out = header()
        appendData(to: &out)
        return out
    }

    /// Writes the file to `path` (created or truncated). Throws `GGUFError` of kind `.io` naming the path.
    public func write(to path: String) throws(GGUFError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError(path, "open") }
        var ok = true
        func put(_ bytes: [UInt8]) {
            guard ok else { return }
            bytes.withUnsafeBytes { buf in
                var done = 0
                while done < buf.count, let base = buf.baseAddress {
                    let n = posixWrite(fd, base + done, buf.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        ok = false
                        return
                    }
                    done += n
                }
            }
        }
        // Header, then each tensor with its padding, so a large model is never held twice in memory.
        put(header())
        for t in tensors {
            put(t.data)
            put([UInt8](repeating: 0, count: padding(t.data.count)))
        }
        if !ok {
            let e = ioError(path, "write")
            close(fd)
            throw e
        }
        if close(fd) != 0 { throw ioError(path, "close") }
    }

    // MARK: - encoding

    private func padding(_ n: Int) -> Int { (alignment - n % alignment) % alignment }

    /// Magic, version, counts, metadata, tensor infos, and padding up to the data section.
    private func header() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        out += [0x47, 0x47, 0x55, 0x46]  // "GGUF"
        put(UInt32(3), &out)
        put(UInt64(tensors.count), &out)
        put(UInt64(keys.count), &out)
        for key in keys {
            guard let value = values[key] else { continue }
            putString(key, &out)
            put(GGUFValueType(of: value).rawValue, &out)
            putValue(value, &out)
        }
        var offset = 0
        for t in tensors {
            putString(t.name, &out)
            put(UInt32(t.shape.count), &out)
            for d in t.shape { put(UInt64(d), &out) }
            put(t.type.rawValue, &out)
            put(UInt64(offset), &out)
            offset += t.data.count + padding(t.data.count)
        }
        if !tensors.isEmpty {
            out += [UInt8](repeating: 0, count: padding(out.count))
        }
        return out
    }

    private func appendData(to out: inout [UInt8]) {
        for t in tensors {
            out += t.data
            out += [UInt8](repeating: 0, count: padding(t.data.count))
        }
    }

    private func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out += $0 }
    }

    private func putString(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), &out)
        out += s.utf8
    }

    private func putValue(_ v: MetadataValue, _ out: inout [UInt8]) {
        switch v {
        case .uint8(let x): put(x, &out)
        case .int8(let x): put(x, &out)
        case .uint16(let x): put(x, &out)
        case .int16(let x): put(x, &out)
        case .uint32(let x): put(x, &out)
        case .int32(let x): put(x, &out)
        case .uint64(let x): put(x, &out)
        case .int64(let x): put(x, &out)
        case .float32(let x): put(x.bitPattern, &out)
        case .float64(let x): put(x.bitPattern, &out)
        case .bool(let x): put(UInt8(x ? 1 : 0), &out)
        case .string(let s): putString(s, &out)
        case .array(let a):
            put((a.first.map { GGUFValueType(of: $0) } ?? .uint8).rawValue, &out)
            put(UInt64(a.count), &out)
            for e in a { putValue(e, &out) }
        }
    }

    private func validate(_ v: MetadataValue, key: String, depth: Int) throws(GGUFError) {
        guard case .array(let a) = v else { return }
        if depth + 1 > GGUFFile.maxArrayDepth {
            throw writerError(.nestingTooDeep, "metadata key '\(key)'",
                              "arrays nested more than \(GGUFFile.maxArrayDepth) deep")
        }
        guard let first = a.first else { return }
        let type = GGUFValueType(of: first)
        for (i, e) in a.enumerated() {
            guard GGUFValueType(of: e) == type else {
                throw writerError(.invalidValue, "metadata key '\(key)' element \(i)",
                                  "element is \(GGUFValueType(of: e).name); GGUF arrays hold one type, "
                                  + "expected \(type.name) like element 0")
            }
            try validate(e, key: key, depth: depth + 1)
        }
    }

    private func writerError(_ kind: GGUFError.Kind, _ field: String, _ message: String) -> GGUFError {
        GGUFError(kind, path: "<GGUFWriter>", offset: nil, field: field, message: message)
    }

    private func ioError(_ path: String, _ op: String) -> GGUFError {
        let code = errno
        return GGUFError(.io, path: path, offset: nil, field: "file",
                         message: "\(op) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// The libc `write(2)`, named apart from `GGUFWriter.write(to:)`, which shadows it inside the struct.
private func posixWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, buf, n)
}
