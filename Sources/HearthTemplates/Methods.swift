/// Python methods templates call on values (`str.strip`, `dict.get`, `list.index`…), on code points as Python
/// does. Hugging Face renders in jinja2's `ImmutableSandboxedEnvironment`, so methods that mutate a list or dict
/// (`append`, `update`, `pop`…) are refused with jinja2's SecurityError.
enum Methods {
    static let mutatingList: Set<String> = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"]
    static let mutatingDict: Set<String> = ["pop", "popitem", "setdefault", "update", "clear"]

    static func bound(_ value: TemplateValue, _ name: String) -> TemplateValue? {
        let body: TemplateCallable.Body?
        switch value {
        case .string(let s): body = stringMethod(s, name)
        case .object(let o): body = dictMethod(o, name)
        case .array(let a): body = listMethod(a, name)
        case .tuple(let a): body = name == "index" || name == "count" ? listMethod(a, name) : nil
        default: body = nil
        }
        return body.map { .callable(TemplateCallable(name: name, body: $0)) }
    }

    private static func unsafe(_ name: String, _ type: String) -> TemplateCallable.Body {
        { _, _ in throw TemplateError(.security, "access to attribute '\(name)' of '\(type)' object is unsafe.") }
    }

    private static func dictMethod(_ o: TemplateValue.TemplateObject, _ name: String) -> TemplateCallable.Body? {
        if mutatingDict.contains(name) { return unsafe(name, "dict") }
        switch name {
        case "items": return { _, _ in .array(o.pairs.map { .tuple([.string($0.0), $0.1]) }) }
        case "keys": return { _, _ in .array(o.keys.map { .string($0) }) }
        case "values": return { _, _ in .array(o.values) }
        case "copy": return { _, _ in .object(o) }
        case "get":
            return { args, _ in
                let a = try args.bind("get", ["key", "default"])
                guard let key = a[0] else { throw TemplateError(.type, "get expected at least 1 argument, got 0") }
                if case .string(let k) = key, let v = o[k] { return v }
                return a[1] ?? .none
            }
        default: return nil
        }
    }

    private static func listMethod(_ l: [TemplateValue], _ name: String) -> TemplateCallable.Body? {
        if mutatingList.contains(name) { return unsafe(name, "list") }
        switch name {
        case "index":
            return { args, _ in
                guard let x = args.positional.first else { throw TemplateError(.type, "index expected at least 1 argument") }
                guard let i = l.firstIndex(where: { $0.pyEquals(x) }) else {
                    throw TemplateError(.value, "\(x.pyRepr) is not in list")
                }
                return .int(i)
            }
        case "count":
            return { args, _ in
                guard let x = args.positional.first else { throw TemplateError(.type, "count() takes exactly one argument") }
                return .int(l.filter { $0.pyEquals(x) }.count)
            }
        case "copy": return { _, _ in .array(l) }
        default: return nil
        }
    }

