import Foundation

/// jinja2's built-in tests (jinja2/tests.py): `x is defined`, `x is string`, `x is divisibleby 3`…
enum Predicates {
    static func test(_ name: String, _ v: TemplateValue, _ args: CallArguments, _ interp: TemplateInterpreter) throws -> Bool {
        func arg() throws -> TemplateValue {
            guard let a = args.positional.first ?? args.keyword.first?.1 else {
                throw TemplateError(.type, "test '\(name)' needs an argument")
            }
            return a
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": if case .bool = v { return true } else { return false }
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .double = v { return true } else { return false }
        case "number": return v.number != nil
        case "string": if case .string = v { return true } else { return false }
        case "mapping": if case .object = v { return true } else { return false }
        case "iterable", "sequence":
            switch v {
            case .string, .array, .tuple, .object, .undefined: return true
            case .namespace: return name == "iterable"
            default: return false
            }
        case "callable":  // jinja2's Undefined has __call__ (which raises)
            switch v { case .callable, .undefined: return true; default: return false }
        case "odd", "even":
            // Python: value % 2 == 1 (odd) / == 0 (even), floats included.
            if let i = v.intValue { return (i & 1 == 1) == (name == "odd") }
            guard let x = v.number else {
                throw TemplateError(.type, "unsupported operand type(s) for %: '\(v.typeName)' and 'int'")
            }
            var r = fmod(x, 2)
            if r < 0 { r += 2 }
            return name == "odd" ? r == 1 : r == 0
        case "divisibleby":
            let divisor = try arg()
            if let i = v.intValue, let n = divisor.intValue {
                guard n != 0 else { throw TemplateError(.zeroDivision, "integer division or modulo by zero") }
                return n == -1 || i % n == 0
            }
            guard let x = v.number, let y = divisor.number else {
                throw TemplateError(.type, "unsupported operand type(s) for %: '\(v.typeName)' and '\(divisor.typeName)'")
            }
            guard y != 0 else { throw TemplateError(.zeroDivision, "float modulo") }
            return fmod(x, y) == 0
        case "eq", "equalto", "==": return try Operators.compare("==", v, arg())
        case "ne", "!=": return try Operators.compare("!=", v, arg())
        case "lt", "lessthan", "<": return try Operators.compare("<", v, arg())
        case "le", "<=": return try Operators.compare("<=", v, arg())
        case "gt", "greaterthan", ">": return try Operators.compare(">", v, arg())
        case "ge", ">=": return try Operators.compare(">=", v, arg())
        case "in": return try Operators.contains(try arg(), v)
        case "sameas":
            let other = try arg()
            switch (v, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.callable(let a), .callable(let b)): return a === b
            default: return false
            }
        case "lower":
            let s = v.pyStr
            return s.contains { $0.isLowercase } && !s.contains { $0.isUppercase }
        case "upper":
            let s = v.pyStr
            return s.contains { $0.isUppercase } && !s.contains { $0.isLowercase }
        case "escaped": return false
        default:
            throw TemplateError(.runtime, "No test named '\(name)'.")
        }
    }
}
