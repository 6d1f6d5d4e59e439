import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import Hummingbird

/// OpenAI's `POST /v1/chat/completions` (platform.openai.com/docs/api-reference/chat/create; the shapes are those
/// the official `openai` Python client parses, openai/types/chat/). The conversation goes through the model's
/// chat template (`ChatFormatter`), every generated piece through `ChatOutputParser` (content, reasoning, tool
/// calls), and the answer comes back as one `chat.completion` object or, with `stream: true`, as Server-Sent
/// Events: `chat.completion.chunk` objects ending with `data: [DONE]`.
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

extension HearthServer {
    func chatCompletions(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await requestData(request)
            let body = try JSONDecoder().decode(ChatCompletionBody.self, from: data)
            let ordered = try orderedJSON(data)
            guard let raw = body.messages, !raw.isEmpty else {
                throw ServerError.badRequest("field 'messages' is required (a non-empty list of {role, content})")
            }
            let messages = try raw.enumerated().map { try $1.chatMessage(at: $0) }
            // `tools` + `tool_choice` (auto, none, required, a named function: HearthChat's ChatToolRequest checks
            // both and gives the template's tools, the output parser and the grammar a forced call needs).
            let toolRequest: ChatToolRequest
            do {
                toolRequest = try ChatToolRequest(tools: ordered["tools"], toolChoice: ordered["tool_choice"])
            } catch {
                throw ServerError.badRequest("\(error)")
            }
            let n = try body.choiceCount()
            let grammar = try body.outputGrammar(ordered)
            if let v = body.max_tokens, v < 0 { throw field("max_tokens", "≥ 0", v) }
            if let v = body.max_completion_tokens, v < 0 { throw field("max_completion_tokens", "≥ 0", v) }
            if let k = body.top_logprobs {
                guard k >= 0 && k <= 20 else { throw field("top_logprobs", "between 0 and 20", k) }
                guard body.logprobs == true else { throw ServerError.badRequest("top_logprobs requires logprobs: true") }
            }
            let served = try await models.model(body.model)
            try body.checkLogitBias(vocabSize: served.loaded.model.info.vocabSize)

            // Modelfile SYSTEM unless the request brings its own, then the Modelfile's MESSAGEs, then the request's.
            let leading = messages.prefix { $0.role == "system" }
            var conversation = Array(leading)
            if conversation.isEmpty, let system = served.system { conversation.append(ChatMessage(role: "system", content: system)) }
            conversation += served.messages + messages.dropFirst(leading.count)
            var extra: [String: TemplateValue] = [:]
            for (k, v) in body.chat_template_kwargs ?? [:] { extra[k] = v.templateValue }
            let prompt: [Int32]
            do {
                prompt = try served.chat.tokens(conversation, tools: toolRequest.renderedTools, extra: extra)
            } catch {
                throw ServerError.badRequest("\(error)")
            }

            var gen = GenerationRequest(prompt: prompt)
            try body.applySampling(to: &gen, defaults: served.parameters)
            if let v = body.max_completion_tokens ?? body.max_tokens { gen.options.numPredict = v }
            if body.logprobs == true {
                gen.options.logprobs = true
                gen.options.topLogprobs = body.top_logprobs ?? 0
            }
            let parser = toolRequest.parser(formatter: served.chat)
            do {
                gen.options.grammar = try toolRequest.grammar(for: parser) ?? grammar
            } catch {
                throw ServerError.badRequest("tool_choice: \(error)")
            }
            let streams = try submitChoices(gen, n: n, scheduler: served.scheduler)
            let run = ChatRun(id: "chatcmpl-" + randomID(), created: Int(start.timeIntervalSince1970),
                              model: body.model ?? served.name, n: n, logprobs: body.logprobs == true,
                              tokenizer: served.loaded.tokenizer,
                              parser: parser)
            let recorder = metrics.generation(route: "/v1/chat/completions", start: start)
            if body.stream != true {
                let result = try await run.collect(streams, recorder: recorder)
                log(request, status: 200, start: start, prompt: result.usage.prompt, generated: result.usage.completion)
                return jsonResponse(result.object)
            }
            return sseResponse(request, start: start) { send in
                try await run.stream(streams, includeUsage: body.stream_options?.include_usage ?? false,
                                     recorder: recorder, send: send)
            }
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .openAI)
        }
    }

    /// Submits `n` copies of `gen` together (choice i of a seeded request gets seed + i). If one is refused
    /// (queue full), those already queued are cancelled by dropping their streams.
    func submitChoices(_ gen: GenerationRequest, n: Int, scheduler: Scheduler) throws
        -> [GenerationStream] {
        var streams: [GenerationStream] = []
        for i in 0..<n {
            var g = gen
            g.options.sampling.seed = choiceSeed(gen.options.sampling.seed, index: i)
            streams.append(try scheduler.submit(g))
        }
        return streams
    }
}

/// 24 lowercase hex-like characters for response ids (`chatcmpl-…`, `cmpl-…`, `call_…`).
func randomID() -> String {
    String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased())
}
