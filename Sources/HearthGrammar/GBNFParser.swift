/// A parser for llama.cpp's GBNF grammar syntax (llama.cpp grammars/README.md; the parser in src/llama-grammar.cpp
/// defines the details followed here):
///
/// ```
/// root  ::= "1. " move (" " move)* "\n"      # sequences, literals, groups, repetition
/// move  ::= [a-h] [1-8] | "O-O"               # alternation, character classes
/// any   ::= [^\n]+ | . | "\u00e9" {2,3}       # negation, any character, escapes, {m,n}
/// ```
///
/// Rule names are words of `[a-zA-Z0-9-]`. Outside parentheses a newline ends a rule, except after `|`. `#` starts
/// a comment. Escapes: `\xHH`, `\uHHHH`, `\UHHHHHHHH`, `\t`, `\n`, `\r`, `\\`, `\"`, `\[`, `\]`, `\-`. A repetition
/// bound above 2000 means "unbounded", as in llama.cpp; a lower bound above 2000 is an error. Token references
/// (`<[id]>`, `<think>`) are not supported and are reported as such.
struct GBNFParser {
    private let text: [Unicode.Scalar]
    private var pos = 0
    private var builder = GrammarBuilder()
    /// Recursion guard for nested groups (each level is a few stack frames).
    private var depth = 0
    static let maxDepth = 200
    static let maxRepetition = 2000
    static let maxLength = 4 << 20

    init(_ source: String) throws {
        text = Array(source.unicodeScalars)
        guard text.count <= GBNFParser.maxLength else {
            throw GrammarError.tooComplex("the grammar text is \(text.count) characters; the limit is \(GBNFParser.maxLength)")
        }
    }

    /// Parses every rule and validates the result (all rules defined, a `root`, no left recursion).
    mutating func parse() throws -> Grammar {
        skipSpace(newlines: true)
        while pos < text.count {
            try parseRule()
        }
        return try builder.build(root: "root") { [text] offset in GBNFParser.lineColumn(text, offset) }
    }

    // MARK: rules

    private mutating func parseRule() throws {
        let start = pos
        let name = parseName()
        guard !name.isEmpty else { throw error("expected a rule name (letters, digits, '-')") }
        skipSpace(newlines: false)
        guard peek(0) == ":", peek(1) == ":", peek(2) == "=" else { throw error("expected '::=' after rule name '\(name)'") }
        pos += 3
        skipSpace(newlines: true)
        let id = builder.ruleId(name)
        let alternatives = try parseAlternatives(ruleName: name, nested: false)
        let duplicate = error("rule '\(name)' is defined twice", at: start)
        try builder.define(id, alternatives, at: start, duplicate: duplicate)
        if pos < text.count {
            guard text[pos] == "\n" || text[pos] == "\r" else {
                throw error(text[pos] == ")" ? "unbalanced ')': no '(' to close" : "expected a newline or the end of the grammar, found '\(text[pos])'")
            }
        }
        skipSpace(newlines: true)
    }

    private mutating func parseAlternatives(ruleName: String, nested: Bool) throws -> [[GrammarBuilder.Element]] {
        var alternatives = [try parseSequence(ruleName: ruleName, nested: nested)]
        while peek(0) == "|" {
            pos += 1
            skipSpace(newlines: true)
            alternatives.append(try parseSequence(ruleName: ruleName, nested: nested))
        }
        return alternatives
    }

