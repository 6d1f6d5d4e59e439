/// Translates a JSON Schema `pattern` (ECMA-262 regular expression subset) into a GBNF expression over the
/// characters of a JSON string, as llama.cpp's `_visit_pattern` does: the pattern must be anchored (`^…$`);
/// supported are literals, `.`, classes (`[a-z]`, `[^…]`, `\d \w \s \D \W \S`), groups (`(…)`, `(?:…)`),
/// alternation and the quantifiers `* + ? {m} {m,} {m,n}` (lazy `?` suffixes are accepted; they do not change which
/// strings match). Lookarounds, backreferences, named groups and inner anchors are errors.
///
/// Characters JSON must escape are written escaped (`"` as `\"`); a negated class never produces `"`, `\` or a
/// control character, so the output stays a valid JSON string.
struct RegexGrammar {
    private let text: [Unicode.Scalar]
    private var pos = 0
    private let path: String
    private var depth = 0

    init(pattern: String, path: String) {
        text = Array(pattern.unicodeScalars)
        self.path = path
    }

    private func unsupported(_ message: String) -> GrammarError {
        .unsupportedSchema(path: path, message: "pattern at character \(pos): \(message)")
    }

    mutating func translate() throws -> String {
        guard text.first == "^", text.last == "$", text.count >= 2 else {
            throw GrammarError.unsupportedSchema(path: path, message: "a pattern must start with '^' and end with '$'")
        }
        pos = 1
        let body = try alternation(end: text.count - 1)
        guard pos == text.count - 1 else { throw unsupported("unexpected '\(text[pos])'") }
        return body
    }

