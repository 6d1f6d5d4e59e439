import Foundation

/// Object, array, string and number rules of `JSONSchemaGrammar` (llama.cpp's `_build_object_rule`, array and
/// string branches of `visit`, `_build_min_max_int`).
extension JSONSchemaGrammar {
    func int(_ schema: JSONValue, _ key: String, path: String) throws -> Int? {
        guard let v = schema[key] else { return nil }
        guard let d = v.double, d >= 0, d <= 1e9, d == d.rounded() else {
            throw GrammarError.invalidSchema(path: "\(path)/\(key)", message: "must be a non-negative integer")
        }
        return Int(d)
    }

    mutating func objectRule(_ schema: JSONValue, name: String, path: String) throws -> String {
        var properties: [JSONMember] = []
        if let p = schema["properties"] {
            guard let members = p.members else { throw GrammarError.invalidSchema(path: path + "/properties", message: "must be an object") }
            properties = members
        }
        var required: Set<String> = []
        if let r = schema["required"] {
            guard case .array(let names) = r, names.allSatisfy({ $0.string != nil }) else {
                throw GrammarError.invalidSchema(path: path + "/required", message: "must be an array of property names")
            }
            required = Set(names.compactMap(\.string))
            for n in names.compactMap(\.string) where !properties.contains(where: { $0.key == n }) && schema["additionalProperties"] == nil {
                throw GrammarError.unsupportedSchema(path: path + "/required", message: "required property '\(n)' is not in 'properties'")
            }
        }
        if properties.isEmpty && schema["additionalProperties"] == nil {
            // {"type": "object"} alone: any object.
            return try addPrimitive("object")
        }
        return try buildObject(properties, required: required, additional: schema["additionalProperties"], name: name, path: path)
    }

    mutating func buildObject(_ properties: [JSONMember], required: Set<String>, additional: JSONValue?,
                              name: String, path: String) throws -> String {
        let sub = name.isEmpty ? "" : name + "-"
        var kv: [String: String] = [:]
        var requiredKeys: [String] = [], optionalKeys: [String] = []
        for p in properties {
            let valueRule = try visit(p.value, name: sub + p.key, path: "\(path)/properties/\(p.key)")
            kv[p.key] = try addRule("\(sub)\(p.key)-kv", "\(JSONSchemaRules.literal(JSONValue.string(p.key).serialized)) space \":\" space \(valueRule)")
            if required.contains(p.key) { requiredKeys.append(p.key) } else { optionalKeys.append(p.key) }
        }
        var additionalKey: String? = nil
        switch additional {
        case nil, .bool(false)?: break
        default:
            let valueRule: String
            if additional == .bool(true) || additional == .object([]) {
                valueRule = try addPrimitive("value")
            } else {
                valueRule = try visit(additional ?? .bool(true), name: sub + "additional", path: path + "/additionalProperties")
            }
            let key = "*"
            kv[key] = try addRule("\(sub)additional-kv", "\(try addPrimitive("string")) \":\" space \(valueRule)")
            optionalKeys.append(key)
            additionalKey = key
        }
        var rule = "\"{\" space "
        rule += requiredKeys.compactMap { kv[$0] }.joined(separator: " \",\" space ")
        if !optionalKeys.isEmpty {
            rule += " ("
            if !requiredKeys.isEmpty { rule += " \",\" space ( " }
            // Any subset of the optional keys, in order: alternative i starts with key i, then an optional rest.
            func chain(_ keys: ArraySlice<String>, firstOptional: Bool) throws -> String {
                guard let k = keys.first, let kvRule = kv[k] else { return "" }
                var res: String
                if k == additionalKey {
                    res = firstOptional ? "( \",\" space \(kvRule) )*" : "\(kvRule) ( \",\" space \(kvRule) )*"
                } else {
                    res = firstOptional ? "( \",\" space \(kvRule) )?" : kvRule
                }
                if keys.count > 1 {
                    let restName = "\(sub)\(k == additionalKey ? "additional" : k)-rest"
                    res += " " + (try addRule(restName, try chain(keys.dropFirst(), firstOptional: true)))
                }
                return res
            }
            var alts: [String] = []
            for i in optionalKeys.indices { alts.append(try chain(optionalKeys[i...], firstOptional: false)) }
            rule += alts.joined(separator: " | ")
            if !requiredKeys.isEmpty { rule += " )" }
            rule += " )?"
        }
        rule += " space \"}\""
        return rule
    }

