import Foundation

/// A value inside a template: the Python objects a Hugging Face chat template sees (JSON data, strings, numbers,
/// None), plus jinja2's Undefined, namespaces and callables (macros, methods, globals).
///
/// Printing, truthiness, equality and ordering follow Python 3 (`str()`, `bool()`, `==`, `<`), since templates are
/// written against jinja2 running on CPython.
public enum TemplateValue: @unchecked Sendable {
    /// jinja2's `Undefined`; the payload says what was missing (for the error when it is used).
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    /// A Python tuple (`(1, 2)`, the pairs of `dict.items()`): a list that prints with parentheses.
    case tuple([TemplateValue])
    case object(TemplateObject)
    case namespace(Namespace)
    case callable(TemplateCallable)

    /// A Python dict: insertion-ordered string keys (the order JSON objects were written in).
    public struct TemplateObject: Sendable {
        public private(set) var keys: [String] = []
        private var storage: [String: TemplateValue] = [:]

        public init() {}
        public init(_ pairs: [(String, TemplateValue)]) {
            for (k, v) in pairs { self[k] = v }
        }

        public subscript(key: String) -> TemplateValue? {
            get { storage[key] }
            set {
                if let v = newValue {
                    if storage.updateValue(v, forKey: key) == nil { keys.append(key) }
                } else if storage.removeValue(forKey: key) != nil {
                    keys.removeAll { $0 == key }
                }
            }
        }

        public var count: Int { keys.count }
        public var pairs: [(String, TemplateValue)] { keys.map { ($0, storage[$0] ?? .none) } }
        public var values: [TemplateValue] { keys.map { storage[$0] ?? .none } }
    }

    /// jinja2's `namespace(...)`: the one mutable object templates have (`{% set ns.x = 1 %}`).
    public final class Namespace: @unchecked Sendable {
        var attributes = TemplateObject()
        init(_ attributes: TemplateObject) { self.attributes = attributes }
    }

    /// The Python type name, as jinja2 and Python error messages print it.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .tuple: return "tuple"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }

    /// The elements of a list or tuple.
    var items: [TemplateValue]? {
        switch self {
        case .array(let a), .tuple(let a): return a
        default: return nil
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python's `bool(x)`.
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .object(let o): return o.count > 0
        case .namespace, .callable: return true
        }
    }

