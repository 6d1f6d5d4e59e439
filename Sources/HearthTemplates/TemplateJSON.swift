import Foundation

/// JSON in and out the way Python's `json` module does it, so templates see what `json.loads` gives (integers
/// stay int, objects keep their key order) and `tojson` writes what `json.dumps` writes.
extension TemplateValue {
    /// Parses RFC 8259 JSON text. Errors name the byte offset and what was expected.
    public init(json: Data) throws {
        var parser = JSONParser(bytes: [UInt8](json))
        parser.skipWhitespace()
        self = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.pos == parser.bytes.count else { throw parser.error("end of input") }
    }

    public init(jsonString: String) throws { try self.init(json: Data(jsonString.utf8)) }

    /// Converts Foundation JSON objects (`JSONSerialization` output, `[String: Any]`…). Dictionary keys are taken
    /// in sorted order, since Foundation dictionaries have none; use `init(json:)` where key order matters.
    public init(any: Any?) throws {
        switch any {
        case nil, is NSNull: self = .none
        case let v as TemplateValue: self = v
        case let s as String: self = .string(s)
        case let n as NSNumber:
            let type = String(cString: n.objCType)
            if type == "c" || type == "B" {
                self = .bool(n.boolValue)
            } else if type == "d" || type == "f" {
                self = .double(n.doubleValue)
            } else {
                self = .int(n.intValue)
            }
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let a as [Any?]: self = .array(try a.map { try TemplateValue(any: $0) })
        case let o as [String: Any?]:
            self = .object(TemplateObject(try o.keys.sorted().map { ($0, try TemplateValue(any: o[$0] ?? nil)) }))
        default:
            throw TemplateError(.type, "a value of type \(type(of: any!)) cannot be passed to a template")
        }
    }

    /// The value as JSON text, keys in their order (`json.dumps(self, ensure_ascii=False)`).
    public func jsonText() throws -> String { try jsonDumps(indent: nil, separators: nil, sortKeys: false) }

    /// `json.dumps(self, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sortKeys)`.
    func jsonDumps(indent: Int?, separators: (String, String)?, sortKeys: Bool, limit: Int = Int.max) throws -> String {
        let seps = separators ?? (indent == nil ? (", ", ": ") : (",", ": "))
        // Python writes a negative indent as none (newlines only); a huge one could not be written anyway.
        let indent = indent.map { max($0, 0) }
        if let n = indent, n > limit { throw TemplateError(.limit, "tojson indent \(n) would exceed \(limit) bytes") }
        var out = ""
        try dump(into: &out, indent: indent, level: 0, seps: seps, sortKeys: sortKeys, depth: 0, limit: limit)
        guard out.utf8.count <= limit else { throw TemplateError(.limit, "tojson output would exceed \(limit) bytes") }
        return out
    }

    private func dump(into out: inout String, indent: Int?, level: Int, seps: (String, String), sortKeys: Bool,
                      depth: Int, limit: Int) throws {
        guard depth < 1000 else { throw TemplateError(.limit, "tojson: value nested more than 1000 levels deep") }
        guard out.utf8.count <= limit else { throw TemplateError(.limit, "tojson output would exceed \(limit) bytes") }
        func newline(_ l: Int) throws {
            guard let n = indent else { return }
            guard n * l <= limit else { throw TemplateError(.limit, "tojson output would exceed \(limit) bytes") }
            out += "\n" + String(repeating: " ", count: n * l)
        }
        switch self {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : PythonFormat.floatRepr(d)
        case .string(let s): out += Self.jsonQuote(s)
        case .array(let a), .tuple(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += seps.0 }
                try newline(level + 1)
                try v.dump(into: &out, indent: indent, level: level + 1, seps: seps, sortKeys: sortKeys, depth: depth + 1,
                           limit: limit)
            }
            try newline(level)
            out += "]"
        case .object(let o):
            try Self.dumpObject(o.pairs, into: &out, indent: indent, level: level, seps: seps, sortKeys: sortKeys,
                                depth: depth, limit: limit)
        case .namespace, .callable, .undefined:  // json.dumps raises on these
            throw TemplateError(.type, "Object of type \(typeName) is not JSON serializable")
        }
    }

    private static func dumpObject(_ pairs: [(String, TemplateValue)], into out: inout String, indent: Int?,
                                   level: Int, seps: (String, String), sortKeys: Bool, depth: Int, limit: Int) throws {
        if pairs.isEmpty { out += "{}"; return }
        let ordered = sortKeys ? pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
            : pairs
        out += "{"
        for (i, (k, v)) in ordered.enumerated() {
            if i > 0 { out += seps.0 }
            if let n = indent {
                guard n * (level + 1) <= limit else { throw TemplateError(.limit, "tojson output would exceed \(limit) bytes") }
                out += "\n" + String(repeating: " ", count: n * (level + 1))
            }
            out += jsonQuote(k) + seps.1
            try v.dump(into: &out, indent: indent, level: level + 1, seps: seps, sortKeys: sortKeys, depth: depth + 1,
                           limit: limit)
        }
        if let n = indent { out += "\n" + String(repeating: " ", count: n * level) }
        out += "}"
    }

    /// A JSON string as `json.dumps(..., ensure_ascii=False)` writes it.
    static func jsonQuote(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5c }) { return "\"" + s + "\"" }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// A strict recursive-descent JSON reader over bytes, bounded in nesting depth.
