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

    /// The parsed pattern. `text` is one GBNF atom that never matches the empty string (a literal or a class).
    /// A tree, not text, because a repetition of something that can match the empty string (`(a|)+`, `(b*)*`)
    /// must be rewritten: as GBNF it would be a rule that reaches itself without consuming a character, which
    /// the grammar parser rejects (the jsonschema fuzzer's finding, Fuzz/findings/jsonschema-pattern-nullable-repeat.json).
    indirect enum Node {
        case text(String)
        case empty
        case seq([Node])
        case alt([Node])
        case rep(Node, Int, Int?)

        var nullable: Bool {
            switch self {
            case .text: return false
            case .empty: return true
            case .seq(let items): return items.allSatisfy(\.nullable)
            case .alt(let alts): return alts.contains(where: \.nullable)
            case .rep(let x, let m, let mx): return m == 0 || mx == 0 || x.nullable
            }
        }

        /// The same language without the empty string, as a node that is not nullable; nil when the language is
        /// only the empty string. Regex semantics: `X{m,n}` with a nullable X equals `nonEmpty(X){0,n}`.
        var nonEmpty: Node? {
            guard nullable else { return self }
            switch self {
            case .text: return self
            case .empty: return nil
            case .alt(let alts):
                let parts = alts.compactMap(\.nonEmpty)
                return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .alt(parts)
            case .seq(let items):
                // Every item is nullable here: a non-empty match has a first non-empty item i.
                var parts: [Node] = []
                for i in items.indices {
                    if let head = items[i].nonEmpty { parts.append(.seq([head] + items[(i + 1)...])) }
                }
                return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .alt(parts)
            case .rep(let x, _, let mx):
                guard mx != 0, let y = x.nonEmpty else { return nil }
                return .seq([y, .rep(y, 0, mx.map { $0 - 1 })])
            }
        }
    }

    mutating func translate() throws -> String {
        guard text.first == "^", text.last == "$", text.count >= 2 else {
            throw GrammarError.unsupportedSchema(path: path, message: "a pattern must start with '^' and end with '$'")
        }
        pos = 1
        let body = try alternation(end: text.count - 1)
        guard pos == text.count - 1 else { throw unsupported("unexpected '\(text[pos])'") }
        var budget = RegexGrammar.maxOutput
        return try emit(body, budget: &budget)
    }

    /// Output cap: rewriting nullable repetitions copies sequences, so a hostile pattern could grow.
    static let maxOutput = 1 << 20

    private func emit(_ node: Node, budget: inout Int) throws -> String {
        let out: String
        switch node {
        case .text(let s): out = s
        case .empty: out = ""
        case .seq(let items):
            out = try items.map { try emit($0, budget: &budget) }.filter { !$0.isEmpty }.joined(separator: " ")
        case .alt(let alts):
            let parts = try alts.map { try emit($0, budget: &budget) }
            out = parts.count == 1 ? parts[0] : "(" + parts.map { $0.isEmpty ? "\"\"" : $0 }.joined(separator: " | ") + ")"
        case .rep(let x, let m, let mx):
            // A nullable item repeated: X{m,n} == nonEmpty(X){0,n}.
            let (item, lo): (Node?, Int) = x.nullable ? (x.nonEmpty, 0) : (x, m)
            guard let item else { out = ""; break }
            let t = try emit(item, budget: &budget)
            // Only a single atom takes a quantifier bare: a sequence, an alternation or a repetition is
            // parenthesized (`([…]{4})?`: GBNF cannot quantify `[…]{4,4}` again; CI's jsonschema fuzzer).
            var atom = false
            if case .text = item { atom = !t.contains(" ") }
            let wrapped = atom ? t : "(\(t))"
            out = JSONSchemaRules.repetition(wrapped, min: lo, max: mx)
        }
        budget -= out.utf8.count
        guard budget >= 0 else { throw unsupported("the pattern is too complex (its grammar would exceed \(RegexGrammar.maxOutput) bytes)") }
        return out
    }

    private mutating func alternation(end: Int) throws -> Node {
        var alts = [try sequence(end: end)]
        while pos < end, text[pos] == "|" {
            pos += 1
            alts.append(try sequence(end: end))
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    private mutating func sequence(end: Int) throws -> Node {
        var items: [Node] = []
        while pos < end, text[pos] != "|", text[pos] != ")" {
            var atom = try self.atom(end: end)
            if pos < end, let q = try quantifier(end: end) {
                atom = .rep(atom, q.0, q.1)
            }
            items.append(atom)
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .seq(items)
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

    private mutating func atom(end: Int) throws -> Node {
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
            return inner
        case "[":
            return .text(try charClass(end: end))
        case ".":
            pos += 1
            return .text("char")
        case "\\":
            guard pos + 1 < end else { throw unsupported("trailing backslash") }
            let e = text[pos + 1]
            pos += 2
            if let cls = RegexGrammar.shorthand(e) { return .text(RegexGrammar.classText(cls.0, negated: cls.1)) }
            if "bB123456789kpPu".unicodeScalars.contains(e) { throw unsupported("escape '\\\(e)' is not supported") }
            return .text(RegexGrammar.literal(RegexGrammar.escapeValue(e)))
        case "*", "+", "?", "{":
            throw unsupported("nothing to repeat before '\(c)'")
        case "^", "$":
            throw unsupported("anchors are only supported at the start and end")
        default:
            pos += 1
            return .text(RegexGrammar.literal(c))
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