    private mutating func parseSequence(ruleName: String, nested: Bool) throws -> [GrammarBuilder.Element] {
        var seq: [GrammarBuilder.Element] = []
        var lastStart: Int? = nil  // where the last symbol begins in `seq`, for a repetition after it
        while pos < text.count {
            let c = text[pos]
            let symbolAt = pos
            if c == "\"" {
                pos += 1
                lastStart = seq.count
                while true {
                    guard pos < text.count else { throw error("unterminated string literal", at: symbolAt) }
                    if text[pos] == "\"" { pos += 1; break }
                    seq.append(.chars(.single(try parseChar())))
                }
                skipSpace(newlines: nested)
            } else if c == "[" {
                pos += 1
                var negated = false
                if peek(0) == "^" { negated = true; pos += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while true {
                    guard pos < text.count else { throw error("unterminated character class: expected ']'", at: symbolAt) }
                    if text[pos] == "]" { pos += 1; break }
                    let lo = try parseChar()
                    var hi = lo
                    if peek(0) == "-", let next = peek(1), next != "]" {
                        pos += 1
                        hi = try parseChar()
                        guard lo <= hi else { throw error("character range is backwards (U+\(hex(lo)) > U+\(hex(hi)))", at: symbolAt) }
                    }
                    ranges.append(lo...hi)
                }
                lastStart = seq.count
                seq.append(.chars(CharClass(ranges: ranges, negated: negated)))
                skipSpace(newlines: nested)
            } else if c == "." {
                pos += 1
                lastStart = seq.count
                seq.append(.chars(.any))
                skipSpace(newlines: nested)
            } else if c == "<" || c == "!" {
                throw error("token references (<[id]>, <text>, !<…>) are not supported; use string literals")
            } else if GBNFParser.isWordChar(c) {
                let name = parseName()
                lastStart = seq.count
                seq.append(.ref(builder.ruleId(name, referencedAt: symbolAt)))
                skipSpace(newlines: nested)
            } else if c == "(" {
                pos += 1
                depth += 1
                guard depth <= GBNFParser.maxDepth else { throw error("groups nested deeper than \(GBNFParser.maxDepth)") }
                skipSpace(newlines: true)
                let inner = try parseAlternatives(ruleName: ruleName, nested: true)
                guard peek(0) == ")" else { throw error("expected ')' to close the '(' at \(position(symbolAt))") }
                pos += 1
                depth -= 1
                let id = builder.newRule(basedOn: ruleName)
                try builder.define(id, inner, at: symbolAt, duplicate: .invalid("internal: group defined twice"))
                lastStart = seq.count
                seq.append(.ref(id))
                skipSpace(newlines: nested)
            } else if c == "*" || c == "+" || c == "?" || c == "{" {
                guard let start = lastStart else { throw error("'\(c)' has no symbol before it to repeat") }
                var minTimes = 0, maxTimes: Int? = nil
                pos += 1
                switch c {
                case "*": break
                case "+": minTimes = 1
                case "?": maxTimes = 1
                default:
                    skipSpace(newlines: nested)
                    guard let m = parseInt() else { throw error("expected a number after '{'") }
                    minTimes = m
                    skipSpace(newlines: nested)
                    if peek(0) == "," {
                        pos += 1
                        skipSpace(newlines: nested)
                        maxTimes = parseInt()
                        skipSpace(newlines: nested)
                    } else {
                        maxTimes = m
                    }
                    guard peek(0) == "}" else { throw error("expected '}' to close the repetition") }
                    pos += 1
                    guard minTimes <= GBNFParser.maxRepetition else {
                        throw error("repetition minimum \(minTimes) exceeds the limit of \(GBNFParser.maxRepetition)", at: symbolAt)
                    }
                    if let mx = maxTimes, mx > GBNFParser.maxRepetition { maxTimes = nil }
                    if let mx = maxTimes, mx < minTimes { throw error("repetition {\(minTimes),\(mx)}: maximum below minimum", at: symbolAt) }
                }
                let symbol = Array(seq[start...])
                seq.removeSubrange(start...)
                seq += try builder.repetition(symbol, min: minTimes, max: maxTimes, ruleName: ruleName)
                lastStart = nil
                skipSpace(newlines: nested)
            } else {
                break
            }
        }
        return seq
    }

    // MARK: lexical pieces

    private mutating func parseName() -> String {
        var s = ""
        while pos < text.count, GBNFParser.isWordChar(text[pos]) { s.unicodeScalars.append(text[pos]); pos += 1 }
        return s
    }

    private mutating func parseInt() -> Int? {
        var v = 0, digits = 0
        while pos < text.count, ("0"..."9").contains(text[pos]) {
            v = min(v * 10 + Int(text[pos].value - 48), 1_000_000_000)
            digits += 1
            pos += 1
        }
        return digits > 0 ? v : nil
    }

    /// One character of a literal or class, with escapes.
    private mutating func parseChar() throws -> UInt32 {
        let c = text[pos]
        guard c == "\\" else { pos += 1; return c.value }
        let at = pos
        guard let e = peek(1) else { throw error("escape '\\' at the end of the grammar") }
        pos += 2
        switch e {
        case "x": return try parseHex(2, at)
        case "u": return try parseHex(4, at)
        case "U": return try parseHex(8, at)
        case "t": return 9
        case "n": return 10
        case "r": return 13
        case "\\", "\"", "[", "]", "-": return e.value
        default: throw error("unknown escape '\\\(e)' (expected \\x, \\u, \\U, \\t, \\n, \\r, \\\\, \\\", \\[, \\], \\-)", at: at)
        }
    }

    private mutating func parseHex(_ count: Int, _ at: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<count {
            guard pos < text.count, let d = text[pos].isASCII ? UInt32(String(text[pos]), radix: 16) : nil else {
                throw error("expected \(count) hex digits in this escape", at: at)
            }
            v = v << 4 | d
            pos += 1
        }
        guard v <= 0x10FFFF else { throw error("escape U+\(hex(v)) is beyond the last code point U+10FFFF", at: at) }
        return v
    }

    /// Spaces, tabs and comments; newlines too where a rule may continue.
    private mutating func skipSpace(newlines: Bool) {
        while pos < text.count {
            let c = text[pos]
            if c == " " || c == "\t" {
                pos += 1
            } else if c == "#" {
                while pos < text.count, text[pos] != "\n", text[pos] != "\r" { pos += 1 }
            } else if newlines && (c == "\n" || c == "\r") {
                pos += 1
            } else {
                break
            }
        }
    }

    private func peek(_ k: Int) -> Unicode.Scalar? { pos + k < text.count ? text[pos + k] : nil }

    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-"
    }

    private func hex(_ v: UInt32) -> String { String(v, radix: 16, uppercase: true) }

    static func lineColumn(_ text: [Unicode.Scalar], _ offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for c in text[..<min(offset, text.count)] {
            if c == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    private func position(_ offset: Int) -> String {
        let (l, c) = GBNFParser.lineColumn(text, offset)
        return "line \(l), column \(c)"
    }

    private func error(_ message: String, at offset: Int? = nil) -> GrammarError {
        let (l, c) = GBNFParser.lineColumn(text, offset ?? pos)
        return .syntax(line: l, column: c, message: message)
    }
}