private struct JSONParser {
    let bytes: [UInt8]
    var pos = 0

    func error(_ expected: String) -> TemplateError {
        let found = pos < bytes.count ? "'\(Character(Unicode.Scalar(bytes[pos])))'" : "end of input"
        return TemplateError(.value, "JSON: expected \(expected) at byte offset \(pos), found \(found)")
    }

    mutating func skipWhitespace() {
        while pos < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[pos]) { pos += 1 }
    }

    mutating func value(depth: Int) throws -> TemplateValue {
        guard depth < 512 else { throw TemplateError(.value, "JSON: nested more than 512 levels at byte offset \(pos)") }
        guard pos < bytes.count else { throw error("a value") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var obj = TemplateValue.TemplateObject()
            skipWhitespace()
            if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            while true {
                skipWhitespace()
                guard pos < bytes.count && bytes[pos] == UInt8(ascii: "\"") else { throw error("a string key") }
                let key = try string()
                skipWhitespace()
                guard pos < bytes.count && bytes[pos] == UInt8(ascii: ":") else { throw error("':'") }
                pos += 1
                skipWhitespace()
                obj[key] = try value(depth: depth + 1)
                skipWhitespace()
                guard pos < bytes.count else { throw error("',' or '}'") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
                throw error("',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            var arr: [TemplateValue] = []
            skipWhitespace()
            if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            while true {
                skipWhitespace()
                arr.append(try value(depth: depth + 1))
                skipWhitespace()
                guard pos < bytes.count else { throw error("',' or ']'") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
                throw error("',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .none)
        default: return try number()
        }
    }

    mutating func literal(_ word: String, _ v: TemplateValue) throws -> TemplateValue {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { throw error("'\(word)'") }
        pos += w.count
        return v
    }

    mutating func number() throws -> TemplateValue {
        let start = pos
        var isFloat = false
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        let digitsStart = pos
        while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
        guard pos > digitsStart else { throw error("a value") }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: ".") {
            isFloat = true; pos += 1
            let f = pos
            while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
            guard pos > f else { throw error("a digit after '.'") }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            isFloat = true; pos += 1
            if pos < bytes.count && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            let e = pos
            while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) { pos += 1 }
            guard pos > e else { throw error("an exponent digit") }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw error("a number") }
        return .double(d)
    }

    mutating func string() throws -> String {
        pos += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard pos < bytes.count else { throw error("'\"' closing the string") }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") { pos += 1; break }
            if b < 0x20 { throw error("no control character inside a string") }
            if b != UInt8(ascii: "\\") { out.append(b); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw error("an escape character") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xd800..<0xdc00).contains(code), pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"),
                    bytes[pos + 1] == UInt8(ascii: "u")
                {
                    let save = pos
                    pos += 2
                    let low = try hex4()
                    if (0xdc00..<0xe000).contains(low) {
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                    } else {
                        pos = save
                    }
                }
                // Lone surrogates cannot be held in a Swift String; they become U+FFFD.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                pos -= 1
                throw error("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16)
        else { throw error("four hex digits after \\u") }
        pos += 4
        return v
    }
}