    mutating func allOf(_ value: JSONValue, name: String, path: String) throws -> String {
        guard case .array(let parts) = value, !parts.isEmpty else {
            throw GrammarError.invalidSchema(path: path + "/allOf", message: "must be a non-empty array of schemas")
        }
        var properties: [JSONMember] = []
        var required: Set<String> = []
        func add(_ part: JSONValue, _ partPath: String, isRequired: Bool) throws {
            var s = part
            var hops = 0
            while let ref = s["$ref"]?.string {
                hops += 1
                guard hops < 32, ref.hasPrefix("#") else {
                    throw GrammarError.unsupportedSchema(path: partPath, message: "allOf reference '\(ref)' cannot be resolved")
                }
                s = try lookup(ref, path: partPath)
            }
            if case .array(let alts)? = s["anyOf"] ?? s["oneOf"] {
                for (i, a) in alts.enumerated() { try add(a, "\(partPath)/anyOf/\(i)", isRequired: false) }
                return
            }
            guard let props = s["properties"]?.members else {
                throw GrammarError.unsupportedSchema(path: partPath, message: "allOf is supported for object schemas with 'properties' only")
            }
            for p in props where !properties.contains(where: { $0.key == p.key }) { properties.append(p) }
            if isRequired, case .array(let names)? = s["required"] { required.formUnion(names.compactMap(\.string)) }
        }
        for (i, part) in parts.enumerated() { try add(part, "\(path)/allOf/\(i)", isRequired: true) }
        return try buildObject(properties, required: required, additional: nil, name: name, path: path)
    }

    /// The schema a local JSON pointer reference (`#/$defs/item`, RFC 6901) points to.
    func lookup(_ ref: String, path: String) throws -> JSONValue {
        var target = rootSchema
        for raw in ref.dropFirst().split(separator: "/") {
            var key = ""
            var it = raw.makeIterator()
            while let c = it.next() {
                if c == "~" { let n = it.next(); key.append(n == "1" ? "/" : n == "0" ? "~" : "~") } else { key.append(c) }
            }
            var next: JSONValue? = nil
            switch target {
            case .object: next = target[key]
            case .array(let a): next = Int(key).flatMap { $0 >= 0 && $0 < a.count ? a[$0] : nil }
            default: break
            }
            guard let next else { throw GrammarError.invalidSchema(path: path, message: "reference '\(ref)' points to nothing") }
            target = next
        }
        return target
    }

    mutating func arrayRule(_ schema: JSONValue, name: String, path: String) throws -> String {
        let sub = name.isEmpty ? "" : name + "-"
        if let prefix = schema["prefixItems"] {
            guard case .array(let items) = prefix else { throw GrammarError.invalidSchema(path: path + "/prefixItems", message: "must be an array") }
            if let extra = schema["items"], extra != .bool(false) {
                throw GrammarError.unsupportedSchema(path: path + "/items", message: "items after prefixItems are not supported (use items: false)")
            }
            var refs: [String] = []
            for (i, item) in items.enumerated() { refs.append(try visit(item, name: "\(sub)tuple-\(i)", path: "\(path)/prefixItems/\(i)")) }
            return "\"[\" space " + refs.joined(separator: " \",\" space ") + " space \"]\""
        }
        let itemRule: String
        switch schema["items"] {
        case nil, .bool(true)?: itemRule = try addPrimitive("value")
        case .array?: throw GrammarError.unsupportedSchema(path: path + "/items", message: "an array of item schemas (draft 4 tuples); use prefixItems")
        case let items?: itemRule = try visit(items, name: sub + "item", path: path + "/items")
        }
        let minItems = try int(schema, "minItems", path: path) ?? 0
        let maxItems = try int(schema, "maxItems", path: path)
        if let maxItems, maxItems < minItems {
            throw GrammarError.invalidSchema(path: path + "/maxItems", message: "maxItems \(maxItems) is below minItems \(minItems)")
        }
        guard minItems <= GBNFParser.maxRepetition else {
            throw GrammarError.tooComplex("minItems \(minItems) at \(path) exceeds \(GBNFParser.maxRepetition)")
        }
        let body = JSONSchemaRules.repetition(itemRule, min: minItems, max: maxItems, separator: "\",\" space")
        return "\"[\" space " + (body.isEmpty ? "" : body + " ") + "space \"]\""
    }

    mutating func stringRule(_ schema: JSONValue, name: String, path: String) throws -> String {
        if let p = schema["pattern"] {
            guard let pattern = p.string else { throw GrammarError.invalidSchema(path: path + "/pattern", message: "must be a string") }
            if schema["minLength"] != nil || schema["maxLength"] != nil || schema["format"] != nil {
                throw GrammarError.unsupportedSchema(path: path, message: "pattern together with minLength/maxLength/format")
            }
            var translator = RegexGrammar(pattern: pattern, path: path + "/pattern")
            let body = try translator.translate()
            _ = try addPrimitive("char")
            return "\"\\\"\" (" + body + ") \"\\\"\""
        }
        if let f = schema["format"] {
            guard let format = f.string else { throw GrammarError.invalidSchema(path: path + "/format", message: "must be a string") }
            guard let rule = JSONSchemaRules.formats[format] else {
                throw GrammarError.unsupportedSchema(path: path + "/format", message: "format '\(format)' (supported: date, time, date-time, uuid)")
            }
            if schema["minLength"] != nil || schema["maxLength"] != nil {
                throw GrammarError.unsupportedSchema(path: path, message: "format together with minLength/maxLength")
            }
            return try addPrimitive(rule)
        }
        let minLength = try int(schema, "minLength", path: path) ?? 0
        let maxLength = try int(schema, "maxLength", path: path)
        if minLength == 0 && maxLength == nil { return try addPrimitive("string") }
        if let maxLength, maxLength < minLength {
            throw GrammarError.invalidSchema(path: path + "/maxLength", message: "maxLength \(maxLength) is below minLength \(minLength)")
        }
        guard minLength <= GBNFParser.maxRepetition else {
            throw GrammarError.tooComplex("minLength \(minLength) at \(path) exceeds \(GBNFParser.maxRepetition)")
        }
        let char = try addPrimitive("char")
        return "\"\\\"\" " + JSONSchemaRules.repetition(char, min: minLength, max: maxLength) + " \"\\\"\""
    }

