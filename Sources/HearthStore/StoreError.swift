/// Errors of the model store, Modelfile parser and pull. Each message names the thing at fault (model name,
/// file, line, URL) and says what was expected, so the CLI prints it as-is.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// A model name that cannot be a store name; `reason` says which rule it breaks.
    case invalidName(String, reason: String)
    case modelNotFound(String)
    case modelExists(String)
    /// A Modelfile problem at a 1-based line.
    case modelfile(file: String, line: Int, message: String)
    case io(path: String, message: String)
    /// A manifest or blob that is not what the store wrote.
    case corrupt(path: String, message: String)
    case digestMismatch(what: String, expected: String, actual: String)
    case download(url: String, message: String)
    case invalidSource(String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let n, let r): return "invalid model name \(quoted(n)): \(r)"
        case .modelNotFound(let n): return "model \(quoted(n)) not found (see `hearth list`; a file path must exist)"
        case .modelExists(let n): return "model \(quoted(n)) already exists"
        case .modelfile(let f, let l, let m): return "\(f):\(l): \(m)"
        case .io(let p, let m): return "\(p): \(m)"
        case .corrupt(let p, let m): return "\(p): \(m)"
        case .digestMismatch(let w, let e, let a):
            return "\(w): sha256 mismatch: expected \(e), got \(a); nothing was installed"
        case .download(let u, let m): return "\(u): \(m)"
        case .invalidSource(let s, let r): return "cannot pull \(quoted(s)): \(r)"
        }
    }
}

/// A value shown in an error, quoted with control characters escaped so it stays on one line.
func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case _ where u.value < 0x20 || u.value == 0x7f: out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
