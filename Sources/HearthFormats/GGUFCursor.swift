import HearthTensors

/// Metadata value type ids (GGUF spec, `gguf_metadata_value_type`; ggml/include/gguf.h `enum gguf_type`).
enum GGUFValueType: UInt32 {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The fewest bytes one value of this type can take on disk. Used to reject an array length before
    /// reserving memory for it: a count is plausible only if `count * minimumSize <= bytes left`.
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string: return 8             // u64 length, possibly zero bytes of text
        case .array: return 4 + 8          // element type + u64 count, possibly no elements
        }
    }

    var name: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }

    init(of value: MetadataValue) {
        switch value {
        case .uint8: self = .uint8
        case .int8: self = .int8
        case .uint16: self = .uint16
        case .int16: self = .int16
        case .uint32: self = .uint32
        case .int32: self = .int32
        case .uint64: self = .uint64
        case .int64: self = .int64
        case .float32: self = .float32
        case .float64: self = .float64
        case .bool: self = .bool
        case .string: self = .string
        case .array: self = .array
        }
    }
}

/// A bounds-checked little-endian reader over a file's bytes.
///
/// Parsing reads straight from the mapped pointer (no `Data` slices, no copies) so that a 49k-entry vocabulary
/// parses in milliseconds. Every read first checks that the bytes exist, so a truncated or lying file becomes a
/// `GGUFError` naming the field and offset, never an out-of-bounds read. `field` is an autoclosure so the
/// description string is built only when an error is thrown.
struct GGUFCursor {
    let base: UnsafeRawPointer
    let end: Int
    let path: String
    var pos: Int = 0
    /// Array elements read so far, over all metadata (checked against `GGUFFile.maxMetadataElements`).
    var metadataElements = 0

    var remaining: Int { end - pos }

    func error(_ kind: GGUFError.Kind, at offset: Int, _ field: String, _ message: String) -> GGUFError {
        GGUFError(kind, path: path, offset: offset, field: field, message: message)
    }

    @inline(__always)
    func need(_ n: Int, _ field: @autoclosure () -> String) throws(GGUFError) {
        if n > end - pos {
            throw error(.truncated, at: pos, field(),
                        "expected \(n) more byte\(n == 1 ? "" : "s") but the file ends after \(end - pos) (file size \(end))")
        }
    }