    private mutating func alternation(end: Int) throws -> String {
        var alts = [try sequence(end: end)]
        while pos < end, text[pos] == "|" {
            pos += 1
            alts.append(try sequence(end: end))
        }
        return alts.count == 1 ? alts[0] : "(" + alts.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ") + ")"
    }

    private mutating func sequence(end: Int) throws -> String {
        var items: [String] = []
        while pos < end, text[pos] != "|", text[pos] != ")" {
            var atom = try self.atom(end: end)
            if pos < end, let q = try quantifier(end: end) {
                let wrapped = atom.contains(" ") ? "(\(atom))" : atom
                atom = JSONSchemaRules.repetition(wrapped, min: q.0, max: q.1)
                if atom.isEmpty { continue }
            }
            items.append(atom)
        }
        return items.joined(separator: " ")
    }

    private mutating func quantifier(end: Int) throws -> (Int, Int?)? {
        let c = text[pos]
        var q: (Int, Int?)
        switch c {
        case "*": q = (0, nil); pos += 1
        case "+": q = (1, nil); pos += 1
        case "?": q = (0, 1); pos += 1
        case "{":
            pos += 1
            guard let m = number() else { throw unsupported("expected a number after '{'") }
            var mx: Int? = m
            if pos < end, text[pos] == "," { pos += 1; mx = number() }
            guard pos < end, text[pos] == "}" else { throw unsupported("expected '}'") }
            pos += 1
            guard m <= GBNFParser.maxRepetition, (mx ?? 0) <= GBNFParser.maxRepetition, mx.map({ $0 >= m }) ?? true else {
                throw unsupported("repetition {\(m),\(mx.map(String.init) ?? "")} is out of range (0…\(GBNFParser.maxRepetition), min ≤ max)")
            }
            q = (m, mx)
        default: return nil
        }
        if pos < end, text[pos] == "?" { pos += 1 }  // lazy: same language
        return q
    }

    private mutating func number() -> Int? {
        var v = 0, n = 0
        while pos < text.count, ("0"..."9").contains(text[pos]) { v = min(v * 10 + Int(text[pos].value - 48), 1 << 30); n += 1; pos += 1 }
        return n > 0 ? v : nil
    }

    private mutating func atom(end: Int) throws -> String {
        let c = text[pos]
        switch c {
        case "(":
            pos += 1
            if pos < end, text[pos] == "?" {
                guard pos + 1 < end, text[pos + 1] == ":" else { throw unsupported("lookarounds and named groups are not supported") }
                pos += 2
            }
            depth += 1
            guard depth < 100 else { throw unsupported("groups nested too deep") }
            let inner = try alternation(end: end)
            guard pos < end, text[pos] == ")" else { throw unsupported("unbalanced '('") }
            pos += 1
            depth -= 1
            return inner.isEmpty ? "\"\"" : "(\(inner))"
        case "[":
            return try charClass(end: end)
        case ".":
            pos += 1
            return "char"
        case "\\":
            guard pos + 1 < end else { throw unsupported("trailing backslash") }
            let e = text[pos + 1]
            pos += 2
            if let cls = RegexGrammar.shorthand(e) { return RegexGrammar.classText(cls.0, negated: cls.1) }
            if "bB123456789kpPu".unicodeScalars.contains(e) { throw unsupported("escape '\\\(e)' is not supported") }
            return RegexGrammar.literal(RegexGrammar.escapeValue(e))
        case "*", "+", "?", "{":
            throw unsupported("nothing to repeat before '\(c)'")
        case "^", "$":
            throw unsupported("anchors are only supported at the start and end")
        default:
            pos += 1
            return RegexGrammar.literal(c)
        }
    }

    private static func escapeValue(_ e: Unicode.Scalar) -> Unicode.Scalar {
        switch e {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        default: return e
        }
    }

    /// `\d \w \s` and their negations as (ranges, negated).
    private static func shorthand(_ e: Unicode.Scalar) -> ([ClosedRange<UInt32>], Bool)? {
        let digit: [ClosedRange<UInt32>] = [0x30...0x39]
        let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F]
        let space: [ClosedRange<UInt32>] = [0x20...0x20, 0x09...0x0D]
        switch e {
        case "d": return (digit, false)
        case "D": return (digit, true)
        case "w": return (word, false)
        case "W": return (word, true)
        case "s": return (space, false)
        case "S": return (space, true)
        default: return nil
        }
    }

    private mutating func charClass(end: Int) throws -> String {
        pos += 1
        var negated = false
        if pos < end, text[pos] == "^" { negated = true; pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard pos < end else { throw unsupported("unterminated '['") }
            if text[pos] == "]" && !first { pos += 1; break }
            first = false
            var lo: UInt32
            if text[pos] == "\\", pos + 1 < end {
                let e = text[pos + 1]
                pos += 2
                if let sh = RegexGrammar.shorthand(e) {
                    guard !sh.1 else { throw unsupported("a negated shorthand inside a class") }
                    ranges += sh.0
                    continue
                }
                lo = RegexGrammar.escapeValue(e).value
            } else {
                lo = text[pos].value
                pos += 1
            }
            var hi = lo
            if pos + 1 < end, text[pos] == "-", text[pos + 1] != "]" {
                pos += 1
                if text[pos] == "\\", pos + 1 < end { hi = RegexGrammar.escapeValue(text[pos + 1]).value; pos += 2 } else { hi = text[pos].value; pos += 1 }
                guard lo <= hi else { throw unsupported("a backwards range in a class") }
            }
            ranges.append(lo...hi)
        }
        return RegexGrammar.classText(ranges, negated: negated)
    }

    /// A class as GBNF over JSON string text: a negated class excludes what JSON must escape; a positive class
    /// that includes such characters gets their escaped forms as alternatives.
    static func classText(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> String {
        func code(_ v: UInt32) -> String {
            let h = String(v, radix: 16)
            return v > 0xFFFF ? "\\U" + String(repeating: "0", count: 8 - h.count) + h : "\\u" + String(repeating: "0", count: 4 - h.count) + h
        }
        func body(_ rs: [ClosedRange<UInt32>]) -> String {
            rs.map { $0.lowerBound == $0.upperBound ? code($0.lowerBound) : code($0.lowerBound) + "-" + code($0.upperBound) }.joined()
        }
        if negated {
            return "[^" + body(ranges + [0x00...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F]) + "]"
        }
        let special: [UInt32] = Array(0x00...0x1F) + [0x22, 0x5C]
        var plain: [ClosedRange<UInt32>] = []
        var escaped: [String] = []
        for r in ranges {
            for s in special where r.contains(s) { escaped.append(literal(Unicode.Scalar(s) ?? " ")) }
            // Keep the range minus the special points (split around them).
            var lo = r.lowerBound
            for s in special.sorted() where r.contains(s) {
                if s > lo { plain.append(lo...(s - 1)) }
                lo = s + 1
            }
            if lo <= r.upperBound { plain.append(lo...r.upperBound) }
        }
        var alts = plain.isEmpty ? [] : ["[" + body(plain) + "]"]
        alts += escaped
        if alts.isEmpty { return "[^\\U0010FFFF-\\U0010FFFF\\u0000-\\U0010FFFE]" }
        return alts.count == 1 ? alts[0] : "(" + alts.joined(separator: " | ") + ")"
    }

    /// A GBNF literal matching character `c` as it appears inside JSON string text.
    static func literal(_ c: Unicode.Scalar) -> String {
        // Strip the quotes as scalars: as Characters, a combining mark (U+074A…) joins the opening quote into one
        // grapheme and `dropFirst` took it along, leaving "" (found by the jsonschema fuzzer:
        // Fuzz/findings/jsonschema-pattern-combining-mark.json).
        let json = JSONValue.quote(String(c)).unicodeScalars
        return JSONSchemaRules.literal(String(String.UnicodeScalarView(json.dropFirst().dropLast())))
    }
}
