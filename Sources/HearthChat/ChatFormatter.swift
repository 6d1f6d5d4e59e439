import HearthEngine
import HearthTemplates

/// Turns a conversation into prompt tokens: the model's chat template (an override such as a Modelfile's
/// TEMPLATE, else the GGUF's `tokenizer.chat_template`) rendered as Hugging Face's `apply_chat_template` does,
/// then tokenized with special tokens parsed. Shared by `hearth run`, the interactive chat and both server APIs,
/// so a conversation gives the same tokens everywhere.
public struct ChatFormatter: Sendable {
    /// The template text in use; nil when the model has none (prompts then go to the model raw).
    public let source: String?
    public let template: ChatTemplate?
    /// How the model writes tool calls, from the template (and the vocabulary's marker tokens).
    public let toolCallFormat: ToolCallFormat
    /// The tags the template marks thinking with; nil when it marks none.
    public let thinkingTags: ThinkingTags?
    private let loaded: LoadedModel
    private let bos: String
    private let eos: String

    /// `templateOverride` replaces the GGUF's template; `origin` names where it came from for errors.
    public init(loaded: LoadedModel, templateOverride: String? = nil, origin: String? = nil) throws(ChatFormatterError) {
        self.loaded = loaded
        source = templateOverride ?? loaded.file.metadata("tokenizer.chat_template")?.stringValue
        if let source {
            do { template = try ChatTemplate(source: source) } catch {
                let from = origin ?? (templateOverride != nil ? "the template" : "\(loaded.path): tokenizer.chat_template")
                throw .badTemplate("\(from): \(error)")
            }
        } else {
            template = nil
        }
        toolCallFormat = ToolCallFormat.detect(template: source) {
            loaded.tokenize($0, addSpecial: false, parseSpecial: true).count == 1
        }
        thinkingTags = ThinkingTags.detect(template: source)
        let tok = loaded.tokenizer
        bos = tok.bosId.map { tok.pieceText($0) } ?? ""
        eos = tok.eosId.map { tok.pieceText($0) } ?? ""
    }

    /// The rendered prompt text. `tools` are OpenAI-style tool objects (`{type: "function", function: {…}}`);
    /// `extra` adds template variables (e.g. `enable_thinking`). Without a template: the last message's content.
    public func render(_ messages: [ChatMessage], tools: [TemplateValue]? = nil, addGenerationPrompt: Bool = true,
                       extra: [String: TemplateValue] = [:]) throws(ChatFormatterError) -> String {
        guard let template else { return messages.last?.content ?? "" }
        do {
            return try template.render(messages: messages.map(\.templateValue), tools: tools,
                                       addGenerationPrompt: addGenerationPrompt, bosToken: bos, eosToken: eos,
                                       extra: extra)
        } catch {
            throw .renderFailed("the chat template failed: \(error)")
        }
    }

    /// The prompt tokens for a conversation (normally ending with the user's turn).
    public func tokens(_ messages: [ChatMessage], tools: [TemplateValue]? = nil, addGenerationPrompt: Bool = true,
                       extra: [String: TemplateValue] = [:]) throws(ChatFormatterError) -> [Int32] {
        let text = try render(messages, tools: tools, addGenerationPrompt: addGenerationPrompt, extra: extra)
        guard template != nil else { return loaded.tokenize(text, addSpecial: true, parseSpecial: false) }
        var ids = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        // Templates that write bos_token themselves would otherwise get a second one from the tokenizer.
        if ids.count >= 2, let b = loaded.tokenizer.bosId, ids[0] == b, ids[1] == b { ids.removeFirst() }
        return ids
    }
}

public enum ChatFormatterError: Error, CustomStringConvertible, Sendable {
    case badTemplate(String)
    case renderFailed(String)

    public var description: String {
        switch self {
        case .badTemplate(let m), .renderFailed(let m): return m
        }
    }
}

// The formatter-based conveniences live here, with `ChatFormatter` (which needs HearthEngine's `LoadedModel`), so
// that the rest of HearthChat compiles without the engine (scripts/fuzz server-request builds it that way).
extension ChatOutputParser {
    /// `prompt` is the rendered prompt; when it ends inside an opened thinking block the model's first words are
    /// thinking.
    public init(formatter: ChatFormatter, tools: [TemplateValue] = [], think: Bool? = nil, prompt: String? = nil) {
        let tags = formatter.thinkingTags ?? (think == true ? .think : nil)
        self.init(format: formatter.toolCallFormat, tools: tools, think: think, thinkingTags: tags,
                  startsInThinking: prompt.map { tags?.opened(by: $0) ?? false } ?? false)
    }
}

extension ChatToolRequest {
    /// The output parser for this request (no tool parsing when the tools were not rendered).
    public func parser(formatter: ChatFormatter, think: Bool? = nil, prompt: String? = nil) -> ChatOutputParser {
        ChatOutputParser(formatter: formatter, tools: renderedTools ?? [], think: think, prompt: prompt)
    }
}