    static func stringArg(_ v: TemplateValue?, _ function: String) throws -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?: throw TemplateError(.type, "\(function) arg must be None or str, not \(other.typeName)")
        }
    }

    private static func stringMethod(_ s: String, _ name: String) -> TemplateCallable.Body? {
        switch name {
        case "strip", "lstrip", "rstrip":
            return { args, _ in
                let chars = try stringArg(try args.bind(name, ["chars"])[0], name)
                return .string(PyString.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return { args, _ in
                let a = try args.bind(name, ["sep", "maxsplit"])
                let sep = try stringArg(a[0], name)
                let maxsplit = a[1]?.intValue ?? -1
                if sep == "" { throw TemplateError(.value, "empty separator") }
                return .array(PyString.split(s, sep, maxsplit: maxsplit, fromRight: name == "rsplit").map { .string($0) })
            }
        case "splitlines":
            return { _, _ in .array(PyString.splitlines(s).map { .string($0) }) }
        case "startswith", "endswith":
            return { args, _ in
                guard let arg = args.positional.first else { throw TemplateError(.type, "\(name) takes at least 1 argument") }
                let options: [TemplateValue]
                if case .tuple(let a) = arg { options = a } else { options = [arg] }
                for o in options {
                    guard case .string(let p) = o else {
                        throw TemplateError(.type, "\(name) first arg must be str or a tuple of str, not \(o.typeName)")
                    }
                    let hit = name == "startswith" ? s.unicodeScalars.starts(with: p.unicodeScalars)
                        : s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed())
                    if hit { return .bool(true) }
                }
                return .bool(false)
            }
        case "replace":
            return { args, interp in
                let a = try args.bind("replace", ["old", "new", "count"])
                guard case .string(let old)? = a[0], case .string(let new)? = a[1] else {
                    throw TemplateError(.type, "replace() arguments must be str")
                }
                try PyString.checkReplaceSize(s, old, new, count: a[2]?.intValue ?? -1, interp)
                return .string(PyString.replace(s, old, new, count: a[2]?.intValue ?? -1))
            }
        case "upper": return { _, _ in .string(s.uppercased()) }
        case "lower": return { _, _ in .string(s.lowercased()) }
        case "title": return { _, _ in .string(PyString.title(s)) }
        case "capitalize": return { _, _ in .string(PyString.capitalize(s)) }
        case "find", "rfind", "index", "rindex", "count":
            return { args, _ in
                guard case .string(let sub)? = args.positional.first else {
                    throw TemplateError(.type, "\(name)() argument must be str")
                }
                if name == "count" { return .int(PyString.count(s, sub)) }
                let i = PyString.find(s, sub, fromRight: name.hasPrefix("r"))
                if i < 0 && name.hasSuffix("index") { throw TemplateError(.value, "substring not found") }
                return .int(i)
            }
        case "format":
            return { args, interp in .string(try PythonFormat.format(s, args, limit: interp.limits.maxOutputBytes)) }
        case "join":
            return { args, interp in
                guard let seq = args.positional.first else { throw TemplateError(.type, "join() takes exactly one argument") }
                let parts = try interp.iterate(seq)
                var out: [String] = []
                for (i, p) in parts.enumerated() {
                    guard case .string(let x) = p else {
                        throw TemplateError(.type, "sequence item \(i): expected str instance, \(p.typeName) found")
                    }
                    out.append(x)
                }
                try interp.checkSize(out.reduce(s.utf8.count * out.count) { $0 + $1.utf8.count }, "joined string")
                return .string(out.joined(separator: s))
            }
        case "isdigit", "isnumeric", "isdecimal":
            return { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil }) }
        case "isalpha": return { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }) }
        case "isalnum":
            return { _, _ in
                .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            }
        case "isspace": return { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(Lexer.isSpace)) }
        case "isupper": return { _, _ in .bool(s.contains { $0.isUppercase } && !s.contains { $0.isLowercase }) }
        case "islower": return { _, _ in .bool(s.contains { $0.isLowercase } && !s.contains { $0.isUppercase }) }
        default: return nil
        }
    }
}

/// Python `str` algorithms on Unicode code points.
enum PyString {
    static func strip(_ s: String, _ chars: String?, left: Bool = true, right: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { u in set.map { $0.contains(u) } ?? Lexer.isSpace(u) }
        let scalars = Array(s.unicodeScalars)
        var lo = 0, hi = scalars.count
        if left { while lo < hi && drop(scalars[lo]) { lo += 1 } }
        if right { while hi > lo && drop(scalars[hi - 1]) { hi -= 1 } }
        return make(scalars[lo..<hi])
    }

