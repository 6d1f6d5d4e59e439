/// How a model family writes tool calls, as its chat template shows it (the template renders earlier calls the
/// same way the model was trained to write new ones). Detection follows the markers llama.cpp's common/chat.cpp
/// and Ollama's tools parser key on:
///
/// - `hermes` (Hermes 2 Pro, Qwen2.5, Qwen3): `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`, one
///   block per call;
/// - `llama3` (Llama 3.1–3.3): the whole answer is `{"name": …, "parameters": {…}}`, optionally after the
///   `<|python_tag|>` token;
/// - `mistral` (Mistral/Mixtral v0.3, Mistral Small, Devstral): `[TOOL_CALLS]` then a JSON array of
///   `{"name", "arguments"}` objects, or (newer templates) `name[CALL_ID]id[ARGS]{…}` per call;
/// - `none`: the template shows no tool-call syntax; output is only ever content.
public enum ToolCallFormat: String, Sendable, Equatable, CaseIterable {
    case none
    case hermes
    case llama3
    case mistral

    /// The text that opens a call in the model's output (nil where calls have no opening marker of their own).
    public var startMarker: String? {
        switch self {
        case .hermes: return "<tool_call>"
        case .llama3: return "<|python_tag|>"
        case .mistral: return "[TOOL_CALLS]"
        case .none: return nil
        }
    }

    /// The key the format writes the arguments under.
    public var argumentsKey: String { self == .llama3 ? "parameters" : "arguments" }

    /// Picks the format from the chat template's source text. `hasToken` says whether a marker is one token in the
    /// model's vocabulary; it decides for templates that accept `tools` without spelling out a marker (a Modelfile
    /// template, say). Checked in the order llama.cpp checks them: the most specific marker first.
    public static func detect(template: String?, hasToken: (String) -> Bool = { _ in false }) -> ToolCallFormat {
        guard let src = template else { return .none }
        if src.contains("[TOOL_CALLS]") { return .mistral }
        if src.contains("<tool_call>") {
            // Qwen3-Coder's XML calls (`<tool_call><function=…><parameter=…>`) are another format, not parsed here.
            return src.contains("<function=") ? .none : .hermes
        }
        if src.contains("<|python_tag|>") || (src.contains("\"parameters\"") && src.contains("<|start_header_id|>")) {
            return .llama3
        }
        guard src.contains("tools") else { return .none }
        if hasToken("<tool_call>") { return .hermes }
        if hasToken("[TOOL_CALLS]") { return .mistral }
        if hasToken("<|python_tag|>") { return .llama3 }
        return .none
    }
}

/// The tags a reasoning model wraps its thinking in (Qwen3, DeepSeek-R1, SmolLM3…: `<think>…</think>`).
public struct ThinkingTags: Sendable, Equatable {
    public var open: String
    public var close: String

    public static let think = ThinkingTags(open: "<think>", close: "</think>")

    public init(open: String, close: String) {
        self.open = open
        self.close = close
    }

    /// The tags a template uses, or nil when it marks no thinking.
    public static func detect(template: String?) -> ThinkingTags? {
        guard let src = template, src.contains("<think>"), src.contains("</think>") else { return nil }
        return .think
    }

    /// Whether a rendered prompt already opened the thinking block (templates such as DeepSeek-R1's end the
    /// generation prompt with `<think>\n`), so the model's first words are thinking.
    public func opened(by prompt: String) -> Bool {
        var p = Substring(prompt)
        while let last = p.last, last.isWhitespace { p = p.dropLast() }
        return p.hasSuffix(open)
    }
}
