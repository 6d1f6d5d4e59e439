/// `x.name`, `x[key]` and `x[a:b:c]` as jinja2's sandboxed `getattr`/`getitem` do them: an attribute first looks
/// for a Python attribute (methods such as `dict.items`, `str.strip`) and then a key; a subscript looks for the key
/// first. What is missing is Undefined; using a member of an Undefined is an `UndefinedError`.
enum Access {
    /// jinja2's `object_type_repr`, used in "'dict object' has no attribute 'x'".
    static func typeRepr(_ v: TemplateValue) -> String {
        if case .none = v { return "None" }
        return "\(v.typeName) object"
    }

    static func attribute(_ value: TemplateValue, _ name: String) throws -> TemplateValue {
        if case .undefined(let why) = value { throw TemplateError(.undefined, why) }
        if let method = Methods.bound(value, name) { return method }
        switch value {
        case .object(let o):
            if let v = o[name] { return v }
        case .namespace(let n):
            if let v = n.attributes[name] { return v }
        default: break
        }
        return .undefined("'\(typeRepr(value))' has no attribute '\(name)'")
    }

    static func item(_ value: TemplateValue, _ key: TemplateValue) throws -> TemplateValue {
        switch (value, key) {
        case (.undefined(let why), _):
            throw TemplateError(.undefined, why)
        case (.object(let o), .string(let k)):
            if let v = o[k] { return v }
        case (.namespace(let n), .string(let k)):
            if let v = n.attributes[k] { return v }
        case (.array(let a), _), (.tuple(let a), _):
            if let i = key.intValue {
                let j = i < 0 ? a.count + i : i
                if j >= 0 && j < a.count { return a[j] }
                return .undefined("\(typeRepr(value)) has no element \(i)")
            }
        case (.string(let s), _):
            if let i = key.intValue {
                let scalars = Array(s.unicodeScalars)
                let j = i < 0 ? scalars.count + i : i
                if j >= 0 && j < scalars.count { return .string(String(scalars[j])) }
                return .undefined("\(typeRepr(value)) has no element \(i)")
            }
        default: break
        }
        if case .string(let name) = key { return try attribute(value, name) }
        return .undefined("\(typeRepr(value)) has no element \(key.pyRepr)")
    }

    /// Python slice semantics (`slice.indices`), including negative steps.
    static func slice(_ value: TemplateValue, start: TemplateValue?, stop: TemplateValue?, step: TemplateValue?)
        throws -> TemplateValue
    {
        func bound(_ v: TemplateValue?) throws -> Int? {
            guard let v, !(v.isNone) else { return nil }
            guard let i = v.intValue else {
                throw TemplateError(.type, "slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let st = try bound(step) ?? 1
        guard st != 0 else { throw TemplateError(.value, "slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ i: Int?, _ def: Int) -> Int {
                guard let i else { return def }
                if i < 0 { return max(i + count, st < 0 ? -1 : 0) }
                return min(i, st < 0 ? count - 1 : count)
            }
            let lo = clamp(try bound(start), st < 0 ? count - 1 : 0)
            let hi = clamp(try bound(stop), st < 0 ? -1 : count)
            return Array(stride(from: lo, to: hi, by: st))
        }
        switch value {
        case .array(let a): return .array(try indices(a.count).map { a[$0] })
        case .tuple(let a): return .tuple(try indices(a.count).map { a[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined(let why): throw TemplateError(.undefined, why)
        // jinja2 compiles slices to a plain Python subscript (no environment.getitem), so this is a TypeError.
        default: throw TemplateError(.type, "'\(value.typeName)' object is not subscriptable")
        }
    }
}

extension TemplateValue {
    var isNone: Bool { if case .none = self { return true } else { return false } }
}
