import Foundation
import HearthTensors

/// Element types of the SafeTensors format (huggingface/safetensors, `Dtype` in safetensors/src/tensor.rs).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// The kernel type for weights of this dtype; nil for the types read but not computed with (I8, U8, I64…).
    public var ggmlType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}

/// One tensor's header entry. `shape` is as the file writes it (row-major, outermost first); `byteRange` is
/// absolute within the file.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    public let byteRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A validated, mmap'd SafeTensors file (https://github.com/huggingface/safetensors, "Format"):
/// an unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the byte after the header) plus an
/// optional `"__metadata__"` string→string map, then the data.
///
/// Everything a hostile file could get wrong is checked before any view is handed out: the header length against
/// `maxHeaderBytes` and the file size, the JSON's shape, dtypes, shapes whose element counts overflow, offsets
/// outside the data, byte counts that disagree with shape × dtype, overlapping ranges and misaligned data.
/// Tensor data are never copied: `view(_:)` points into the mapping, which lives as long as this object.
public final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is read-only.

    /// The largest header accepted, as the reference implementation (`MAX_HEADER_SIZE`, 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public let mapped: MappedFile
    public var path: String { mapped.path }
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// All tensors, in data order.
    public let entries: [SafeTensorsEntry]
    private let byName: [String: Int]

    public convenience init(path: String) throws {
        let mapped: MappedFile
        do {
            mapped = try MappedFile(path: path)
        } catch let e as MappedFileError {
            throw SafeTensorsError(.io, path: path, field: "file", message: "\(e.operation) failed: \(e.reason)")
        }
        try self.init(mapped: mapped)
    }

    public init(mapped: MappedFile) throws {
        self.mapped = mapped
        let path = mapped.path, bytes = mapped.bytes
        func fail(_ kind: SafeTensorsError.Kind, _ field: String, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind, path: path, field: field, message: message)
        }
        guard bytes.count >= 8 else {
            throw fail(.truncated, "header length", "the file is \(bytes.count) bytes, expected at least 8")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(SafeTensorsFile.maxHeaderBytes) else {
            throw fail(.headerTooLarge, "header length", "\(n) bytes, expected at most \(SafeTensorsFile.maxHeaderBytes)")
        }
        let headerLength = Int(n)
        guard headerLength <= bytes.count - 8 else {
            throw fail(.truncated, "header", "declares \(headerLength) bytes but the file has \(bytes.count - 8) after the length")
        }
        let dataStart = 8 + headerLength, dataSize = bytes.count - dataStart
        let headerData = Data(bytes[8..<dataStart])
        let json: JSONValue
        do {
            json = try JSONValue.parse(headerData)
        } catch {
            throw fail(.badJSON, "header", "not valid JSON: \(JSONValue.describe(error))")
        }
        guard let object = json.objectValue else {
            throw fail(.badJSON, "header", "expected a JSON object, found \(json.kindName)")
        }
        var metadata: [String: String] = [:]
        var entries: [SafeTensorsEntry] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value.objectValue else {
                    throw fail(.invalidField, "__metadata__", "expected an object of strings, found \(value.kindName)")
                }
                for (k, v) in m {
                    guard let s = v.stringValue else {
                        throw fail(.invalidField, "__metadata__ '\(k)'", "expected a string, found \(v.kindName)")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries.append(try SafeTensorsFile.parseEntry(name, value, dataStart: dataStart, dataSize: dataSize, fail: fail))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        for (a, b) in zip(entries, entries.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw fail(.overlap, "tensor '\(b.name)' data_offsets",
                       "bytes \(b.byteRange) overlap tensor '\(a.name)' at \(a.byteRange); tensors must not share bytes")
        }
        self.metadata = metadata
        self.entries = entries
        byName = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, dataStart: Int, dataSize: Int,
                                   fail: (SafeTensorsError.Kind, String, String) -> SafeTensorsError) throws -> SafeTensorsEntry {
        let field = "tensor '\(name)'"
        guard let o = value.objectValue else {
            throw fail(.invalidField, field, "expected an object with dtype, shape and data_offsets, found \(value.kindName)")
        }
        guard let dtypeName = o["dtype"]?.stringValue else {
            throw fail(.invalidField, field + " dtype", "expected a string, found \(o["dtype"]?.kindName ?? "nothing")")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw fail(.unknownDType, field + " dtype", "unknown dtype '\(dtypeName)' (known: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let dims = o["shape"]?.arrayValue else {
            throw fail(.invalidField, field + " shape", "expected an array of integers, found \(o["shape"]?.kindName ?? "nothing")")
        }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let v = d.intValue else {
                throw fail(.invalidField, field + " shape", "expected integers, found \(d.kindName)")
            }
            guard v >= 0 else { throw fail(.invalidShape, field + " shape", "dimension \(v) is negative") }
            let (m, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow, m <= Int(Int32.max) * 64 else {
                throw fail(.invalidShape, field + " shape", "\(dims.count) dimensions whose element count overflows")
            }
            count = m
            shape.append(v)
        }
        guard let offs = o["data_offsets"]?.arrayValue, offs.count == 2,
              let begin = offs[0].intValue, let end = offs[1].intValue else {
            throw fail(.invalidField, field + " data_offsets", "expected [begin, end] as two integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw fail(.outOfBounds, field + " data_offsets",
                       "[\(begin), \(end)] is outside the data section of \(dataSize) bytes (expected 0 ≤ begin ≤ end ≤ \(dataSize))")
        }
        guard end - begin == count * dtype.byteSize else {
            throw fail(.sizeMismatch, field + " data_offsets",
                       "\(end - begin) bytes, but shape \(shape) of \(dtype.rawValue) needs \(count * dtype.byteSize)")
        }
        // Views are read as typed pointers, so the data must be aligned to the element size.
        guard (dataStart + begin) % dtype.byteSize == 0 || count == 0 else {
            throw fail(.misaligned, field + " data_offsets",
                       "data at file byte \(dataStart + begin) is not aligned to its \(dtype.byteSize)-byte elements")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    public func entry(_ name: String) -> SafeTensorsEntry? { byName[name].map { entries[$0] } }

    /// The raw bytes of a tensor (for any dtype), inside the mapping.
    public func bytes(of entry: SafeTensorsEntry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapped.bytes[entry.byteRange])
    }

    /// A zero-copy view of an F32/F16/BF16 tensor, its shape reversed into ggml's innermost-first order. Nil for
    /// an unknown name or a dtype the kernels do not compute with.
    public func view(_ name: String) -> TensorView? {
        guard let e = entry(name), let type = e.dtype.ggmlType else { return nil }
        let raw = bytes(of: e)
        // An empty tensor has no address of its own; any valid pointer into the mapping serves.
        guard let base = raw.baseAddress ?? mapped.bytes.baseAddress else { return nil }
        return TensorView(name: name, type: type, shape: Array(e.shape.reversed()), data: base, byteCount: raw.count)
    }
}
