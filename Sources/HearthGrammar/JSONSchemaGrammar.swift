/// JSON Schema → GBNF, with the semantics of llama.cpp's common/json-schema-to-grammar.cpp:
///
/// - objects write required properties first, then optional ones, all in `properties` order; with no
///   `additionalProperties` (or `false`) no other key is allowed, with `true`/a schema extra keys follow;
/// - arrays: `items`, `prefixItems` (tuples), `minItems`/`maxItems`; strings: `enum`, `const`, `minLength`/
///   `maxLength`, `pattern` (a regular-expression subset), `format` date/time/date-time/uuid; integers with
///   `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum` as exact digit ranges; numbers with integer bounds;
///   `anyOf`/`oneOf` as alternatives, `allOf` of objects merged; `$ref` into `$defs`/`definitions` (recursion
///   allowed); `true`/`{}` is any JSON value.
///
/// Keywords that would change what is valid but are not enforced (`multipleOf`, `uniqueItems`, `not`,
/// `patternProperties`…) are errors naming the keyword and where it is, never silently dropped; annotations
/// (`title`, `description`, `default`, `examples`…) are ignored. No whitespace may follow the top-level value.
public struct JSONSchemaGrammar {
    private var rules: [(name: String, body: String)] = []
    private var ruleIndex: [String: Int] = [:]
    let rootSchema: JSONValue
    private var refsBeingResolved: Set<String> = []
    private var refRules: [String: String] = [:]
    private var depth = 0
    static let maxDepth = 64
    static let maxRules = 20_000

    /// GBNF text for `schema` (JSON text).
    public static func gbnf(schema text: String) throws -> String {
        try gbnf(schema: JSONValue.parse(text))
    }

    public static func gbnf(schema: JSONValue) throws -> String {
        var c = JSONSchemaGrammar(root: schema)
        c.rules.append(("space", JSONSchemaRules.space))
        c.ruleIndex["space"] = 0
        _ = try c.visit(schema, name: "", path: "#")
        return c.rules.sorted { $0.name < $1.name }.map { "\($0.name) ::= \($0.body)" }.joined(separator: "\n") + "\n"
    }

    /// The grammar for any JSON value (Ollama `format: "json"`, OpenAI `json_object`): an object or array at the
    /// top, as llama.cpp's grammars/json.gbnf, any value inside.
    public static var anyJSON: String {
        get throws {
            try gbnf(schema: .object([JSONMember("anyOf", .array([.object([JSONMember("type", .string("object"))]),
                                                                  .object([JSONMember("type", .string("array"))])]))]))
        }
    }

    private init(root: JSONValue) { self.rootSchema = root }

    // MARK: rules

    mutating func addRule(_ name: String, _ body: String) throws -> String {
        var escaped = String(name.unicodeScalars.map { GBNFParser.isWordChar($0) ? Character($0) : "-" })
        if escaped.isEmpty { escaped = "root" }
        var key = escaped
        if let i = ruleIndex[key], rules[i].body != body {
            var n = 0
            repeat { key = "\(escaped)\(n)"; n += 1 } while ruleIndex[key].map { rules[$0].body != body } ?? false
        }
        if let i = ruleIndex[key] {
            rules[i].body = body
        } else {
            guard rules.count < JSONSchemaGrammar.maxRules else {
                throw GrammarError.tooComplex("the schema needs more than \(JSONSchemaGrammar.maxRules) rules")
            }
            ruleIndex[key] = rules.count
            rules.append((key, body))
        }
        return key
    }

    mutating func addPrimitive(_ name: String) throws -> String {
        guard let (body, deps) = JSONSchemaRules.primitives[name] else { throw GrammarError.invalid("internal: no primitive \(name)") }
        guard ruleIndex[name] == nil else { return name }
        _ = try addRule(name, body)
        for d in deps where ruleIndex[d] == nil { _ = try addPrimitive(d) }
        return name
    }

