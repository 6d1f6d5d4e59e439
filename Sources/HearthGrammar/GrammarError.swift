/// Errors from parsing a GBNF grammar, compiling a JSON Schema, or running a grammar over a vocabulary. Each
/// message names where the problem is (line and column of the grammar, or the JSON pointer of the schema) and what
/// was expected, so a server can return it as a 400 body unchanged.
public enum GrammarError: Error, Equatable, CustomStringConvertible {
    /// A syntax error in GBNF text at a 1-based line and column.
    case syntax(line: Int, column: Int, message: String)
    /// A grammar that parses but cannot be used (undefined or left-recursive rule, missing root…).
    case invalid(String)
    /// A grammar or schema that exceeds a safety limit (size, repetitions, nesting, parser states).
    case tooComplex(String)
    /// A JSON Schema keyword or value this compiler does not support, at a JSON pointer (`#/properties/a`).
    case unsupportedSchema(path: String, message: String)
    /// A JSON Schema that is malformed (not JSON, wrong type for a keyword…), at a JSON pointer.
    case invalidSchema(path: String, message: String)

    public var description: String {
        switch self {
        case .syntax(let line, let column, let message): return "grammar line \(line), column \(column): \(message)"
        case .invalid(let message): return "invalid grammar: \(message)"
        case .tooComplex(let message): return "grammar too complex: \(message)"
        case .unsupportedSchema(let path, let message): return "JSON schema \(path): unsupported: \(message)"
        case .invalidSchema(let path, let message): return "JSON schema \(path): \(message)"
        }
    }
}