    /// Reads a fixed-size little-endian integer; the caller has checked `need`.
    @inline(__always)
    mutating func load<T: FixedWidthInteger>(_: T.Type) -> T {
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: T.self))
        pos += MemoryLayout<T>.size
        return v
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, field())
        return load(T.self)
    }

    /// Reads a u64 count and checks that `count` items of at least `minimumSize` bytes each could fit in what
    /// is left of the file, so no allocation is ever sized by an unchecked header value.
    mutating func count(minimumSize: Int, limit: Int = .max, _ field: @autoclosure () -> String) throws(GGUFError) -> Int {
        let start = pos
        let raw = try read(UInt64.self, field())
        if raw > UInt64(limit) {
            throw error(.tooLarge, at: start, field(), "count \(raw) is more than the \(limit) this reader accepts")
        }
        let fits = UInt64(remaining / max(minimumSize, 1))
        if raw > fits {
            throw error(.tooLarge, at: start, field(),
                        "count \(raw) cannot fit in the \(remaining) bytes left in the file "
                        + "(each item takes at least \(minimumSize) byte\(minimumSize == 1 ? "" : "s"))")
        }
        return Int(raw)
    }

    /// Reads a GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func string(_ field: @autoclosure () -> String) throws(GGUFError) -> String {
        let start = pos
        let raw = try read(UInt64.self, field() + " length")
        if raw > UInt64(remaining) {
            throw error(.tooLarge, at: start, field(),
                        "string length \(raw) exceeds the \(remaining) bytes left in the file")
        }
        let n = Int(raw)
        let text = UnsafeBufferPointer(start: (base + pos).assumingMemoryBound(to: UInt8.self), count: n)
        guard let s = String(validating: text, as: UTF8.self) else {
            throw error(.invalidUTF8, at: pos, field(), "string of \(n) byte\(n == 1 ? "" : "s") is not valid UTF-8")
        }
        pos += n
        return s
    }

    /// Reads a value of type id `rawType` (already read). `depth` counts enclosing arrays.
    mutating func value(type rawType: UInt32, typeOffset: Int, depth: Int,
                        _ field: @autoclosure () -> String) throws(GGUFError) -> MetadataValue {
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw error(.invalidValue, at: typeOffset, field(),
                        "unknown metadata value type \(rawType); expected 0...12 (GGUF spec gguf_metadata_value_type)")
        }
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, field()))
        case .int8: return .int8(try read(Int8.self, field()))
        case .uint16: return .uint16(try read(UInt16.self, field()))
        case .int16: return .int16(try read(Int16.self, field()))
        case .uint32: return .uint32(try read(UInt32.self, field()))
        case .int32: return .int32(try read(Int32.self, field()))
        case .uint64: return .uint64(try read(UInt64.self, field()))
        case .int64: return .int64(try read(Int64.self, field()))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, field())))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, field())))
        // Any nonzero byte is true, as llama.cpp's gguf reader treats it.
        case .bool: return .bool(try read(UInt8.self, field()) != 0)
        case .string: return .string(try string(field()))
        case .array: return try array(depth: depth + 1, field())
        }
    }

    /// Reads an array body: u32 element type, u64 count, elements. Arrays of arrays nest (GGUF spec allows
    /// it), up to `GGUFFile.maxArrayDepth` levels, so a hostile file cannot recurse the stack away.
    mutating func array(depth: Int, _ field: @autoclosure () -> String) throws(GGUFError) -> MetadataValue {
        if depth > GGUFFile.maxArrayDepth {
            throw error(.nestingTooDeep, at: pos, field(),
                        "arrays nested more than \(GGUFFile.maxArrayDepth) deep")
        }
        let typeOffset = pos
        let rawType = try read(UInt32.self, field() + " array element type")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw error(.invalidValue, at: typeOffset, field() + " array element type",
                        "unknown metadata value type \(rawType); expected 0...12 (GGUF spec gguf_metadata_value_type)")
        }
        let lengthOffset = pos
        let n = try count(minimumSize: type.minimumSize, field() + " array length")
        // Each element becomes a `MetadataValue` (24 bytes) however few bytes it takes on disk (1 for a u8): a
        // bound on the total keeps a multi-GB hostile file from becoming tens of GB of memory.
        metadataElements += n
        if metadataElements > GGUFFile.maxMetadataElements {
            throw error(.tooLarge, at: lengthOffset, field() + " array length",
                        "array of \(n) elements brings the metadata to \(metadataElements) array elements in all; "
                        + "expected at most \(GGUFFile.maxMetadataElements) (real vocabularies hold well under 1% of that)")
        }
        var out: [MetadataValue] = []
        out.reserveCapacity(n)
        // Fixed-size elements: one bounds check for the whole run (done by `count`), then plain loads.
        switch type {
        case .uint8: for _ in 0..<n { out.append(.uint8(load(UInt8.self))) }
        case .int8: for _ in 0..<n { out.append(.int8(load(Int8.self))) }
        case .bool: for _ in 0..<n { out.append(.bool(load(UInt8.self) != 0)) }
        case .uint16: for _ in 0..<n { out.append(.uint16(load(UInt16.self))) }
        case .int16: for _ in 0..<n { out.append(.int16(load(Int16.self))) }
        case .uint32: for _ in 0..<n { out.append(.uint32(load(UInt32.self))) }
        case .int32: for _ in 0..<n { out.append(.int32(load(Int32.self))) }
        case .float32: for _ in 0..<n { out.append(.float32(Float(bitPattern: load(UInt32.self)))) }
        case .uint64: for _ in 0..<n { out.append(.uint64(load(UInt64.self))) }
        case .int64: for _ in 0..<n { out.append(.int64(load(Int64.self))) }
        case .float64: for _ in 0..<n { out.append(.float64(Double(bitPattern: load(UInt64.self)))) }
        case .string:
            for i in 0..<n { out.append(.string(try string(field() + " element \(i)"))) }
        case .array:
            for i in 0..<n { out.append(try array(depth: depth + 1, field() + " element \(i)")) }
        }
        return .array(out)
    }
}