    // MARK: schemas

    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "readOnly", "writeOnly",
        "deprecated", "$defs", "definitions", "strict", "discriminator", "nullable",
    ]
    static let supported: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
        "enum", "const", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref",
    ]

    mutating func visit(_ schema: JSONValue, name: String, path: String) throws -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONSchemaGrammar.maxDepth else { throw GrammarError.tooComplex("schemas nest deeper than \(JSONSchemaGrammar.maxDepth) at \(path)") }
        let ruleName = name.isEmpty ? "root" : (JSONSchemaRules.primitives[name] != nil || name == "space" ? name + "-" : name)
        switch schema {
        case .bool(true): return try addRule(ruleName, try addPrimitive("value"))
        case .bool(false): throw GrammarError.unsupportedSchema(path: path, message: "the schema `false` matches nothing")
        case .object: break
        default: throw GrammarError.invalidSchema(path: path, message: "a schema must be an object or a boolean, not \(schema.serialized)")
        }
        let members = schema.members ?? []
        for m in members where !JSONSchemaGrammar.supported.contains(m.key) && !JSONSchemaGrammar.annotations.contains(m.key) {
            throw GrammarError.unsupportedSchema(path: path, message: "keyword '\(m.key)' is not supported")
        }
        let sub = name.isEmpty ? "" : name + "-"

        if let ref = schema["$ref"] {
            guard let target = ref.string else { throw GrammarError.invalidSchema(path: path + "/$ref", message: "must be a string") }
            return try addRule(ruleName, try resolveRef(target, path: path + "/$ref"))
        }
        for key in ["oneOf", "anyOf"] {
            guard let v = schema[key] else { continue }
            guard case .array(let alts) = v, !alts.isEmpty else {
                throw GrammarError.invalidSchema(path: "\(path)/\(key)", message: "must be a non-empty array of schemas")
            }
            var refs: [String] = []
            for (i, alt) in alts.enumerated() {
                refs.append(try visit(merged(alt, withSiblingsOf: schema, dropping: key), name: "\(name.isEmpty ? "alternative-" : sub)\(i)",
                                      path: "\(path)/\(key)/\(i)"))
            }
            return try addRule(ruleName, refs.joined(separator: " | "))
        }
        if let v = schema["allOf"] {
            return try addRule(ruleName, try allOf(v, name: name, path: path))
        }
        if let c = schema["const"] {
            return try addRule(ruleName, JSONSchemaRules.literal(c.serialized))
        }
        if let e = schema["enum"] {
            guard case .array(let values) = e, !values.isEmpty else {
                throw GrammarError.invalidSchema(path: path + "/enum", message: "must be a non-empty array")
            }
            return try addRule(ruleName, "(" + values.map { JSONSchemaRules.literal($0.serialized) }.joined(separator: " | ") + ")")
        }
        var type: String? = nil
        switch schema["type"] {
        case nil: break
        case .string(let t)?: type = t
        case .array(let ts)?:
            // ["string", "null"]: one alternative per type, each with the rest of the schema.
            var refs: [String] = []
            for (i, t) in ts.enumerated() {
                guard case .string = t else { throw GrammarError.invalidSchema(path: "\(path)/type/\(i)", message: "must be a type name") }
                var copy = members.filter { $0.key != "type" }
                copy.append(JSONMember("type", t))
                refs.append(try visit(.object(copy), name: "\(sub)\(t.string ?? "")", path: path))
            }
            guard !refs.isEmpty else { throw GrammarError.invalidSchema(path: path + "/type", message: "is an empty list") }
            return try addRule(ruleName, refs.joined(separator: " | "))
        default: throw GrammarError.invalidSchema(path: path + "/type", message: "must be a string or an array of strings")
        }
        let hasObjectKeywords = schema["properties"] != nil || schema["additionalProperties"] != nil || schema["required"] != nil
        let hasArrayKeywords = schema["items"] != nil || schema["prefixItems"] != nil || schema["minItems"] != nil || schema["maxItems"] != nil
        let hasStringKeywords = schema["pattern"] != nil || schema["format"] != nil || schema["minLength"] != nil || schema["maxLength"] != nil
        let hasNumberKeywords = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].contains { schema[$0] != nil }
        switch type ?? (hasObjectKeywords ? "object" : hasArrayKeywords ? "array" : hasStringKeywords ? "string" : hasNumberKeywords ? "number" : nil) {
        case "object"?:
            return try addRule(ruleName, try objectRule(schema, name: name, path: path))
        case "array"?:
            return try addRule(ruleName, try arrayRule(schema, name: name, path: path))
        case "string"?:
            return try addRule(ruleName, try stringRule(schema, name: name, path: path))
        case "integer"?:
            guard hasNumberKeywords else { return try addRule(ruleName, try addPrimitive("integer")) }
            let (lo, hi) = try integerBounds(schema, path: path)
            return try addRule(ruleName, JSONSchemaRules.integerRange(lo, hi))
        case "number"?:
            guard hasNumberKeywords else { return try addRule(ruleName, try addPrimitive("number")) }
            return try addRule(ruleName, try boundedNumber(schema, path: path))
        case "boolean"?: return try addRule(ruleName, try addPrimitive("boolean"))
        case "null"?: return try addRule(ruleName, try addPrimitive("null"))
        case nil: return try addRule(ruleName, try addPrimitive("value"))
        case let other?: throw GrammarError.unsupportedSchema(path: path + "/type", message: "unknown type '\(other)'")
        }
    }

    /// An `anyOf` alternative inherits its parent's other keywords (`{"type": "object", "anyOf": [...]}`).
    func merged(_ alt: JSONValue, withSiblingsOf parent: JSONValue, dropping key: String) -> JSONValue {
        guard case .object(var altMembers) = alt, let parentMembers = parent.members else { return alt }
        for m in parentMembers where m.key != key && !JSONSchemaGrammar.annotations.contains(m.key) && alt[m.key] == nil {
            altMembers.append(m)
        }
        return .object(altMembers)
    }

    mutating func resolveRef(_ ref: String, path: String) throws -> String {
        guard ref.hasPrefix("#") else {
            throw GrammarError.unsupportedSchema(path: path, message: "only local references ('#/$defs/…') are supported, not '\(ref)'")
        }
        if let r = refRules[ref], refsBeingResolved.contains(ref) || ruleIndex[r] != nil { return r }
        let target = try lookup(ref, path: path)
        let last = ref.split(separator: "/").last.map(String.init) ?? "ref"
        let base = String(("ref-" + last).unicodeScalars.map { GBNFParser.isWordChar($0) ? Character($0) : "-" })
        var placeholder = base, n = 0
        while ruleIndex[placeholder] != nil || refRules.values.contains(placeholder) { placeholder = "\(base)\(n)"; n += 1 }
        refRules[ref] = placeholder
        refsBeingResolved.insert(ref)
        let rule = try visit(target, name: placeholder, path: ref)
        refsBeingResolved.remove(ref)
        if rule != placeholder { _ = try addRule(placeholder, rule) }
        return placeholder
    }
}
