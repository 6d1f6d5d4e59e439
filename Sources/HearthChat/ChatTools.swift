import HearthGrammar
import HearthTemplates

/// A request's tool list or tool choice that cannot be used; the message names the field (`tools[1].function.name`)
/// and what was expected, for a 400 body as is.
public struct ChatToolsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The request `tools` field (OpenAI's and Ollama's shape: `[{"type": "function", "function": {"name",
/// "description", "parameters": JSON Schema}}]`) checked and turned into template values, key order kept (the
/// template prints them with `tojson`, and the schema's property order is the order a grammar writes them in).
public enum ChatTools {
    /// Checks `tools` (the raw JSON, parsed with `JSONValue.parse` so key order survives) and returns the tool
    /// objects as a template sees them. `field` names the field in errors.
    public static func templateValues(_ tools: JSONValue, field: String = "tools") throws(ChatToolsError) -> [TemplateValue] {
        guard case .array(let items) = tools else { throw ChatToolsError("\(field) must be an array of tool objects") }
        var seen = Set<String>()
        var out: [TemplateValue] = []
        for (i, item) in items.enumerated() {
            let at = "\(field)[\(i)]"
            guard case .object = item else { throw ChatToolsError("\(at) must be an object, got \(kind(item))") }
            if let type = item["type"], type != .string("function") {
                throw ChatToolsError("\(at).type must be \"function\", got \(type.serialized)")
            }
            guard let function = item["function"] else { throw ChatToolsError("\(at).function is missing") }
            guard case .object = function else {
                throw ChatToolsError("\(at).function must be an object, got \(kind(function))")
            }
            guard let nameValue = function["name"] else { throw ChatToolsError("\(at).function.name is missing") }
            guard let name = nameValue.string else {
                throw ChatToolsError("\(at).function.name must be a string, got \(kind(nameValue))")
            }
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(isNameScalar) else {
                throw ChatToolsError("\(at).function.name must be 1 or more letters, digits, '_', '-' or '.', got \(JSONValue.string(name).serialized)")
            }
            guard seen.insert(name).inserted else { throw ChatToolsError("\(at).function.name \"\(name)\" is given twice") }
            if let d = function["description"], d.string == nil, d != .null {
                throw ChatToolsError("\(at).function.description must be a string, got \(kind(d))")
            }
            if let p = function["parameters"], p != .null {
                guard case .object = p else {
                    throw ChatToolsError("\(at).function.parameters must be a JSON Schema object, got \(kind(p))")
                }
            }
            var normalized = item
            if item["type"] == nil, case .object(var members) = item {
                members.insert(JSONMember("type", .string("function")), at: 0)
                normalized = .object(members)
            }
            do { out.append(try TemplateValue(jsonString: normalized.serialized)) } catch {
                throw ChatToolsError("\(at): \(error)")
            }
        }
        return out
    }

    /// The function name of a tool object (`{function: {name}}`, or a bare `{name}`).
    public static func name(of tool: TemplateValue) -> String? {
        guard case .object(let o) = tool else { return nil }
        if case .object(let f)? = o["function"], case .string(let n)? = f["name"] { return n }
        if case .string(let n)? = o["name"] { return n }
        return nil
    }

    /// The JSON Schema of a tool's parameters (`{"type": "object"}` when it gives none).
    static func parameters(of tool: TemplateValue) -> JSONValue {
        let any: JSONValue = .object([JSONMember("type", .string("object"))])
        guard case .object(let o) = tool else { return any }
        let fn: TemplateValue.TemplateObject
        if case .object(let f)? = o["function"] { fn = f } else { fn = o }
        guard let p = fn["parameters"], case .object = p, let text = try? p.jsonText(),
              let value = try? JSONValue.parse(text) else { return any }
        return value
    }

    private static func isNameScalar(_ u: Unicode.Scalar) -> Bool {
        (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9") || u == "_" || u == "-" || u == "."
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// OpenAI's `tool_choice`: whether the model may (`auto`), must not (`none`), must (`required`) call a tool, or
/// must call one named function (`{"type": "function", "function": {"name": …}}`).
public enum ToolChoice: Sendable, Equatable {
    case auto
    case none
    case required
    case function(String)

    /// Parses the request field (absent or null: `auto`).
    public static func parse(_ value: JSONValue?, field: String = "tool_choice") throws(ChatToolsError) -> ToolChoice {
        switch value {
        case nil, .null?: return .auto
        case .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?, .string("any")?: return .required
        case .string(let s)?:
            throw ChatToolsError("\(field) must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}, got \"\(s)\"")
        case .object?:
            let v = value ?? .null
            if let type = v["type"], type != .string("function") {
                throw ChatToolsError("\(field).type must be \"function\", got \(type.serialized)")
            }
            guard let fn = v["function"] else { throw ChatToolsError("\(field).function is missing") }
            guard let name = fn["name"]?.string, !name.isEmpty else {
                throw ChatToolsError("\(field).function.name must be a non-empty string")
            }
            return .function(name)
        case let other?:
            throw ChatToolsError("\(field) must be a string or an object, got \(ChatTools.kind(other))")
        }
    }

    /// Whether the tools are shown to the model at all (`none` renders the conversation without them).
    public var rendersTools: Bool { self != .none }
}

/// A request's `tools` and `tool_choice` together, checked: what the routes render, parse and constrain with.
///
///     let request = try ChatToolRequest(tools: body["tools"], toolChoice: body["tool_choice"])
///     let prompt = try formatter.tokens(messages, tools: request.renderedTools, extra: ChatToolRequest.thinkingVariables(think))
///     var parser = request.parser(formatter: formatter, think: think)
///     options.grammar = try request.grammar(for: parser)
public struct ChatToolRequest: Sendable {
    /// The offered tools as template values (empty when the request has none).
    public let tools: [TemplateValue]
    public let choice: ToolChoice

    /// `tools` / `toolChoice` are the raw request fields (nil when absent), parsed with `JSONValue.parse`.
    public init(tools: JSONValue?, toolChoice: JSONValue?) throws(ChatToolsError) {
        switch tools {
        case nil, .null?: self.tools = []
        case let t?: self.tools = try ChatTools.templateValues(t)
        }
        choice = try ToolChoice.parse(toolChoice)
        if case .function(let name) = choice, !self.tools.contains(where: { ChatTools.name(of: $0) == name }) {
            throw ChatToolsError("tool_choice names the function \"\(name)\", which is not in tools")
        }
        if choice == .required && self.tools.isEmpty {
            throw ChatToolsError("tool_choice \"required\" needs at least one tool in tools")
        }
    }

    /// What the template gets as `tools`: nil when there are none or `tool_choice` is `none`.
    public var renderedTools: [TemplateValue]? { choice.rendersTools && !tools.isEmpty ? tools : nil }

    /// The grammar `tool_choice` imposes (nil for `auto` and `none`).
    public func grammar(for parser: ChatOutputParser) throws -> Grammar? {
        try parser.grammar(for: choice)
    }

    /// Template variables for Ollama's `think`: `enable_thinking` (the name Qwen3's and similar templates read) set
    /// when the request says; nothing when it leaves it to the model.
    public static func thinkingVariables(_ think: Bool?) -> [String: TemplateValue] {
        think.map { ["enable_thinking": .bool($0)] } ?? [:]
    }
}
