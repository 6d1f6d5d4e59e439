import Foundation
import HearthTensors

/// A parsed JSON value (RFC 8259), for the JSON files of Hugging Face model directories: SafeTensors headers,
/// config.json, tokenizer.json, sentence-transformers' modules.json and pooling config.
///
/// Decoded with `JSONDecoder` rather than `JSONSerialization` because on Linux the latter hands back `NSNumber`s
/// that do not say whether they were `true`, `1` or `1.0`; here booleans, integers and other numbers stay apart.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// Deepest array/object nesting `parse` accepts: far beyond any real config or tokenizer file, far below what
    /// would exhaust a thread's stack in the recursive decode.
    public static let maxDepth = 512

    /// An error `parse` raises itself (before decoding).
    public struct TooDeep: Error, CustomStringConvertible {
        public let offset: Int
        public var description: String { "arrays/objects nested deeper than \(JSONValue.maxDepth) levels at byte \(offset)" }
    }

    /// Parses `data`; the error message is the decoder's description of where the JSON is malformed. Nesting
    /// deeper than `maxDepth` is rejected first, so hostile input cannot overflow the stack.
    public static func parse(_ data: Data) throws -> JSONValue {
        var depth = 0, inString = false, escaped = false, offset = 0
        for b in data {
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false }
            } else if b == 0x22 {
                inString = true
            } else if b == 0x5B || b == 0x7B {
                depth += 1
                if depth > maxDepth { throw TooDeep(offset: offset) }
            } else if b == 0x5D || b == 0x7D {
                depth -= 1
            }
            offset += 1
        }
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// A short description of a decoding error, without Swift's type names.
    public static func describe(_ error: Error) -> String {
        if let deep = error as? TooDeep { return deep.description }
        if case DecodingError.dataCorrupted(let ctx) = error {
            let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? ctx.debugDescription
        }
        return "\(error)"
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// An integer, or a double with no fractional part that fits an Int.
    public var intValue: Int? {
        switch self {
        case .int(let i): return Int(exactly: i)
        case .double(let d): return d.rounded() == d && abs(d) < 9e15 ? Int(d) : nil
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var isNull: Bool { self == .null }

    /// A short name of the value's kind, for error messages ("found a string").
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// As a metadata value (objects are not representable and become nil; arrays drop their non-representable items).
    public var metadataValue: MetadataValue? {
        switch self {
        case .null, .object: return nil
        case .bool(let b): return .bool(b)
        case .int(let i): return .int64(i)
        case .double(let d): return .float64(d)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.compactMap(\.metadataValue))
        }
    }
}
