import Foundation

/// Python's text forms of values (CPython 3: `repr(float)`, `repr(str)`, `str.format`), which templates print.
enum PythonFormat {
    /// `repr(float)`: the shortest digits that round-trip (as Swift's description), written fixed when the decimal
    /// exponent is in -4..<16 and as `d.ddde+XX` otherwise (CPython's `float_repr_style = 'short'`).
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, exponent) = shortestDigits(d)
        // value = 0.DIGITS × 10^exponent; Python's decimal point position is `exponent`.
        let decpt = exponent
        var out = negative ? "-" : ""
        if decpt > -4 && decpt <= 16 {
            if decpt <= 0 {
                out += "0." + String(repeating: "0", count: -decpt) + digits
            } else if decpt >= digits.count {
                out += digits + String(repeating: "0", count: decpt - digits.count) + ".0"
            } else {
                let i = digits.index(digits.startIndex, offsetBy: decpt)
                out += digits[..<i] + "." + digits[i...]
            }
        } else {
            let e = decpt - 1
            let first = digits.prefix(1), rest = digits.dropFirst()
            out += first + (rest.isEmpty ? "" : "." + rest)
            out += (e < 0 ? "e-" : "e+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        return out
    }

    /// Sign, significant digits and exponent such that |d| = 0.DIGITS × 10^exponent, from Swift's shortest
    /// round-trip description.
    private static func shortestDigits(_ d: Double) -> (Bool, String, Int) {
        var s = "\(abs(d))"
        var exp = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(s[s.index(after: e)...]) ?? 0
            s = String(s[..<e])
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + fracPart
        var point = intPart.count + exp
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); point -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (d < 0, digits, point)
    }

    /// `repr(str)`: single quotes unless the text has a single quote and no double quote; escapes as CPython.
    static func stringRepr(_ s: String) -> String {
        // Fast path: printable ASCII without quotes or backslashes is written as is.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 >= 0x7f || $0 == 0x5c || $0 == 0x27 }) { return "'" + s + "'" }
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == quote {
                    out += "\\" + String(quote)
                } else if u.value < 0x20 || u.value == 0x7f {
                    out += String(format: "\\x%02x", u.value)
                } else if u.value >= 0x80 && !isPrintable(u) {
                    out += u.value <= 0xff ? String(format: "\\x%02x", u.value)
                        : u.value <= 0xffff ? String(format: "\\u%04x", u.value) : String(format: "\\U%08x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out.append(quote)
        return out
    }

    /// Python's `str.isprintable` for one code point (approximated from Unicode general categories).
    private static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: return false
        case .spaceSeparator: return u == " "
        default: return true
        }
    }

    /// `str.format(*args, **kwargs)` for the replacement fields templates use: `{}`, `{0}`, `{name}`, `{{`, `}}`,
    /// with an optional `!r`/`!s` conversion; format specs other than empty are refused with a clear error.
    static func format(_ template: String, _ args: CallArguments, limit: Int = Int.max) throws -> String {
        var out = ""
        var auto = 0
        var automatic = false, manual = false
        let chars = Array(template)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" { out.append("{"); i += 2; continue }
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    throw TemplateError(.value, "Single '{' encountered in format string")
                }
                var field = String(chars[(i + 1)..<close])
                var conversion: Character? = nil
                if let colon = field.firstIndex(of: ":") {
                    let spec = field[field.index(after: colon)...]
                    if !spec.isEmpty { throw TemplateError(.value, "format spec '\(spec)' is not supported") }
                    field = String(field[..<colon])
                }
                if let bang = field.firstIndex(of: "!") {
                    conversion = field[field.index(after: bang)...].first
                    field = String(field[..<bang])
                }
                let value: TemplateValue
                if field.isEmpty || Int(field) != nil {
                    if (field.isEmpty ? manual : automatic) {
                        // CPython's wording (the two messages read the other way round from what happened).
                        throw TemplateError(.value, field.isEmpty
                            ? "cannot switch from automatic field numbering to manual field specification"
                            : "cannot switch from manual field specification to automatic field numbering")
                    }
                    if field.isEmpty { automatic = true } else { manual = true }
                }
                if field.isEmpty {
                    guard auto < args.positional.count else {
                        throw TemplateError(.index, "Replacement index \(auto) out of range for positional args tuple")
                    }
                    value = args.positional[auto]; auto += 1
                } else if let n = Int(field) {
                    guard n >= 0 && n < args.positional.count else {
                        throw TemplateError(.index, "Replacement index \(n) out of range for positional args tuple")
                    }
                    value = args.positional[n]
                } else if let v = args.keyword.first(where: { $0.0 == field })?.1 {
                    value = v
                } else {
                    throw TemplateError(.key, "'\(field)'")
                }
                out += conversion == "r" ? try value.pyRepr(limit: limit) : try value.pyStr(limit: limit)
                if out.utf8.count > limit { throw TemplateError(.limit, "formatted string would exceed \(limit) bytes") }
                i = close + 1
            } else if c == "}" {
                guard i + 1 < chars.count && chars[i + 1] == "}" else {
                    throw TemplateError(.value, "Single '}' encountered in format string")
                }
                out.append("}"); i += 2
            } else {
                out.append(c); i += 1
            }
        }
        return out
    }
}

/// Why a template failed: the Python exception jinja2 would raise, its message, and the template line.
public struct TemplateError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case syntax = "TemplateSyntaxError"
        case raised = "TemplateError"  // raise_exception(...)
        case undefined = "UndefinedError"
        case type = "TypeError"
        case value = "ValueError"
        case key = "KeyError"
        case index = "IndexError"
        case zeroDivision = "ZeroDivisionError"
        case security = "SecurityError"
        case runtime = "TemplateRuntimeError"
        case limit = "SandboxLimitError"
    }

    public let kind: Kind
    public let message: String
    /// 1-based template line, when known.
    public var line: Int?

    public init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        "\(kind.rawValue): \(message)" + (line.map { " (template line \($0))" } ?? "")
    }
}
