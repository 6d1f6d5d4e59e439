import Foundation

/// jinja2's built-in filters (jinja2/filters.py) with their argument names and defaults, plus Hugging Face's
/// `tojson` override (`json.dumps` with `ensure_ascii=False`, no HTML escaping). An unknown filter is an error
/// when it is applied, as in jinja2 3.
enum Filters {
    static func apply(_ name: String, _ value: TemplateValue, _ args: CallArguments, _ interp: TemplateInterpreter) throws
        -> TemplateValue
    {
        func bind(_ names: [String]) throws -> [TemplateValue?] { try args.bind(name, names) }
        switch name {
        case "safe", "e", "escape", "forceescape":
            if name == "safe" { return value }
            return .string(html(try interp.str(value)))
        case "string": return .string(try interp.str(value))
        case "upper": return .string(try interp.str(value).uppercased())
        case "lower": return .string(try interp.str(value).lowercased())
        case "capitalize": return .string(PyString.capitalize(try interp.str(value)))
        case "title": return .string(title(try interp.str(value)))
        case "trim":
            let a = try bind(["chars"])
            return .string(PyString.strip(try interp.str(value), try Methods.stringArg(a[0], "trim")))
        case "length", "count":
            return .int(try length(value))
        case "default", "d":
            let a = try bind(["default_value", "boolean"])
            if value.isUndefined || (a[1]?.truthy == true && !value.truthy) { return a[0] ?? .string("") }
            return value
        case "first", "last":
            let items = try interp.iterate(value)
            guard let v = name == "first" ? items.first : items.last else {
                return .undefined("No \(name) item, sequence was empty.")
            }
            return v
        case "list": return .array(try interp.iterate(value))
        case "items":
            switch value {
            case .undefined: return .array([])
            case .object(let o): return .array(o.pairs.map { .tuple([.string($0.0), $0.1]) })
            default: throw TemplateError(.type, "items filter needs a mapping, got \(value.typeName)")
            }
        case "join":
            let a = try bind(["d", "attribute"])
            var items = try interp.iterate(value)
            if let attr = a[1] { items = try items.map { try attribute($0, attr) } }
            let parts = try items.map { try interp.str($0) }
            let separator = try a[0].map { try interp.str($0) } ?? ""
            try interp.checkSize(parts.reduce(separator.utf8.count * parts.count) { $0 + $1.utf8.count }, "joined string")
            return .string(parts.joined(separator: separator))
        case "replace":
            let a = try bind(["old", "new", "count"])
            let s = try interp.str(value), old = a[0]?.pyStr ?? "", new = a[1]?.pyStr ?? ""
            try PyString.checkReplaceSize(s, old, new, count: a[2]?.intValue ?? -1, interp)
            let r = PyString.replace(s, old, new, count: a[2]?.intValue ?? -1)
            return .string(r)
        case "tojson":
            let a = try bind(["ensure_ascii", "indent", "separators", "sort_keys"])
            var seps: (String, String)? = nil
            if let s = a[2]?.items, s.count == 2 { seps = (s[0].pyStr, s[1].pyStr) }
            let text = try value.jsonDumps(indent: a[1]?.intValue, separators: seps, sortKeys: a[3]?.truthy ?? false,
                                           limit: interp.limits.maxOutputBytes)
            return .string(a[0]?.truthy == true ? asciiEscaped(text) : text)
        case "int":
            let a = try bind(["default", "base"])
            if case .undefined(let why) = value { throw TemplateError(.undefined, why) }
            return int(value, default: a[0] ?? .int(0), base: a[1]?.intValue ?? 10)
        case "float":
            let a = try bind(["default"])
            if case .undefined(let why) = value { throw TemplateError(.undefined, why) }
            if let n = value.number { return .double(n) }
            if case .string(let s) = value, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return a[0] ?? .double(0)
        case "abs":
            if let i = value.intValue { return .int(i == Int.min ? i : abs(i)) }
            if case .double(let d) = value { return .double(abs(d)) }
            throw TemplateError(.type, "bad operand type for abs(): '\(value.typeName)'")
        case "round":
            let a = try bind(["precision", "method"])
            guard let x = value.number else { throw TemplateError(.type, "round filter needs a number") }
            // Python's round() of an int with precision 0 stays an int.
            if let i = value.intValue, (a[0]?.intValue ?? 0) >= 0, (a[1]?.pyStr ?? "common") == "common" { return .int(i) }
            let scale = pow(10, Double(a[0]?.intValue ?? 0))
            let rule: FloatingPointRoundingRule
            switch a[1]?.pyStr ?? "common" {
            case "ceil": rule = .up
            case "floor": rule = .down
            case "common": rule = .toNearestOrEven
            default: throw TemplateError(.type, "method must be common, ceil or floor")
            }
            return .double((x * scale).rounded(rule) / scale)
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try interp.iterate(value).reversed())
        case "sort":
            let a = try bind(["reverse", "case_sensitive", "attribute"])
            return .array(try sorted(try interp.iterate(value), reverse: a[0]?.truthy ?? false,
                                     caseSensitive: a[1]?.truthy ?? false, attribute: a[2]))
        case "dictsort":
            let a = try bind(["case_sensitive", "by", "reverse"])
            guard case .object(let o) = value else { throw TemplateError(.type, "dictsort needs a mapping") }
            let pairs = o.pairs.map { TemplateValue.tuple([.string($0.0), $0.1]) }
            let by: TemplateValue = (a[1]?.pyStr ?? "key") == "value" ? .int(1) : .int(0)
            return .array(try sorted(pairs, reverse: a[2]?.truthy ?? false, caseSensitive: a[0]?.truthy ?? false,
                                     attribute: by))
        case "unique":
            let a = try bind(["case_sensitive", "attribute"])
            var seen: [TemplateValue] = []
            var out: [TemplateValue] = []
            for item in try interp.iterate(value) {
                let key = fold(try a[1].map { try attribute(item, $0) } ?? item, a[0]?.truthy ?? false)
                if !seen.contains(where: { $0.pyEquals(key) }) { seen.append(key); out.append(item) }
            }
            return .array(out)
        case "min", "max":
            let a = try bind(["case_sensitive", "attribute"])
            let items = try sorted(try interp.iterate(value), reverse: false, caseSensitive: a[0]?.truthy ?? false,
                                   attribute: a[1])
            return (name == "min" ? items.first : items.last) ?? .undefined("No aggregated item, sequence was empty.")
        case "sum":
            let a = try bind(["attribute", "start"])
            var total = a[1] ?? .int(0)
            for item in try interp.iterate(value) {
                total = try Operators.binary("+", total, try a[0].map { try attribute(item, $0) } ?? item, interp)
            }
            return total
        case "map": return .array(try map(value, args, interp))
        case "select", "reject", "selectattr", "rejectattr":
            return .array(try select(name, value, args, interp))
        case "attr":
            // Python attributes only (methods, namespace members), never dict keys: jinja2's `do_attr`.
            guard let n = args.positional.first?.pyStr else { throw TemplateError(.type, "attr filter needs a name") }
            if case .undefined(let why) = value { throw TemplateError(.undefined, why) }
            if let method = Methods.bound(value, n) { return method }
            if case .namespace(let ns) = value, let v = ns.attributes[n] { return v }
            return .undefined("'\(Access.typeRepr(value))' has no attribute '\(n)'")
        case "batch":
            let a = try bind(["linecount", "fill_with"])
            guard let n = a[0]?.intValue, n > 0 else { throw TemplateError(.value, "batch size must be positive") }
            try interp.checkSize(n, "batch", elements: true)
            var out: [TemplateValue] = []
            var cur: [TemplateValue] = []
            for item in try interp.iterate(value) {
                cur.append(item)
                if cur.count == n { out.append(.array(cur)); cur = [] }
            }
            if !cur.isEmpty {
                if let fill = a[1] { cur += Array(repeating: fill, count: n - cur.count) }
                out.append(.array(cur))
            }
            return .array(out)
        case "indent":
            let a = try bind(["width", "first", "blank"])
            if case .undefined(let why) = value { throw TemplateError(.undefined, why) }
            guard case .string = value else {
                throw TemplateError(.type, "unsupported operand type(s) for +=: '\(value.typeName)' and 'str'")
            }
            let indentation: String
            if case .string(let s)? = a[0] {
                indentation = s
            } else {
                let width = max(a[0]?.intValue ?? 4, 0)
                try interp.checkSize(width, "indentation")
                indentation = String(repeating: " ", count: width)
            }
            return .string(indent(try interp.str(value) + "\n", indentation, first: a[1]?.truthy ?? false, blank: a[2]?.truthy ?? false))
        case "center":
            let width = try bind(["width"])[0]?.intValue ?? 80
            let s = try interp.str(value)
            let pad = width - s.unicodeScalars.count
            guard pad > 0 else { return .string(s) }
            try interp.checkSize(width, "centered string")
            let left = pad / 2 + (pad & width & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: pad - left))
        case "wordcount":
            // jinja2: len(re.findall(r"\w+", s)); \w is letters, digits and underscore.
            var words = 0, inWord = false
            for u in try interp.str(value).unicodeScalars {
                let isWord = u == "_" || u.properties.isAlphabetic || u.properties.numericType != nil
                if isWord && !inWord { words += 1 }
                inWord = isWord
            }
            return .int(words)
        case "format":
            return .string(try printf(try interp.str(value), .tuple(args.positional), limit: interp.limits.maxOutputBytes))
        default:
            throw TemplateError(.runtime, "No filter named '\(name)'.")
        }
    }

    /// jinja2's `make_attrgetter`: "a.b" walks attributes; an integer part indexes.
    static func attribute(_ item: TemplateValue, _ path: TemplateValue) throws -> TemplateValue {
        if let i = path.intValue { return try Access.item(item, .int(i)) }
        var v = item
        for part in path.pyStr.split(separator: ".", omittingEmptySubsequences: false) {
            v = try Access.item(v, Int(part).map { .int($0) } ?? .string(String(part)))
        }
        return v
    }

    static func length(_ value: TemplateValue) throws -> Int {
        switch value {
        case .string(let s): return s.unicodeScalars.count
        case .array(let a), .tuple(let a): return a.count
        case .object(let o): return o.count
        case .namespace(let n): return n.attributes.count
        case .undefined: return 0
        default: throw TemplateError(.type, "object of type '\(value.typeName)' has no len()")
        }
    }

    private static func fold(_ v: TemplateValue, _ caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    private static func sorted(_ items: [TemplateValue], reverse: Bool, caseSensitive: Bool, attribute attr: TemplateValue?)
        throws -> [TemplateValue]
    {
        let keyed = try items.map { item in (fold(try attr.map { try attribute(item, $0) } ?? item, caseSensitive), item) }
        var failure: TemplateError? = nil
        // A stable merge of Python's `sorted` (which is stable, so equal keys keep their order).
        let order = keyed.enumerated().sorted { l, r in
            if let less = reverse ? r.element.0.pyLess(l.element.0) : l.element.0.pyLess(r.element.0), less { return true }
            if let less = reverse ? l.element.0.pyLess(r.element.0) : r.element.0.pyLess(l.element.0), less { return false }
            if l.element.0.pyLess(r.element.0) == nil && failure == nil {
                failure = TemplateError(.type, "'<' not supported between instances of '\(l.element.0.typeName)' and '\(r.element.0.typeName)'")
            }
            return l.offset < r.offset
        }
        if let failure { throw failure }
        return order.map { $0.element.1 }
    }

    private static func map(_ value: TemplateValue, _ args: CallArguments, _ interp: TemplateInterpreter) throws -> [TemplateValue] {
        let items = try interp.iterate(value)
        if let attr = args.keyword.first(where: { $0.0 == "attribute" })?.1 {
            let def = args.keyword.first(where: { $0.0 == "default" })?.1
            return try items.map {
                let v = try attribute($0, attr)
                if v.isUndefined, let def { return def }
                return v
            }
        }
        guard let filter = args.positional.first?.pyStr else { throw TemplateError(.runtime, "map requires a filter argument") }
        let rest = CallArguments(Array(args.positional.dropFirst()), keyword: args.keyword)
        return try items.map { try apply(filter, $0, rest, interp) }
    }

    private static func select(_ name: String, _ value: TemplateValue, _ args: CallArguments, _ interp: TemplateInterpreter)
        throws -> [TemplateValue]
    {
        let byAttribute = name.hasSuffix("attr")
        let keep = name.hasPrefix("select")
        var positional = args.positional
        var attr: TemplateValue? = nil
        if byAttribute {
            guard !positional.isEmpty else { throw TemplateError(.type, "\(name) needs an attribute name") }
            attr = positional.removeFirst()
        }
        let test = positional.isEmpty ? nil : positional.removeFirst().pyStr
        let testArgs = CallArguments(positional, keyword: args.keyword)
        guard value.truthy else { return [] }  // jinja2's select_or_reject: `if value:` before iterating
        return try interp.iterate(value).filter { item in
            let v = try attr.map { try attribute(item, $0) } ?? item
            let passed = try test.map { try Predicates.test($0, v, testArgs, interp) } ?? v.truthy
            return passed == keep
        }
    }

    private static func int(_ value: TemplateValue, default def: TemplateValue, base: Int) -> TemplateValue {
        if let i = value.intValue { return .int(i) }
        if case .double(let d) = value {
            return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : def
        }
        if case .string(let raw) = value {
            var s = raw.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "_", with: "")
            var negative = false
            if s.hasPrefix("-") || s.hasPrefix("+") { negative = s.hasPrefix("-"); s.removeFirst() }
            let prefixes = [16: "0x", 8: "0o", 2: "0b"]
            if let p = prefixes[base], s.lowercased().hasPrefix(p) { s.removeFirst(2) }
            if let i = Int(s, radix: base) { return .int(negative ? -i : i) }
            if base == 10, let d = Double(s), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
        }
        return def
    }

    private static func html(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// `json.dumps(..., ensure_ascii=True)`: non-ASCII as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
    private static func asciiEscaped(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x80 { out.unicodeScalars.append(u); continue }
            for unit in String(u).utf16 { out += String(format: "\\u%04x", unit) }
        }
        return out
    }

    /// jinja2's `do_title`: capitalize each word, words starting after whitespace, `-`, or an opening bracket.
    private static func title(_ s: String) -> String {
        var out = ""
        var atStart = true
        for ch in s {
            if ch.isWhitespace || "-([{<".contains(ch) {
                out.append(ch); atStart = true
            } else {
                out += atStart ? ch.uppercased() : ch.lowercased()
                atStart = false
            }
        }
        return out
    }

    private static func indent(_ s: String, _ indentation: String, first: Bool, blank: Bool) -> String {
        let lines = PyString.splitlines(s)
        var rv: String
        if blank {
            rv = lines.joined(separator: "\n" + indentation)
        } else {
            rv = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n") }
        }
        return first ? indentation + rv : rv
    }

    /// `"%s" % value` for the conversions templates use (`%s`, `%r`, `%d`, `%i`, `%%`).
    static func printf(_ format: String, _ value: TemplateValue, limit: Int) throws -> String {
        var values: [TemplateValue]
        if case .tuple(let a) = value { values = a } else { values = [value] }
        var out = ""
        var it = format.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let spec = it.next() else { throw TemplateError(.value, "incomplete format") }
            if out.utf8.count > limit { throw TemplateError(.limit, "formatted string would exceed \(limit) bytes") }
            if spec == "%" { out.append("%"); continue }
            guard !values.isEmpty else { throw TemplateError(.type, "not enough arguments for format string") }
            let v = values.removeFirst()
            switch spec {
            case "s": out += try v.pyStr(limit: limit)
            case "r": out += try v.pyRepr(limit: limit)
            case "d", "i":
                if let i = v.intValue { out += String(i); continue }
                guard case .double(let d) = v else { throw TemplateError(.type, "%d format: a real number is required, not \(v.typeName)") }
                guard d.isFinite, abs(d) < 9.2e18 else { throw TemplateError(.limit, "%d format: \(d) is out of range") }
                out += String(Int(d.rounded(.towardZero)))
            default: throw TemplateError(.value, "unsupported format character '\(spec)'")
            }
        }
        // A mapping argument need not be used up (Python formats `%(name)s` from it).
        if !values.isEmpty && !(values.count == 1 && { if case .object = value { return true } else { return false } }()) {
            throw TemplateError(.type, "not all arguments converted during string formatting")
        }
        return out
    }
}
