import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthStore
import HearthTemplates

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// `POST /v1/chat/completions`'s body (OpenAIChat.swift).
struct ChatCompletionBody: Decodable, Sendable, OpenAISamplingFields {
    var model: String?
    var messages: [ChatMessageBody]?
    var stream: Bool?
    var stream_options: StreamOptions?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var temperature: Float?
    var top_p: Float?
    var top_k: Int?
    var min_p: Float?
    var seed: Int?
    var stop: StopField?
    var presence_penalty: Float?
    var frequency_penalty: Float?
    var logit_bias: [String: Float]?
    var logprobs: Bool?
    var top_logprobs: Int?
    var n: Int?
    var user: String?
    var ignore_eos: Bool?
    var grammar: String?
    var options: OllamaOptions?
    /// Template variables some chat templates read (e.g. `enable_thinking`), as vLLM and llama-server accept.
    var chat_template_kwargs: [String: TemplateScalar]?
    // `tools`, `tool_choice` and `response_format` are read from the key-order-preserving parse of the body.
}

/// `stream_options` (OpenAI): `include_usage` adds a last chunk with empty `choices` and the usage.
struct StreamOptions: Decodable, Sendable { var include_usage: Bool? }

/// One message of `messages`: `content` is a string or a list of parts (`{type: "text", text}`); assistant
/// messages may carry `tool_calls`, tool messages a `tool_call_id`.
struct ChatMessageBody: Decodable, Sendable {
    var role: String
    var content: MessageContent?
    var tool_calls: [ToolCallBody]?
    var tool_call_id: String?
    var name: String?
    /// A thinking model's earlier reasoning (DeepSeek/vLLM's field name).
    var reasoning_content: String?
}

enum MessageContent: Decodable, Sendable {
    case text(String)
    case parts([ContentPart])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .text(s); return }
        self = .parts(try c.decode([ContentPart].self))
    }
}

struct ContentPart: Decodable, Sendable {
    var type: String
    var text: String?
}

struct ToolCallBody: Decodable, Sendable {
    var id: String?
    var type: String?
    var function: FunctionBody

    struct FunctionBody: Decodable, Sendable {
        var name: String
        /// JSON text, as OpenAI sends it.
        var arguments: String?
    }
}

/// A scalar template variable (`chat_template_kwargs` values).
enum TemplateScalar: Decodable, Sendable {
    case bool(Bool), int(Int), double(Double), string(String)

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .bool(v) } else if let v = try? c.decode(Int.self) { self = .int(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) } else { self = .string(try c.decode(String.self)) }
    }

    var templateValue: TemplateValue {
        switch self {
        case .bool(let v): return .bool(v)
        case .int(let v): return .int(v)
        case .double(let v): return .double(v)
        case .string(let v): return .string(v)
        }
    }
}

extension ChatMessageBody {
    /// The message as the chat template reads it. `developer` is OpenAI's newer name for `system`.
    func chatMessage(at index: Int) throws -> ChatMessage {
        let where_ = "messages[\(index)]"
        let roles = ["system", "developer", "user", "assistant", "tool"]
        guard roles.contains(role) else {
            throw ServerError.badRequest("\(where_).role '\(role)' is not one of \(roles.joined(separator: ", "))")
        }
        var text = ""
        switch content {
        case .text(let s): text = s
        case .parts(let parts):
            for (j, p) in parts.enumerated() {
                guard p.type == "text" else {
                    throw ServerError.badRequest("\(where_).content[\(j)]: part type '\(p.type)' is not supported (only \"text\")")
                }
                guard let t = p.text else { throw ServerError.badRequest("\(where_).content[\(j)].text is required") }
                text += t
            }
        case nil:
            guard role == "assistant" && !(tool_calls ?? []).isEmpty else {
                throw ServerError.badRequest("\(where_).content is required (a string or a list of text parts)")
            }
        }
        let calls = try (tool_calls ?? []).enumerated().map { j, c -> ToolCall in
            if let t = c.type, t != "function" {
                throw ServerError.badRequest("\(where_).tool_calls[\(j)].type '\(t)' is not supported (only \"function\")")
            }
            return ToolCall(id: c.id, name: c.function.name, arguments: c.function.arguments ?? "{}")
        }
        if role == "tool" && tool_call_id == nil && name == nil {
            throw ServerError.badRequest("\(where_): a tool message needs tool_call_id (the id of the call it answers)")
        }
        return ChatMessage(role: role == "developer" ? "system" : role, content: text, toolCalls: calls,
                           toolCallId: tool_call_id, name: name, thinking: reasoning_content)
    }
}

