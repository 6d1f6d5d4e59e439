import Foundation

/// JSON text of a response object built from Swift dictionaries, arrays, strings, numbers, booleans and NSNull:
/// keys sorted, slashes not escaped (what `JSONSerialization` with `.sortedKeys, .withoutEscapingSlashes` gives).
///
/// Why not `JSONSerialization` itself: it bridges every dictionary to NSDictionary and casts every value, and a
/// streamed token's chunk went through it once per token; a profile of one served stream put 40 % of the
/// server's own (non-model) CPU time there, time taken from the two compute threads on a 2-core machine.
/// Anything this writer does not know (an NSNumber from a parsed document, a non-finite number) falls back to
/// `JSONSerialization` for the whole object, so the output never differs in kind.
func jsonBytes(_ object: Any) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    if FastJSONWriter.write(object, into: &out) { return out }
    return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        .map { Array($0) } ?? Array("{}".utf8)
}

enum FastJSONWriter {
    /// Appends `value`'s JSON to `out`; false when it holds something only `JSONSerialization` handles.
    static func write(_ value: Any, into out: inout [UInt8]) -> Bool {
        // The common exact types first, by identity: a failed `as?` to String or to a collection tries the
        // Objective-C bridging casts (an NSNull value went through three before `is NSNull`), per value per token.
        let t = ObjectIdentifier(type(of: value))
        if t == ObjectIdentifier(String.self), let s = value as? String {
            writeString(s, into: &out)
            return true
        }
        if t == ObjectIdentifier(NSNull.self) {
            out.append(contentsOf: "null".utf8)
            return true
        }
        if t == ObjectIdentifier(Int.self) || t == ObjectIdentifier(Double.self) || t == ObjectIdentifier(Bool.self) {
            return writeScalar(value, into: &out)
        }
        switch value {
        case let s as String:
            writeString(s, into: &out)
        case let d as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in d.keys.sorted() {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                guard let v = d[key], write(v, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let a as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                guard write(v, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        default:
            return writeScalar(value, into: &out)
        }
        return true
    }

    /// Booleans and numbers, by their exact Swift type: a dynamic cast would also accept an NSNumber (a parsed
    /// document's number or boolean) and could turn 1 into true; those go to `JSONSerialization` instead.
    private static func writeScalar(_ value: Any, into out: inout [UInt8]) -> Bool {
        let t = ObjectIdentifier(type(of: value))
        if t == ObjectIdentifier(Bool.self), let b = value as? Bool {
            out.append(contentsOf: (b ? "true" : "false").utf8)
        } else if t == ObjectIdentifier(Int.self), let i = value as? Int {
            out.append(contentsOf: String(i).utf8)
        } else if t == ObjectIdentifier(Int32.self), let i = value as? Int32 {
            out.append(contentsOf: String(i).utf8)
        } else if t == ObjectIdentifier(Int64.self), let i = value as? Int64 {
            out.append(contentsOf: String(i).utf8)
        } else if t == ObjectIdentifier(UInt64.self), let i = value as? UInt64 {
            out.append(contentsOf: String(i).utf8)
        } else if t == ObjectIdentifier(UInt32.self), let i = value as? UInt32 {
            out.append(contentsOf: String(i).utf8)
        } else if t == ObjectIdentifier(Double.self), let x = value as? Double, x.isFinite {
            out.append(contentsOf: x.description.utf8)
        } else if t == ObjectIdentifier(Float.self), let x = value as? Float, x.isFinite {
            out.append(contentsOf: x.description.utf8)
        } else {
            return false
        }
        return true
    }

    /// A JSON string: `"` and `\` escaped, control characters as \n, \r, \t, \b, \f or \u00XX; everything else
    /// (non-ASCII included) as its UTF-8 bytes.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