    /// The numeric value for arithmetic and comparisons (Python treats bool as int).
    var number: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    var intValue: Int? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i
        default: return nil
        }
    }

    /// Python's `==` (1 == 1.0 == True; Undefined equals only Undefined, as jinja2's `Undefined.__eq__`).
    public func pyEquals(_ other: TemplateValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a.pairs { guard let w = b[k], v.pyEquals(w) else { return false } }
            return true
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.callable(let a), .callable(let b)): return a === b
        default:
            if let x = intValue, let y = other.intValue { return x == y }
            if let x = number, let y = other.number { return x == y }
            return false
        }
    }

    /// Python's `<`, or nil where Python raises TypeError.
    func pyLess(_ other: TemplateValue) -> Bool? {
        switch (self, other) {
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !x.pyEquals(y) { return x.pyLess(y) }
            return a.count < b.count
        default:
            if let x = intValue, let y = other.intValue { return x < y }
            if let x = number, let y = other.number { return x < y }
            return nil
        }
    }

    /// Python's `str(x)`; jinja2 prints Undefined as the empty string.
    public var pyStr: String { (try? pyStr(limit: Int.max)) ?? "" }

    /// Python's `repr(x)`: how values print inside lists and dicts.
    public var pyRepr: String { (try? pyRepr(limit: Int.max)) ?? "" }

    /// `str(x)`, refusing to build more than `limit` bytes (a list can hold one large string many times).
    func pyStr(limit: Int) throws -> String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return try pyRepr(limit: limit)
        }
    }

    func pyRepr(limit: Int) throws -> String {
        var out = ""
        var open: Set<ObjectIdentifier> = []
        try appendRepr(to: &out, limit: limit, depth: 0, open: &open)
        return out
    }

    /// Nesting beyond this is refused when printing (JSON input allows 512; templates add at most a few levels).
    static let maxPrintDepth = 1000

    private func appendRepr(to out: inout String, limit: Int, depth: Int, open: inout Set<ObjectIdentifier>) throws {
        guard depth < Self.maxPrintDepth else {
            throw TemplateError(.limit, "value nested more than \(Self.maxPrintDepth) levels deep")
        }
        func items(_ a: [TemplateValue], _ l: String, _ r: String) throws {
            out += l
            for (i, v) in a.enumerated() {
                if i > 0 { out += ", " }
                try v.appendRepr(to: &out, limit: limit, depth: depth + 1, open: &open)
            }
            out += r
        }
        switch self {
        case .undefined: break
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += PythonFormat.floatRepr(d)
        case .string(let s): out += PythonFormat.stringRepr(s)
        case .array(let a): try items(a, "[", "]")
        case .tuple(let a): try items(a, "(", a.count == 1 ? ",)" : ")")
        case .object(let o): try Self.appendDict(o, to: &out, limit: limit, depth: depth, open: &open)
        case .namespace(let n):
            // jinja2: `<Namespace {...}>`; Python's dict repr prints a dict inside itself as `{...}`.
            let id = ObjectIdentifier(n)
            if open.contains(id) { out += "<Namespace {...}>"; break }
            open.insert(id)
            defer { open.remove(id) }
            out += "<Namespace "
            try Self.appendDict(n.attributes, to: &out, limit: limit, depth: depth, open: &open)
            out += ">"
        case .callable(let c): out += c.isMacro ? "<Macro \(PythonFormat.stringRepr(c.name))>" : "<function \(c.name)>"
        }
        if out.utf8.count > limit { throw TemplateError(.limit, "printed value would exceed \(limit) bytes") }
    }

    private static func appendDict(_ o: TemplateObject, to out: inout String, limit: Int, depth: Int,
                                   open: inout Set<ObjectIdentifier>) throws {
        out += "{"
        for (i, (k, v)) in o.pairs.enumerated() {
            if i > 0 { out += ", " }
            out += PythonFormat.stringRepr(k) + ": "
            try v.appendRepr(to: &out, limit: limit, depth: depth + 1, open: &open)
        }
        out += "}"
    }

    /// How deeply lists, tuples and dicts nest (namespaces count as one level), stopping at `cap`.
    func nestingDepth(cap: Int) -> Int {
        guard cap > 0 else { return 0 }
        switch self {
        case .array(let a), .tuple(let a): return 1 + (a.lazy.map { $0.nestingDepth(cap: cap - 1) }.max() ?? 0)
        case .object(let o): return 1 + (o.values.lazy.map { $0.nestingDepth(cap: cap - 1) }.max() ?? 0)
        default: return 0
        }
    }
}

/// A function a template can call: a macro, a global (`range`, `namespace`…) or a bound method (`s.strip`).
public final class TemplateCallable: @unchecked Sendable {
    public typealias Body = (_ args: CallArguments, _ interpreter: TemplateInterpreter) throws -> TemplateValue
    let name: String
    let body: Body
    /// Macros print as jinja2's `<Macro 'name'>`.
    let isMacro: Bool

    init(name: String, isMacro: Bool = false, body: @escaping Body) {
        self.name = name
        self.isMacro = isMacro
        self.body = body
    }
}

/// Positional and keyword arguments of one call, with Python-style binding to parameter names.
public struct CallArguments {
    var positional: [TemplateValue]
    var keyword: [(String, TemplateValue)]

    init(_ positional: [TemplateValue] = [], keyword: [(String, TemplateValue)] = []) {
        self.positional = positional
        self.keyword = keyword
    }

    /// Binds to `names` in order (positional first, then by keyword); unknown keywords or too many arguments
    /// are a TypeError as in Python. Missing ones come back nil.
    func bind(_ function: String, _ names: [String]) throws -> [TemplateValue?] {
        guard positional.count <= names.count else {
            throw TemplateError(.type, "\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        var out: [TemplateValue?] = positional.map { $0 } + Array(repeating: nil, count: names.count - positional.count)
        for (k, v) in keyword {
            guard let i = names.firstIndex(of: k) else {
                throw TemplateError(.type, "\(function)() got an unexpected keyword argument '\(k)'")
            }
            if out[i] != nil { throw TemplateError(.type, "\(function)() got multiple values for argument '\(k)'") }
            out[i] = v
        }
        return out
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: TemplateValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) { self = .object(TemplateObject(elements)) }
    public init(nilLiteral: ()) { self = .none }
}