/// `POST /v1/completions`'s body (OpenAIRoutes.swift).
struct CompletionBody: Decodable, Sendable, OpenAISamplingFields {
    var model: String?
    var prompt: PromptField?
    var max_tokens: Int?
    var temperature: Float?
    var top_p: Float?
    var top_k: Int?
    var min_p: Float?
    var seed: Int?
    var stream: Bool?
    var stop: StopField?
    var presence_penalty: Float?
    var frequency_penalty: Float?
    var logit_bias: [String: Float]?
    var logprobs: Int?
    var n: Int?
    var echo: Bool?
    var suffix: String?
    var best_of: Int?
    var ignore_eos: Bool?
    var grammar: String?
    var stream_options: StreamOptions?
    var options: OllamaOptions?
    var user: String?
}

/// A completions `prompt`: one string, a list of strings (one completion each), or token ids.
enum PromptField: Decodable, Sendable {
    case texts([String])
    case tokens([Int32])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .texts([s]); return }
        if let list = try? c.decode([String].self) { self = .texts(list); return }
        if let ids = try? c.decode([Int32].self) { self = .tokens(ids); return }
        throw DecodingError.typeMismatch(String.self, .init(codingPath: c.codingPath,
            debugDescription: "expected a string, a list of strings or a list of token ids"))
    }
}

/// llama-server's `POST /tokenize` and `POST /detokenize` bodies (ModelsAndTokens.swift).
struct TokenizeBody: Decodable, Sendable {
    var model: String?
    var content: String?
    /// Insert BOS (and other special tokens the model adds). llama-server's default: false.
    var add_special: Bool?
    /// Special-token text becomes its token; false treats it as plain text. Default: true.
    var parse_special: Bool?
    /// Answer `{id, piece}` objects instead of bare ids. Default: false.
    var with_pieces: Bool?
}

struct DetokenizeBody: Decodable, Sendable {
    var model: String?
    var tokens: [Int]?
}

extension ChatCompletionBody {
    /// What `/v1/chat/completions` checks before it needs a model, in this order: `messages`, `tools` +
    /// `tool_choice` (HearthChat's `ChatToolRequest` checks both and gives the template's tools, the output parser
    /// and the grammar a forced call needs), `n`, `response_format`/`grammar`, the token counts. `ordered` is the
    /// body parsed with key order kept.
    func checked(_ ordered: HearthGrammar.JSONValue) throws
        -> (messages: [ChatMessage], tools: ChatToolRequest, n: Int, grammar: Grammar?) {
        guard let raw = messages, !raw.isEmpty else {
            throw ServerError.badRequest("field 'messages' is required (a non-empty list of {role, content})")
        }
        let messages = try raw.enumerated().map { try $1.chatMessage(at: $0) }
        let toolRequest: ChatToolRequest
        do {
            toolRequest = try ChatToolRequest(tools: ordered["tools"], toolChoice: ordered["tool_choice"])
        } catch {
            throw ServerError.badRequest("\(error)")
        }
        let n = try choiceCount()
        let grammar = try outputGrammar(ordered)
        if let v = max_tokens, v < 0 { throw field("max_tokens", "≥ 0", v) }
        if let v = max_completion_tokens, v < 0 { throw field("max_completion_tokens", "≥ 0", v) }
        if let k = top_logprobs {
            guard k >= 0 && k <= 20 else { throw field("top_logprobs", "between 0 and 20", k) }
            guard logprobs == true else { throw ServerError.badRequest("top_logprobs requires logprobs: true") }
        }
        return (messages, toolRequest, n, grammar)
    }

