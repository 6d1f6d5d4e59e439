import Foundation

/// Python 3's arithmetic, concatenation and comparison operators on template values, with its TypeError messages.
/// Integers are 64-bit here: where Python would grow a big integer, overflow is an error.
enum Operators {
    static func unary(_ op: String, _ v: TemplateValue) throws -> TemplateValue {
        if case .undefined(let why) = v, op != "not" { throw TemplateError(.undefined, why) }
        switch op {
        case "not": return .bool(!v.truthy)
        case "-":
            if let i = v.intValue {
                guard i != Int.min else { throw TemplateError(.limit, "integer overflow") }
                return .int(-i)
            }
            if case .double(let d) = v { return .double(-d) }
        case "+":
            if let i = v.intValue { return .int(i) }
            if case .double = v { return v }
        default: break
        }
        throw TemplateError(.type, "bad operand type for unary \(op): '\(v.typeName)'")
    }

    private static func unsupported(_ op: String, _ a: TemplateValue, _ b: TemplateValue) -> TemplateError {
        TemplateError(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> TemplateValue {
        guard !r.overflow else { throw TemplateError(.limit, "integer overflow (Python would use a big integer)") }
        return .int(r.partialValue)
    }

    static func binary(_ op: String, _ a: TemplateValue, _ b: TemplateValue, _ interp: TemplateInterpreter) throws
        -> TemplateValue
    {
        if op == "~" {
            let x = try interp.str(a), y = try interp.str(b)
            try interp.checkSize(x.utf8.count + y.utf8.count, "string")
            let s = x + y
            return .string(s)
        }
        if case .undefined(let why) = a { throw TemplateError(.undefined, why) }
        if case .undefined(let why) = b { throw TemplateError(.undefined, why) }
        let ints = (a.intValue, b.intValue)
        switch op {
        case "+":
            if let x = ints.0, let y = ints.1 { return try checked(x.addingReportingOverflow(y)) }
            if let x = a.number, let y = b.number { return .double(x + y) }
            switch (a, b) {
            case (.string(let x), .string(let y)):
                try interp.checkSize(x.utf8.count + y.utf8.count, "string")
                return .string(x + y)
            case (.array(let x), .array(let y)):
                try interp.checkSize(x.count + y.count, "list", elements: true)
                return .array(x + y)
            case (.tuple(let x), .tuple(let y)):
                try interp.checkSize(x.count + y.count, "tuple", elements: true)
                return .tuple(x + y)
            case (.string, _):
                throw TemplateError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
            case (.array, _):
                throw TemplateError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
            default: throw unsupported("+", a, b)
            }
        case "-":
            if let x = ints.0, let y = ints.1 { return try checked(x.subtractingReportingOverflow(y)) }
            if let x = a.number, let y = b.number { return .double(x - y) }
            throw unsupported("-", a, b)
        case "*":
            if let x = ints.0, let y = ints.1 { return try checked(x.multipliedReportingOverflow(by: y)) }
            if let x = a.number, let y = b.number { return .double(x * y) }
            if let (seq, n) = repetition(a, b) {
                let times = max(n, 0)
                switch seq {
                case .string(let s):
                    try interp.checkSize(s.utf8.count.multipliedReportingOverflow(by: times).overflow
                                         ? Int.max : s.utf8.count * times, "string")
                    return .string(String(repeating: s, count: times))
                case .array(let l), .tuple(let l):
                    try interp.checkSize(l.count.multipliedReportingOverflow(by: times).overflow
                                         ? Int.max : l.count * times, "list", elements: true)
                    let joined = Array([[TemplateValue]](repeating: l, count: times).joined())
                    if case .tuple = seq { return .tuple(joined) }
                    return .array(joined)
                default: break
                }
            }
            throw unsupported("*", a, b)
        case "/":
            guard let x = a.number, let y = b.number else { throw unsupported("/", a, b) }
            guard y != 0 else { throw TemplateError(.zeroDivision, "division by zero") }
            return .double(x / y)
        case "//", "%":
            if let x = ints.0, let y = ints.1 {
                guard y != 0 else {
                    throw TemplateError(.zeroDivision, op == "//" ? "integer division or modulo by zero" : "integer modulo by zero")
                }
                if x == Int.min && y == -1 { throw TemplateError(.limit, "integer overflow") }
                var q = x / y, r = x % y
                if r != 0 && ((r < 0) != (y < 0)) { q -= 1; r += y }
                return .int(op == "//" ? q : r)
            }
            if op == "%", case .string(let format) = a {
                let s = try Filters.printf(format, b, limit: interp.limits.maxOutputBytes)
                try interp.checkSize(s.utf8.count, "string")
                return .string(s)
            }
            guard let x = a.number, let y = b.number else { throw unsupported(op, a, b) }
            guard y != 0 else { throw TemplateError(.zeroDivision, "float division by zero") }
            if op == "//" { return .double((x / y).rounded(.down)) }
            var r = fmod(x, y)
            if r != 0 && ((r < 0) != (y < 0)) { r += y }
            return .double(r)
        case "**":
            if let x = ints.0, let y = ints.1, y >= 0 {
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 { result = try checked(result.multipliedReportingOverflow(by: base)).intValue ?? 0 }
                    e >>= 1
                    if e > 0 { base = try checked(base.multipliedReportingOverflow(by: base)).intValue ?? 0 }
                }
                return .int(result)
            }
            guard let x = a.number, let y = b.number else { throw unsupported("** or pow()", a, b) }
            return .double(pow(x, y))
        default:
            throw TemplateError(.runtime, "unknown operator \(op)")
        }
    }

    private static func repetition(_ a: TemplateValue, _ b: TemplateValue) -> (TemplateValue, Int)? {
        switch (a, b) {
        case (.string, _), (.array, _), (.tuple, _): if let n = b.intValue { return (a, n) }
        case (_, .string), (_, .array), (_, .tuple): if let n = a.intValue { return (b, n) }
        default: break
        }
        return nil
    }

    static func compare(_ op: String, _ a: TemplateValue, _ b: TemplateValue) throws -> Bool {
        switch op {
        case "==": return a.pyEquals(b)
        case "!=": return !a.pyEquals(b)
        case "in": return try contains(b, a)
        case "notin": return !(try contains(b, a))
        default:
            if case .undefined(let why) = a { throw TemplateError(.undefined, why) }
            if case .undefined(let why) = b { throw TemplateError(.undefined, why) }
            let less: Bool?
            switch op {
            case "<": less = a.pyLess(b)
            case ">": less = b.pyLess(a)
            case "<=": less = b.pyLess(a).map { !$0 }
            case ">=": less = a.pyLess(b).map { !$0 }
            default: less = nil
            }
            guard let result = less else {
                throw TemplateError(.type,
                    "'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
            }
            return result
        }
    }

    /// Python's `needle in container`.
    static func contains(_ container: TemplateValue, _ needle: TemplateValue) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let n) = needle else {
                throw TemplateError(.type, "'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return n.isEmpty || s.contains(n)
        case .array(let a), .tuple(let a): return a.contains { $0.pyEquals(needle) }
        case .object(let o):
            switch needle {
            case .string(let k): return o[k] != nil
            case .array, .object, .namespace: throw TemplateError(.type, "unhashable type: '\(needle.typeName)'")
            default: return false
            }
        case .namespace(let n):
            guard case .string(let k) = needle else { return false }
            return n.attributes[k] != nil
        case .undefined: return false
        default: throw TemplateError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }
}
