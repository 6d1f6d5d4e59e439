/// The fixed rules a JSON Schema grammar builds on, with llama.cpp's definitions (common/json-schema-to-grammar.cpp
/// `PRIMITIVE_RULES`, `STRING_FORMAT_RULES`, `SPACE_RULE`): numbers limited to 16 integral digits, strings as
/// RFC 8259 characters, whitespace between tokens limited so a model cannot pad forever.
enum JSONSchemaRules {
    static let space = #"| " " | "\n"{1,2} [ \t]{0,20}"#

    /// name → (body, rules it uses).
    static let primitives: [String: (String, [String])] = [
        "boolean": (#"("true" | "false")"#, []),
        "decimal-part": ("[0-9]{1,16}", []),
        "integral-part": ("[0] | [1-9] [0-9]{0,15}", []),
        "number": (#"("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?"#, ["integral-part", "decimal-part"]),
        "integer": (#"("-"? integral-part)"#, ["integral-part"]),
        "value": ("object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        "object": (#""{" space ( string ":" space value ("," space string ":" space value)* )? space "}""#, ["string", "value"]),
        "array": (#""[" space ( value ("," space value)* )? space "]""#, ["value"]),
        "uuid": (#""\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"""#, []),
        "char": (#"[^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})"#, []),
        "string": (#""\"" char* "\"""#, ["char"]),
        "null": (#""null""#, []),
        // Days per month (29 February left out: a subset of valid dates, unlike llama.cpp's rule which allows
        // 2026-11-31 and which a format checker rejects).
        "date": (#"[0-9]{4} "-" ( ( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02" "-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )"#, []),
        "time": (#"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#, []),
        "date-time": (#"date "T" time"#, ["date", "time"]),
        "date-string": (#""\"" date "\"""#, ["date"]),
        "time-string": (#""\"" time "\"""#, ["time"]),
        "date-time-string": (#""\"" date-time "\"""#, ["date-time"]),
    ]

    /// `format` values with a rule (`uuid` is a whole string; the others wrap a bare rule in quotes).
    static let formats: [String: String] = [
        "date": "date-string", "time": "time-string", "date-time": "date-time-string", "uuid": "uuid",
    ]

    /// A GBNF string literal for `text`.
    static func literal(_ text: String) -> String {
        var out = "\""
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    let h = String(u.value, radix: 16)
                    out += "\\x" + (h.count < 2 ? "0" : "") + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// `item` repeated between `min` and `max` times (nil = unbounded) with `separator` between items, as
    /// llama.cpp's `build_repetition`.
    static func repetition(_ item: String, min: Int, max: Int?, separator: String = "") -> String {
        if max == 0 { return "" }
        if min == 0 && max == 1 { return "\(item)?" }
        if separator.isEmpty {
            if min == 1 && max == nil { return "\(item)+" }
            if min == 0 && max == nil { return "\(item)*" }
            return "\(item){\(min),\(max.map(String.init) ?? "")}"
        }
        let rest = repetition("(\(separator) \(item))", min: Swift.max(min - 1, 0), max: max.map { $0 - 1 })
        let body = rest.isEmpty ? item : "\(item) \(rest)"
        return min == 0 ? "(\(body))?" : body
    }

    // MARK: integer ranges

    /// A GBNF expression for the decimal integers in `lo...hi` (nil = unbounded on that side), written the way JSON
    /// writes them (no leading zeros, `-` for negatives). Unbounded sides stop at 16 digits, as `integral-part`.
    static func integerRange(_ lo: Int64?, _ hi: Int64?) -> String {
        var alts: [String] = []
        // Negative part: "-" then magnitudes in [max(1, -hi), -lo].
        if lo.map({ $0 < 0 }) ?? true {
            let magLo: UInt64 = hi.map { $0 < 0 ? UInt64(-($0 + 1)) + 1 : 1 } ?? 1
            let magHi: UInt64? = lo.map { UInt64(-($0 + 1)) + 1 }
            if magHi.map({ magLo <= $0 }) ?? true {
                alts.append("\"-\" (" + positiveRange(magLo, magHi) + ")")
            }
        }
        // Non-negative part: [max(0, lo), hi].
        if hi.map({ $0 >= 0 }) ?? true {
            let a = UInt64(Swift.max(lo ?? 0, 0))
            alts.append(positiveRange(a, hi.map { UInt64($0) }))
        }
        return alts.isEmpty ? "" : "(" + alts.joined(separator: " | ") + ")"
    }

    static let maxDigits = 16

    /// Non-negative integers in `a...b` (b nil = up to 16 digits).
    static func positiveRange(_ a: UInt64, _ b: UInt64?) -> String {
        let la = String(a).count
        let lb = b.map { String($0).count } ?? maxDigits
        var alts: [String] = []
        if la > lb { return "" }
        for k in la...lb {
            let lowK: UInt64 = k == 1 ? 0 : pow10(k - 1)
            let from = Swift.max(a, lowK)
            let to: String
            if let b, k == lb { to = String(b) } else { to = String(repeating: "9", count: k) }
            let fromText = String(from)
            guard fromText.count == k, fromText <= to else { continue }
            alts.append(sameLength(Array(fromText.utf8), Array(to.utf8)))
        }
        return alts.joined(separator: " | ")
    }

    static func pow10(_ k: Int) -> UInt64 { (0..<k).reduce(UInt64(1)) { r, _ in r * 10 } }

    /// Digit strings of one length between `lo` and `hi` (as byte arrays of ASCII digits, lo ≤ hi).
    static func sameLength(_ lo: [UInt8], _ hi: [UInt8]) -> String {
        let n = lo.count
        if n == 0 { return "" }
        if lo == hi { return "\"" + String(decoding: lo, as: UTF8.self) + "\"" }
        let l0 = lo[0], h0 = hi[0]
        let loRest = Array(lo[1...]), hiRest = Array(hi[1...])
        let zeros = [UInt8](repeating: 0x30, count: n - 1), nines = [UInt8](repeating: 0x39, count: n - 1)
        func cls(_ a: UInt8, _ b: UInt8) -> String {
            a == b ? "[\(Character(Unicode.Scalar(a)))]" : "[\(Character(Unicode.Scalar(a)))-\(Character(Unicode.Scalar(b)))]"
        }
        func tail(_ count: Int) -> String { count == 0 ? "" : count == 1 ? " [0-9]" : " [0-9]{\(count)}" }
        func seq(_ d: UInt8, _ rest: String) -> String { rest.isEmpty ? cls(d, d) : "\(cls(d, d)) (\(rest))" }
        if l0 == h0 { return seq(l0, sameLength(loRest, hiRest)) }
        var alts: [String] = []
        var midLo = l0 + 1, midHi = h0 - 1
        if loRest == zeros { midLo = l0 } else { alts.append(seq(l0, sameLength(loRest, nines))) }
        let hiFull = hiRest == nines
        if hiFull { midHi = h0 }
        if midLo <= midHi { alts.append(cls(midLo, midHi) + tail(n - 1)) }
        if !hiFull { alts.append(seq(h0, sameLength(zeros, hiRest))) }
        return alts.joined(separator: " | ")
    }
}