    /// The generation options once the model is known: sampling over the Modelfile's `defaults`, the token limit
    /// (`max_completion_tokens`, else the older `max_tokens`) and log-probabilities.
    func apply(to gen: inout GenerationRequest, defaults: ModelParameters) throws {
        try applySampling(to: &gen, defaults: defaults)
        if let v = max_completion_tokens ?? max_tokens { gen.options.numPredict = v }
        if logprobs == true {
            gen.options.logprobs = true
            gen.options.topLogprobs = top_logprobs ?? 0
        }
    }
}

/// The grammar a chat request generates under: the one a forced tool call needs (`tool_choice` required or a
/// named function), else `otherwise` (`response_format` or `grammar`). A tool schema the compiler cannot enforce
/// is a 400.
func outputGrammar(_ tools: ChatToolRequest, parser: ChatOutputParser, otherwise: Grammar?) throws -> Grammar? {
    do {
        return try tools.grammar(for: parser) ?? otherwise
    } catch {
        throw ServerError.badRequest("tool_choice: \(error)")
    }
}

extension CompletionBody {
    /// What `/v1/completions` checks before it needs a model: `prompt` (required), `n`, the unsupported `suffix`, `best_of` and
    /// echoed logprobs, `max_tokens`, `logprobs`, then `response_format`/`grammar`. `ordered` is the body parsed
    /// with key order kept.
    func checked(_ ordered: HearthGrammar.JSONValue) throws -> (prompt: PromptField, n: Int, grammar: Grammar?) {
        guard let prompt else {
            throw ServerError.badRequest("field 'prompt' is required (a string, a list of strings or token ids)")
        }
        let n = try choiceCount()
        if suffix != nil { throw ServerError.notSupported("suffix (fill-in-the-middle)") }
        if let b = best_of, b != n { throw ServerError.notSupported("best_of other than n") }
        if let v = max_tokens, v < 0 { throw field("max_tokens", "≥ 0", v) }
        if let v = logprobs, v < 0 || v > 20 { throw field("logprobs", "between 0 and 20", v) }
        if echo == true && logprobs != nil {
            throw ServerError.notSupported("echo with logprobs (log-probabilities of prompt tokens)")
        }
        let grammar = try outputGrammar(ordered)
        return (prompt, n, grammar)
    }

    /// Checked once the model is known (an unknown model is answered first): a list of prompts must not be empty,
    /// and prompts × `n` completions stay within `maxChoices`.
    static func checkPromptCount(_ prompt: PromptField, n: Int) throws {
        guard case .texts(let list) = prompt else { return }
        guard !list.isEmpty else { throw ServerError.badRequest("field 'prompt' is an empty list") }
        guard list.count * n <= maxChoices else {
            throw ServerError.badRequest("\(list.count) prompts × n = \(n) asks for \(list.count * n) completions; at most \(maxChoices)")
        }
    }

    /// One prompt's generation options once the model is known: sampling over the Modelfile's `defaults`,
    /// `max_tokens` (16 when neither it nor `options.num_predict` is given, OpenAI's default), `logprobs`, `grammar`.
    func apply(to gen: inout GenerationRequest, defaults: ModelParameters, grammar: Grammar?) throws {
        try applySampling(to: &gen, defaults: defaults)
        if let v = max_tokens {
            gen.options.numPredict = v
        } else if options?.num_predict == nil {
            gen.options.numPredict = 16  // OpenAI's default for completions
        }
        if let v = logprobs {
            gen.options.logprobs = true
            gen.options.topLogprobs = v
        }
        gen.options.grammar = grammar
    }
}
