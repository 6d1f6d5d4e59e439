import HearthTemplates

/// A piece of a chat answer as the APIs report it: visible content, reasoning ("thinking") text, or a tool call.
public enum ChatDelta: Sendable, Equatable {
    case content(String)
    case thinking(String)
    case toolCall(ToolCall)
}

/// Splits a model's streamed output into content, thinking and tool calls, as the model's chat template marks
/// them. Both server APIs feed every generated text piece through one of these and report what comes out, so
/// streaming and non-streaming answers agree.
///
/// SEAM (issue 7): this version passes everything through as content; tool-call parsing (Hermes/Qwen
/// `<tool_call>`, Llama 3 JSON, Mistral `[TOOL_CALLS]`) and `<think>` separation replace the body of `feed`
/// and `finish` without changing this interface.
public struct ChatOutputParser: Sendable {
    /// The tools the request offered (OpenAI shape); empty when none.
    public let tools: [TemplateValue]
    /// Whether reasoning is separated from content (Ollama `think`); nil = the model's default.
    public let think: Bool?

    public init(formatter: ChatFormatter, tools: [TemplateValue] = [], think: Bool? = nil) {
        self.tools = tools
        self.think = think
    }

    /// Takes the next piece of generated text; returns what can be reported now (text that might still be the
    /// start of a tool call or a tag is held back until it is decided).
    public mutating func feed(_ text: String) -> [ChatDelta] {
        text.isEmpty ? [] : [.content(text)]
    }

    /// The end of generation: whatever was held back.
    public mutating func finish() -> [ChatDelta] { [] }
}