    static func make<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }

    /// Offsets of non-overlapping occurrences of `sub` in `s`, left to right.
    static func occurrences(_ s: [Unicode.Scalar], _ sub: [Unicode.Scalar]) -> [Int] {
        guard !sub.isEmpty, sub.count <= s.count else { return [] }
        var out: [Int] = []
        var i = 0
        while i + sub.count <= s.count {
            if s[i] == sub[0] && s[i..<i + sub.count].elementsEqual(sub) { out.append(i); i += sub.count } else { i += 1 }
        }
        return out
    }

    static func find(_ s: String, _ sub: String, fromRight: Bool) -> Int {
        let a = Array(s.unicodeScalars), b = Array(sub.unicodeScalars)
        if b.isEmpty { return fromRight ? a.count : 0 }
        guard b.count <= a.count else { return -1 }
        let range = Array(0...(a.count - b.count))
        for i in fromRight ? range.reversed() : range where a[i..<i + b.count].elementsEqual(b) { return i }
        return -1
    }

    static func count(_ s: String, _ sub: String) -> Int {
        if sub.isEmpty { return s.unicodeScalars.count + 1 }
        return occurrences(Array(s.unicodeScalars), Array(sub.unicodeScalars)).count
    }

    /// Refuses a replacement whose result would pass the output bound, before building it.
    static func checkReplaceSize(_ s: String, _ old: String, _ new: String, count: Int, _ interp: TemplateInterpreter) throws {
        var n = PyString.count(s, old)
        if count >= 0 { n = min(n, count) }
        let (growth, o1) = n.multipliedReportingOverflow(by: new.utf8.count - old.utf8.count)
        let (size, o2) = s.utf8.count.addingReportingOverflow(growth)
        try interp.checkSize(o1 || o2 ? Int.max : size, "string")
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let a = Array(s.unicodeScalars), o = Array(old.unicodeScalars), n = Array(new.unicodeScalars)
        var out: [Unicode.Scalar] = []
        if o.isEmpty {
            var done = 0
            for u in a {
                if count < 0 || done < count { out += n; done += 1 }
                out.append(u)
            }
            if count < 0 || done < count { out += n }
            return make(out)
        }
        var last = 0
        for (k, i) in occurrences(a, o).enumerated() where count < 0 || k < count {
            out += a[last..<i]
            out += n
            last = i + o.count
        }
        out += a[last...]
        return make(out)
    }

    static func split(_ s: String, _ sep: String?, maxsplit: Int, fromRight: Bool) -> [String] {
        let a = Array(s.unicodeScalars)
        guard let sep else {
            // Runs of whitespace; empty strings never result.
            var words: [Range<Int>] = []
            var i = 0
            while i < a.count {
                while i < a.count && Lexer.isSpace(a[i]) { i += 1 }
                if i == a.count { break }
                let start = i
                while i < a.count && !Lexer.isSpace(a[i]) { i += 1 }
                words.append(start..<i)
            }
            if maxsplit < 0 || words.count <= maxsplit + 1 { return words.map { make(a[$0]) } }
            if fromRight {
                let tail = words.suffix(maxsplit)
                let headEnd = tail.first.map { $0.lowerBound } ?? a.count
                var head = a[0..<headEnd]
                while let l = head.last, Lexer.isSpace(l) { head.removeLast() }
                return [make(head)] + tail.map { make(a[$0]) }
            }
            let head = words.prefix(maxsplit)
            var rest = a[(head.last?.upperBound ?? 0)...]
            while let f = rest.first, Lexer.isSpace(f) { rest.removeFirst() }
            return head.map { make(a[$0]) } + [make(rest)]
        }
        let sepScalars = Array(sep.unicodeScalars)
        var cuts = occurrences(a, sepScalars)
        if fromRight {
            // Right-to-left non-overlapping matches differ from left-to-right only for self-overlapping separators.
            var rcuts: [Int] = []
            var end = a.count
            while end - sepScalars.count >= 0 {
                let i = end - sepScalars.count
                if a[i..<end].elementsEqual(sepScalars) { rcuts.append(i); end = i } else { end -= 1 }
            }
            cuts = Array(rcuts.prefix(maxsplit < 0 ? rcuts.count : maxsplit).reversed())
        } else if maxsplit >= 0 {
            cuts = Array(cuts.prefix(maxsplit))
        }
        var out: [String] = []
        var last = 0
        for c in cuts {
            out.append(make(a[last..<c]))
            last = c + sepScalars.count
        }
        out.append(make(a[last...]))
        return out
    }

    static func splitlines(_ s: String) -> [String] {
        var out: [String] = []
        var cur: [Unicode.Scalar] = []
        let a = Array(s.unicodeScalars)
        var i = 0
        while i < a.count {
            let u = a[i]
            if ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"].contains(u) {
                out.append(make(cur)); cur = []
                if u == "\r" && i + 1 < a.count && a[i + 1] == "\n" { i += 1 }
            } else {
                cur.append(u)
            }
            i += 1
        }
        if !cur.isEmpty { out.append(make(cur)) }
        return out
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return String(first).uppercased() + s.dropFirst().lowercased()
    }

    /// `str.title`: a letter after a non-letter is upper-cased, other letters lower-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for ch in s {
            if ch.isLetter {
                out += previousCased ? ch.lowercased() : ch.uppercased()
                previousCased = true
            } else {
                out.append(ch)
                previousCased = false
            }
        }
        return out
    }
}
