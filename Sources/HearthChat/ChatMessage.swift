import HearthTemplates

/// One conversation turn as both APIs and the CLI carry it, and as Hugging Face chat templates read it
/// (`role`, `content`, `tool_calls` with `{type: "function", function: {name, arguments}}`, `tool_call_id`, `name`).
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    /// Calls the assistant made in this turn (round-tripped into the next prompt).
    public var toolCalls: [ToolCall]
    /// For role `tool`: which call this result answers (OpenAI's `tool_call_id`).
    public var toolCallId: String?
    /// For role `tool`: the function's name (Ollama's `tool_name`, OpenAI's legacy `name`).
    public var name: String?
    /// Reasoning text of a thinking model's earlier turn (Ollama's `thinking`), passed to templates as
    /// `reasoning_content`, the name the Qwen3/DeepSeek templates read.
    public var thinking: String?

    public init(role: String, content: String, toolCalls: [ToolCall] = [], toolCallId: String? = nil,
                name: String? = nil, thinking: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
        self.name = name
        self.thinking = thinking
    }

    /// The message as a template sees it. `tool_calls[].function.arguments` is an object when the arguments parse
    /// as a JSON object (templates such as Qwen2.5's `tojson` it), else the text as given.
    public var templateValue: TemplateValue {
        var fields: [(String, TemplateValue)] = [("role", .string(role)), ("content", .string(content))]
        if !toolCalls.isEmpty {
            fields.append(("tool_calls", .array(toolCalls.map(\.templateValue))))
        }
        if let id = toolCallId { fields.append(("tool_call_id", .string(id))) }
        if let n = name { fields.append(("name", .string(n))) }
        if let t = thinking { fields.append(("reasoning_content", .string(t))) }
        return .object(TemplateValue.TemplateObject(fields))
    }
}

/// A function call made by the model: OpenAI's `{id, type: "function", function: {name, arguments}}` where
/// `arguments` is JSON text.
public struct ToolCall: Sendable, Equatable {
    public var id: String?
    public var name: String
    /// The arguments as JSON text (OpenAI sends a string; Ollama an object, serialized here).
    public var arguments: String

    public init(id: String? = nil, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    public var templateValue: TemplateValue {
        let args: TemplateValue = (try? TemplateValue(jsonString: arguments)).flatMap {
            if case .object = $0 { return $0 } else { return nil }
        } ?? .string(arguments)
        var call: [(String, TemplateValue)] = [("type", .string("function")),
                                               ("function", .object(TemplateValue.TemplateObject([
                                                   ("name", .string(name)), ("arguments", args)])))]
        if let id { call.insert(("id", .string(id)), at: 0) }
        return .object(TemplateValue.TemplateObject(call))
    }
}