    /// Inclusive integer bounds from minimum/maximum/exclusiveMinimum/exclusiveMaximum (numbers, draft 6+).
    func integerBounds(_ schema: JSONValue, path: String) throws -> (Int64?, Int64?) {
        func bound(_ key: String) throws -> Double? {
            guard let v = schema[key] else { return nil }
            guard let d = v.double, d.isFinite, abs(d) < 1e15 else {
                throw GrammarError.unsupportedSchema(path: "\(path)/\(key)", message: "must be a number below 10^15 in magnitude (draft-4 boolean exclusive bounds are not supported)")
            }
            return d
        }
        var lo: Int64? = nil, hi: Int64? = nil
        if let m = try bound("minimum") { lo = Int64(m.rounded(.up)) }
        if let m = try bound("exclusiveMinimum") { let v = Int64(m.rounded(.down)) + 1; lo = max(lo ?? v, v) }
        if let m = try bound("maximum") { hi = Int64(m.rounded(.down)) }
        if let m = try bound("exclusiveMaximum") { let v = Int64(m.rounded(.up)) - 1; hi = min(hi ?? v, v) }
        if let lo, let hi, lo > hi { throw GrammarError.invalidSchema(path: path, message: "no integer lies between the bounds \(lo) and \(hi)") }
        return (lo, hi)
    }

    /// A number with integer bounds (inclusive or exclusive): integer parts strictly inside the bounds take any
    /// fraction, a bound's own integer part only the fractions that stay inside. No exponent. Non-integer bounds
    /// are an error.
    mutating func boundedNumber(_ schema: JSONValue, path: String) throws -> String {
        func bound(_ key: String) throws -> Int64? {
            guard let v = schema[key] else { return nil }
            guard let d = v.double, d.isFinite, abs(d) < 1e15 else {
                throw GrammarError.unsupportedSchema(path: "\(path)/\(key)", message: "must be a number below 10^15 in magnitude")
            }
            guard d == d.rounded() else {
                throw GrammarError.unsupportedSchema(path: "\(path)/\(key)", message: "a non-integer bound (\(d)) on a number")
            }
            return Int64(d)
        }
        let minI = try bound("minimum"), minE = try bound("exclusiveMinimum")
        let maxI = try bound("maximum"), maxE = try bound("exclusiveMaximum")
        // The tighter of each pair; an exclusive bound wins a tie.
        let lo: Int64? = [minI, minE].compactMap { $0 }.max()
        let loEx = minE != nil && minE == lo
        let hi: Int64? = [maxI, maxE].compactMap { $0 }.min()
        let hiEx = maxE != nil && maxE == hi
        if let lo, let hi, lo > hi || (lo == hi && (loEx || hiEx)) {
            throw GrammarError.invalidSchema(path: path, message: "no number lies between the bounds \(lo) and \(hi)")
        }
        let frac = "(\".\" [0-9]{1,16})", zeroFrac = "(\".\" [0]{1,16})?", nonzeroFrac = "(\".\" [0-9]{0,15} [1-9])"
        func lit(_ v: Int64) -> String { "\"\(v)\"" }
        var alts: [String] = []
        let iLo = lo.map { $0 + 1 }, iHi = hi.map { $0 - 1 }
        if (iLo ?? Int64.min) <= (iHi ?? Int64.max) {
            let r = JSONSchemaRules.integerRange(iLo, iHi)
            if !r.isEmpty { alts.append(r + " " + frac + "?") }
            if (iLo ?? -1) <= 0 && 0 <= (iHi ?? 1) { alts.append("\"-0\" " + frac) }
        }
        if let lo, lo == hi {
            alts.append(lit(lo) + " " + zeroFrac)
        } else {
            if let lo {
                if lo >= 0 { alts.append(lit(lo) + " " + (loEx ? nonzeroFrac : frac + "?")) }
                else if !loEx { alts.append(lit(lo) + " " + zeroFrac) }
            }
            if let hi {
                if hi > 0 {
                    if !hiEx { alts.append(lit(hi) + " " + zeroFrac) }
                } else if hi == 0 {
                    if !hiEx { alts.append("\"0\" " + zeroFrac) }
                    if (lo ?? -1) < 0 { alts.append("\"-0\" " + nonzeroFrac) }
                } else {
                    alts.append(lit(hi) + " " + (hiEx ? nonzeroFrac : frac + "?"))
                }
            }
        }
        return "(" + alts.joined(separator: " | ") + ")"
    }
}
