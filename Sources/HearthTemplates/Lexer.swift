/// Splits a template into tokens exactly as jinja2 3.x's `Lexer.tokeniter` does with the Hugging Face settings
/// (`trim_blocks=True`, `lstrip_blocks=True`, `keep_trailing_newline=False`): `{%- … -%}` strip all whitespace on
/// that side, `{%+`/`+%}` switch off lstrip/trim, a block or comment tag alone on its line drops the indentation
/// before it, the first newline after `%}`/`#}` is dropped, comments vanish and `{% raw %}` bodies stay text.
struct Token {
    enum Kind: Equatable {
        case data(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
        case eof
    }
    let kind: Kind
    let line: Int
}

struct Lexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var lineStarting = true
    private var tokens: [Token] = []
    private let newlineOffsets: [Int]

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private init(_ source: String) {
        // Newlines normalized to "\n" and one trailing newline dropped, as jinja2 does before lexing.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for u in source.unicodeScalars {
            if u == "\r" { scalars.append("\n"); previousCR = true; continue }
            if u == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            scalars.append(u)
        }
        if scalars.last == "\n" { scalars.removeLast() }
        src = scalars
        newlineOffsets = scalars.indices.filter { scalars[$0] == "\n" }
    }

    private func line(at offset: Int) -> Int {
        var lo = 0, hi = newlineOffsets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if newlineOffsets[mid] < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo + 1
    }

    private func error(_ message: String, at offset: Int) -> TemplateError {
        TemplateError(.syntax, message, line: line(at: offset))
    }

    private mutating func emit(_ kind: Token.Kind, at offset: Int) { tokens.append(Token(kind: kind, line: line(at: offset))) }

    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        u == " " || u == "\n" || u == "\t" || u == "\r" || u == "\u{0B}" || u == "\u{0C}"
            || (u.value > 0x7f && u.properties.isWhitespace) || (0x1c...0x1f).contains(u.value)
    }

    private func matches(_ s: String, at i: Int) -> Bool {
        var j = i
        for u in s.unicodeScalars {
            guard j < src.count, src[j] == u else { return false }
            j += 1
        }
        return true
    }

    private func skipSpaces(from i: Int) -> Int {
        var j = i
        while j < src.count && Lexer.isSpace(src[j]) { j += 1 }
        return j
    }

    /// The text before a tag, with `-` stripping or lstrip_blocks applied (jinja2's `OptionalLStrip`).
    private func strippedText(_ start: Int, _ end: Int, sign: Unicode.Scalar?, isVariable: Bool) -> String {
        var e = end
        if sign == "-" {
            while e > start && Lexer.isSpace(src[e - 1]) { e -= 1 }
        } else if sign != "+" && !isVariable {
            var lineStart = e
            while lineStart > start && src[lineStart - 1] != "\n" { lineStart -= 1 }
            if (lineStart > start || lineStarting) && lineStart < e
                && src[lineStart..<e].allSatisfy(Lexer.isSpace)
            {
                e = lineStart
            }
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: src[start..<e])
        return String(s)
    }

    /// The end of a block-like tag at `i` (`+%}`, `-%}` + whitespace, `%}` + one newline), or nil.
    private func blockEnd(at i: Int, close: String) -> Int? {
        if matches("+" + close, at: i) { return i + 3 }
        if matches("-" + close, at: i) { return skipSpaces(from: i + 3) }
        if matches(close, at: i) { return i + 2 < src.count && src[i + 2] == "\n" ? i + 3 : i + 2 }
        return nil
    }

    private mutating func run() throws {
        while pos < src.count {
            var i = pos
            while i + 1 < src.count && !(src[i] == "{" && (src[i + 1] == "{" || src[i + 1] == "%" || src[i + 1] == "#")) {
                i += 1
            }
            guard i + 1 < src.count else {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: src[pos...])
                emit(.data(String(s)), at: pos)
                return
            }
            let kind = src[i + 1]
            let sign: Unicode.Scalar? = i + 2 < src.count && (src[i + 2] == "-" || src[i + 2] == "+") ? src[i + 2] : nil
            let text = strippedText(pos, i, sign: sign, isVariable: kind == "{")
            if !text.isEmpty { emit(.data(text), at: pos) }
            var j = i + 2 + (sign == nil ? 0 : 1)
            if kind == "#" {
                try comment(from: j)
            } else if kind == "%", let rawEnd = rawBegin(at: j) {
                lineStarting = src[rawEnd - 1] == "\n"
                try raw(from: rawEnd)
            } else {
                emit(kind == "{" ? .variableBegin : .blockBegin, at: i)
                j = try tagTokens(from: j, block: kind == "%")
                lineStarting = src[j - 1] == "\n"
                pos = j
            }
        }
    }

    private func rawBegin(at start: Int) -> Int? {
        var j = skipSpaces(from: start)
        guard matches("raw", at: j) else { return nil }
        j = skipSpaces(from: j + 3)
        if matches("-%}", at: j) { return skipSpaces(from: j + 3) }
        if matches("%}", at: j) { return j + 2 }
        return nil
    }

    private mutating func raw(from start: Int) throws {
        var i = start
        while i + 1 < src.count {
            if src[i] == "{" && src[i + 1] == "%" {
                let sign: Unicode.Scalar? = i + 2 < src.count && (src[i + 2] == "-" || src[i + 2] == "+") ? src[i + 2] : nil
                var j = skipSpaces(from: i + 2 + (sign == nil ? 0 : 1))
                if matches("endraw", at: j) {
                    j = skipSpaces(from: j + 6)
                    if let end = blockEnd(at: j, close: "%}") {
                        let text = strippedText(start, i, sign: sign, isVariable: false)
                        if !text.isEmpty { emit(.data(text), at: start) }
                        lineStarting = src[end - 1] == "\n"
                        pos = end
                        return
                    }
                }
            }
            i += 1
        }
        throw error("Missing end of raw directive", at: start)
    }

    private mutating func comment(from start: Int) throws {
        var i = start
        while i + 1 < src.count {
            if let end = (src[i] == "+" || src[i] == "-") ? blockEnd(at: i, close: "#}") : nil {
                lineStarting = src[end - 1] == "\n"; pos = end; return
            }
            if src[i] == "#" && src[i + 1] == "}", let end = blockEnd(at: i, close: "#}") {
                lineStarting = src[end - 1] == "\n"; pos = end; return
            }
            i += 1
        }
        throw error("Missing end of comment tag", at: start)
    }

    /// Tokens inside `{{ … }}` or `{% … %}`; returns the offset after the closing delimiter.
    private mutating func tagTokens(from start: Int, block: Bool) throws -> Int {
        var i = start
        var balance: [Unicode.Scalar] = []
        while true {
            guard i < src.count else {
                throw error("unexpected end of template, expected '\(block ? "%}" : "}}")'", at: i)
            }
            if balance.isEmpty {
                if block, let end = blockEnd(at: i, close: "%}") {
                    emit(.blockEnd, at: i); return end
                }
                if !block {
                    if matches("-}}", at: i) { emit(.variableEnd, at: i); return skipSpaces(from: i + 3) }
                    if matches("}}", at: i) { emit(.variableEnd, at: i); return i + 2 }
                }
            }
            let c = src[i]
            if Lexer.isSpace(c) { i += 1; continue }
            if c.properties.numericType != nil && ("0"..."9").contains(c) {
                i = try number(at: i)
                continue
            }
            if c == "_" || (c.properties.isAlphabetic && c.value < 0x80) || (c.value >= 0x80 && c.properties.isXIDStart) {
                var j = i + 1
                while j < src.count, src[j] == "_" || src[j].properties.isXIDContinue { j += 1 }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: src[i..<j])
                emit(.name(String(s)), at: i)
                i = j
                continue
            }
            if c == "'" || c == "\"" {
                i = try string(at: i, quote: c)
                continue
            }
            let two = i + 1 < src.count ? String(String.UnicodeScalarView([c, src[i + 1]])) : ""
            if ["//", "**", "==", "!=", ">=", "<="].contains(two) {
                emit(.op(two), at: i); i += 2; continue
            }
            guard "+-/*%~[](){}><=.:|,;".unicodeScalars.contains(c) else {
                throw error("unexpected char '\(Character(c))'", at: i)
            }
            switch c {
            case "(": balance.append(")")
            case "[": balance.append("]")
            case "{": balance.append("}")
            case ")", "]", "}":
                guard let expected = balance.popLast() else { throw error("unexpected '\(Character(c))'", at: i) }
                guard expected == c else {
                    throw error("unexpected '\(Character(c))', expected '\(Character(expected))'", at: i)
                }
            default: break
            }
            emit(.op(String(Character(c))), at: i)
            i += 1
        }
    }

    private func isDigit(_ i: Int) -> Bool { i < src.count && ("0"..."9").contains(src[i]) }

    private mutating func number(at start: Int) throws -> Int {
        var j = start
        if src[start] == "0", start + 1 < src.count, let radix = ["x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2][src[start + 1]] {
            j = start + 2
            var digits = String.UnicodeScalarView()
            while j < src.count, src[j] == "_" || Character(src[j]).hexDigitValue.map({ $0 < radix }) == true {
                if src[j] != "_" { digits.append(src[j]) }
                j += 1
            }
            guard let n = Int(String(digits), radix: radix) else { throw error("invalid number literal", at: start) }
            emit(.int(n), at: start)
            return j
        }
        func digits() { while isDigit(j) || (j < src.count && src[j] == "_" && isDigit(j + 1)) { j += 1 } }
        digits()
        var isFloat = false
        let afterDot = start > 0 && src[start - 1] == "."
        if !afterDot {
            if j < src.count && src[j] == "." && isDigit(j + 1) { isFloat = true; j += 1; digits() }
            if j < src.count && (src[j] == "e" || src[j] == "E") {
                var k = j + 1
                if k < src.count && (src[k] == "+" || src[k] == "-") { k += 1 }
                if isDigit(k) { isFloat = true; j = k; digits() }
            }
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: src[start..<j].filter { $0 != "_" })
        let text = String(s)
        if isFloat {
            guard let d = Double(text) else { throw error("invalid number '\(text)'", at: start) }
            emit(.float(d), at: start)
        } else {
            guard let n = Int(text) else { throw error("integer '\(text)' is too large", at: start) }
            emit(.int(n), at: start)
        }
        return j
    }

    /// A quoted string with Python's `unicode-escape` decoding of backslash escapes (unknown ones stay as written).
    private mutating func string(at start: Int, quote: Unicode.Scalar) throws -> Int {
        var j = start + 1
        var out = String.UnicodeScalarView()
        while true {
            guard j < src.count else { throw error("unexpected end of string", at: start) }
            let c = src[j]
            if c == quote { j += 1; break }
            if c != "\\" { out.append(c); j += 1; continue }
            guard j + 1 < src.count else { throw error("unexpected end of string", at: start) }
            let e = src[j + 1]
            j += 2
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": break
            case "x", "u", "U":
                let n = e == "x" ? 2 : e == "u" ? 4 : 8
                guard j + n <= src.count,
                    let v = UInt32(String(String.UnicodeScalarView(src[j..<j + n])), radix: 16),
                    let u = Unicode.Scalar(v)
                else { throw error("invalid \\\(Character(e)) escape in string", at: j - 2) }
                out.append(u)
                j += n
            case "0"..."7":
                var v = e.value - 48
                var k = 0
                while k < 2, j < src.count, ("0"..."7").contains(src[j]) { v = v * 8 + src[j].value - 48; j += 1; k += 1 }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            default:
                out.append("\\"); out.append(e)
            }
        }
        emit(.string(String(out)), at: start)
        return j
    }
}
