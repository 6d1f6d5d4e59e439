import Foundation

/// A Modelfile, in Ollama's syntax (docs/modelfile.md, parser/parser.go): one instruction per line —
/// `FROM`, `PARAMETER name value`, `TEMPLATE`, `SYSTEM`, `MESSAGE role text`, `LICENSE` — instructions
/// case-insensitive, `#` starting a comment line, values bare (to the end of the line), `"quoted"` (with `\"` and
/// `\\` escapes) or `"""triple-quoted"""` (verbatim, across lines). TEMPLATE text is kept verbatim: rendering it
/// is the template engine's business, not the store's.
public struct Modelfile: Equatable, Sendable {
    /// A `.gguf` path (relative to the Modelfile) or the name of a stored model.
    public var from: String
    public var parameters = ModelParameters()
    public var template: String?
    public var system: String?
    public var messages: [Message] = []
    public var licenses: [String] = []

    public init(from: String) { self.from = from }

    /// One `MESSAGE role text`, stored in the messages layer as Ollama's `{"role", "content"}` objects.
    public struct Message: Codable, Equatable, Sendable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    public static let roles = ["system", "user", "assistant", "tool"]
    static let instructions = ["FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "MESSAGE", "LICENSE", "ADAPTER"]

    /// Parses Modelfile text; `file` names it in errors, which carry the 1-based line of the problem.
    public static func parse(_ text: String, file: String = "Modelfile") throws -> Modelfile {
        var scanner = Scanner(Array(text.unicodeScalars))
        var from: String?
        var result = Modelfile(from: "")
        func fail(_ line: Int, _ message: String) -> StoreError { .modelfile(file: file, line: line, message: message) }

        while true {
            scanner.skipBlankAndComments()
            guard !scanner.atEnd else { break }
            let line = scanner.line
            let word = scanner.word()
            let instruction = word.uppercased()
            guard instructions.contains(instruction) else {
                throw fail(line, "unknown instruction \(quoted(word)) (expected FROM, PARAMETER, TEMPLATE, SYSTEM, MESSAGE or LICENSE)")
            }
            switch instruction {
            case "PARAMETER":
                let name = scanner.word()
                guard !name.isEmpty else { throw fail(line, "PARAMETER needs a name and a value") }
                let value = try scanner.value(instruction: "PARAMETER \(name)", fail: fail)
                do { try result.parameters.set(name, value) } catch { throw fail(line, "PARAMETER \(error.description)") }
            case "MESSAGE":
                let role = scanner.word()
                guard !role.isEmpty else { throw fail(line, "MESSAGE needs a role and a text") }
                guard roles.contains(role.lowercased()) else {
                    throw fail(line, "MESSAGE role \(quoted(role)) is not one of \(roles.joined(separator: ", "))")
                }
                let value = try scanner.value(instruction: "MESSAGE", fail: fail, allowEmpty: true)
                result.messages.append(Message(role: role.lowercased(), content: value))
            default:
                let value = try scanner.value(instruction: instruction, fail: fail, allowEmpty: instruction != "FROM")
                switch instruction {
                case "FROM":
                    if from != nil { throw fail(line, "a second FROM (a Modelfile has one)") }
                    from = value
                case "TEMPLATE": result.template = value
                case "SYSTEM": result.system = value
                case "LICENSE": result.licenses.append(value)
                default: throw fail(line, "ADAPTER (LoRA adapters) is not supported")
                }
            }
        }
        guard let f = from else { throw fail(max(scanner.line, 1), "no FROM instruction (expected FROM ./model.gguf or FROM name)") }
        result.from = f
        return result
    }

    /// The Modelfile text for these settings (what `show --modelfile` prints), in Ollama's layout. `parse` of the
    /// result gives back the same settings.
    public func render(header: [String] = []) -> String {
        var out = header.map { "# \($0)\n" }.joined()
        if !header.isEmpty { out += "\n" }
        out += "FROM \(Modelfile.quote(from, bare: true))\n"
        if let t = template { out += "TEMPLATE \(Modelfile.quote(t, bare: false))\n" }
        if let s = system { out += "SYSTEM \(Modelfile.quote(s, bare: false))\n" }
        for (name, value) in parameters.pairs { out += "PARAMETER \(name) \(Modelfile.quote(value, bare: true))\n" }
        for m in messages { out += "MESSAGE \(m.role) \(Modelfile.quote(m.content, bare: false))\n" }
        for l in licenses { out += "LICENSE \(Modelfile.quote(l, bare: false))\n" }
        return out
    }

    /// A value as the parser reads it back: bare when that is unambiguous (and `bare` allowed), else `"""…"""`,
    /// else `"…"` with escapes when the text itself holds `"""` or ends in a quote.
    ///
    /// Every test is on Unicode scalars, as `Scanner` reads: on `Character`s a quote followed by a combining mark
    /// (`"` U+0352) is one grapheme that is not `"`, so it went out unescaped and the Modelfile did not parse
    /// back (found by the modelfile fuzz harness, docs/SECURITY.md).
    static func quote(_ s: String, bare: Bool) -> String {
        let u = s.unicodeScalars
        let plain = !u.isEmpty && !u.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\"" || $0 == "\\" })
            && u.first?.properties.isWhitespace == false && u.last?.properties.isWhitespace == false && u.first != "#"
        if bare && plain { return s }
        let scalars = Array(u)
        let hasTripleQuote = scalars.count >= 3 && (0...(scalars.count - 3)).contains { i in
            scalars[i] == "\"" && scalars[i + 1] == "\"" && scalars[i + 2] == "\""
        }
        if !hasTripleQuote && scalars.last != "\"" { return "\"\"\"\(s)\"\"\"" }
        var out = String.UnicodeScalarView()
        out.append("\"")
        for c in u {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        out.append("\"")
        return String(out)
    }
}

/// Reads a Modelfile scalar by scalar, counting lines.
struct Scanner {
    let s: [Unicode.Scalar]
    var i = 0
    var line = 1

    init(_ s: [Unicode.Scalar]) { self.s = s }

    var atEnd: Bool { i >= s.count }
    var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

    mutating func advance() {
        if s[i] == "\n" { line += 1 }
        i += 1
    }

    static func isSpace(_ u: Unicode.Scalar) -> Bool { u == " " || u == "\t" || u == "\r" }

    /// Skips whitespace, empty lines and `#` comment lines, stopping at the start of an instruction.
    mutating func skipBlankAndComments() {
        while let c = peek {
            if Scanner.isSpace(c) || c == "\n" {
                advance()
            } else if c == "#" {
                while let d = peek, d != "\n" { advance() }
            } else {
                return
            }
        }
    }

    mutating func skipSpaces() { while let c = peek, Scanner.isSpace(c) { advance() } }

    /// A run of non-space characters on this line, after any spaces.
    mutating func word() -> String {
        skipSpaces()
        var out = String.UnicodeScalarView()
        while let c = peek, !Scanner.isSpace(c), c != "\n" {
            out.append(c)
            advance()
        }
        return String(out)
    }

    func starts(with text: String) -> Bool {
        var j = i
        for u in text.unicodeScalars {
            guard j < s.count, s[j] == u else { return false }
            j += 1
        }
        return true
    }

    /// The value of an instruction: `"""…"""`, `"…"` or the rest of the line (trailing spaces dropped). Nothing
    /// but spaces may follow a quoted value on its closing line.
    mutating func value(instruction: String, fail: (Int, String) -> StoreError, allowEmpty: Bool = false) throws -> String {
        skipSpaces()
        let startLine = line
        var out = String.UnicodeScalarView()
        if starts(with: "\"\"\"") {
            for _ in 0..<3 { advance() }
            while !starts(with: "\"\"\"") {
                guard let c = peek else {
                    throw fail(startLine, "\(instruction): unterminated \"\"\" string (no closing \"\"\")")
                }
                out.append(c)
                advance()
            }
            for _ in 0..<3 { advance() }
        } else if peek == "\"" {
            advance()
            while true {
                guard let c = peek else { throw fail(startLine, "\(instruction): unterminated \" string (no closing \")") }
                advance()
                if c == "\"" { break }
                if c == "\\", let next = peek, next == "\"" || next == "\\" {
                    out.append(next)
                    advance()
                } else {
                    out.append(c)
                }
            }
        } else {
            while let c = peek, c != "\n" {
                out.append(c)
                advance()
            }
            while let last = out.last, Scanner.isSpace(last) { out.removeLast() }
            if out.isEmpty && !allowEmpty { throw fail(startLine, "\(instruction) needs a value") }
            return String(out)
        }
        skipSpaces()
        if let c = peek, c != "\n" {
            throw fail(line, "\(instruction): unexpected text after the closing quote (starting with \(quoted(String(c))))")
        }
        if out.isEmpty && !allowEmpty { throw fail(startLine, "\(instruction) needs a value") }
        return String(out)
    }
}
