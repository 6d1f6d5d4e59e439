import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import Hummingbird

/// Ollama's `POST /api/chat` (docs/api.md "Generate a chat completion"): `messages` (role, content, images,
/// tool_calls, tool_name, thinking) after the Modelfile's MESSAGEs, with the Modelfile's SYSTEM first unless the
/// conversation starts with its own system message (Ollama's ChatHandler); `tools` are rendered by the chat
/// template; every generated piece goes through `ChatOutputParser`, whose deltas become `message.content`,
/// `message.thinking` and `message.tool_calls`. An empty message list only loads the model (`keep_alive: 0`:
/// unloads it).
struct ChatBody: Decodable, Sendable {
    var model: String?
    var messages: [ChatBodyMessage]?
    var tools: [JSONValue]?
    var format: JSONValue?
    var options: OllamaOptions?
    var stream: Bool?
    var keep_alive: KeepAlive?
    var think: ThinkField?
    var logprobs: Bool?
    var top_logprobs: Int?
    var truncate: Bool?
}

struct ChatBodyMessage: Decodable, Sendable {
    var role: String
    var content: String?
    var images: [String]?
    var tool_calls: [ToolCallBody]?
    var tool_name: String?
    var tool_call_id: String?
    var thinking: String?

    struct ToolCallBody: Decodable, Sendable {
        var id: String?
        var function: Function
        struct Function: Decodable, Sendable {
            var name: String
            var arguments: JSONValue?
        }
    }
}

extension HearthServer {
    func chat(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await readBody(request)
            let body = try decodeBody(ChatBody.self, data)
            let ordered = (body.format != nil || body.tools != nil || body.messages?.contains { $0.tool_calls != nil } == true)
                ? try orderedBody(data) : nil
            let grammar = try outputGrammar(ordered?["format"])
            let messages = try chatMessages(body.messages ?? [], ordered: ordered?["messages"])
            let tools = try chatTools(ordered?["tools"])
            if messages.isEmpty {
                let obj = try await loadOrUnload(body.model, keepAlive: body.keep_alive, echo: body.model,
                                                 field: "message", empty: ["role": "assistant", "content": ""])
                log(request, status: 200, start: start, prompt: 0, generated: 0)
                return jsonResponse(obj)
            }
            let (served, load) = try await holdModel(body.model, keepAlive: body.keep_alive)
            var gen: GenerationRequest
            let answer: ChatAnswer
            do {
                var all = served.messages + messages
                if messages.first?.role != "system", let s = served.system, !s.isEmpty {
                    all.insert(ChatMessage(role: "system", content: s), at: 0)
                }
                let tokens: [Int32]
                do {
                    tokens = try served.chat.tokens(all, tools: tools.isEmpty ? nil : tools,
                                                    extra: body.think?.templateVariables ?? [:])
                } catch {
                    throw ServerError.badRequest("\(error)")
                }
                gen = GenerationRequest(prompt: tokens)
                served.parameters.apply(to: &gen)
                try body.options?.apply(to: &gen)
                gen.options.grammar = grammar
                gen.truncate = body.truncate ?? false
                try applyLogprobs(&gen, body.logprobs, body.top_logprobs)
                answer = ChatAnswer(ChatOutputParser(formatter: served.chat, tools: tools, think: body.think?.enabled))
            } catch {
                await models.finished(served)
                throw error
            }
            let run = OllamaGeneration(server: self, line: requestLine(request), served: served,
                                       name: body.model ?? served.name, start: start, load: load,
                                       stream: body.stream ?? true)
            return try await run.run(gen, answer: answer)
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .ollama)
        }
    }

    /// The request's messages as `ChatMessage`s. Tool-call arguments are taken from the order-preserving parse of
    /// the body (a template may print them), as JSON text.
    func chatMessages(_ messages: [ChatBodyMessage], ordered: HearthGrammar.JSONValue?) throws -> [ChatMessage] {
        let roles = ["system", "user", "assistant", "tool"]
        return try messages.enumerated().map { i, m in
            guard roles.contains(m.role) else {
                throw ServerError.badRequest("messages[\(i)].role must be one of \(roles.joined(separator: ", ")), got '\(m.role)'")
            }
            if let images = m.images, !images.isEmpty {
                throw ServerError.badRequest("messages[\(i)].images: the model cannot read images (no vision support)")
            }
            var calls: [ToolCall] = []
            for (j, c) in (m.tool_calls ?? []).enumerated() {
                let args = element(element(ordered, i)?["tool_calls"], j)?["function"]?["arguments"]
                let text: String
                switch args {
                case .none, .some(.null): text = "{}"
                case .some(.object(let members)): text = HearthGrammar.JSONValue.object(members).serialized
                case .some(.string(let s)): text = s
                case .some(let other):
                    throw ServerError.badRequest("messages[\(i)].tool_calls[\(j)].function.arguments must be an object, "
                        + "got \(other.serialized)")
                }
                calls.append(ToolCall(id: c.id, name: c.function.name, arguments: text))
            }
            return ChatMessage(role: m.role, content: m.content ?? "", toolCalls: calls, toolCallId: m.tool_call_id,
                               name: m.tool_name, thinking: m.thinking)
        }
    }

    /// `tools` as template values (OpenAI's `{type: "function", function: {name, description, parameters}}`),
    /// key order kept.
    func chatTools(_ tools: HearthGrammar.JSONValue?) throws -> [TemplateValue] {
        guard let tools, tools != .null else { return [] }
        guard case .array(let items) = tools else { throw ServerError.badRequest("field 'tools' must be a list of tool objects") }
        return try items.enumerated().map { i, t in
            guard case .object = t, t["function"]?["name"]?.string != nil else {
                throw ServerError.badRequest("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": …, "
                    + "\"parameters\": {…}}}")
            }
            do { return try TemplateValue(jsonString: t.serialized) } catch {
                throw ServerError.badRequest("tools[\(i)]: \(error)")
            }
        }
    }
}

/// The `i`th element of a JSON array, nil when absent.
func element(_ v: HearthGrammar.JSONValue?, _ i: Int) -> HearthGrammar.JSONValue? {
    guard case .array(let a)? = v, i >= 0, i < a.count else { return nil }
    return a[i]
}

/// `/api/chat`'s pieces: assistant message deltas.
final class ChatAnswer: OllamaAnswer, @unchecked Sendable {
    private var parser: ChatOutputParser
    private var content = ""
    private var thinking = ""
    private var calls: [[String: Any]] = []

    init(_ parser: ChatOutputParser) { self.parser = parser }

    func pieces(_ token: GeneratedToken) -> [[String: Any]] { parser.feed(token.text).map(emit) }
    func flush() -> [[String: Any]] { parser.finish().map(emit) }

    private func emit(_ d: ChatDelta) -> [String: Any] {
        var message: [String: Any] = ["role": "assistant", "content": ""]
        switch d {
        case .content(let t):
            content += t
            message["content"] = t
        case .thinking(let t):
            thinking += t
            message["thinking"] = t
        case .toolCall(let c):
            let call = toolCallObject(c)
            calls.append(call)
            message["tool_calls"] = [call]
        }
        return ["message": message]
    }

    func closing(stream: Bool) -> [String: Any] {
        var message: [String: Any] = ["role": "assistant", "content": stream ? "" : content]
        if !stream {
            if !thinking.isEmpty { message["thinking"] = thinking }
            if !calls.isEmpty { message["tool_calls"] = calls }
        }
        return ["message": message]
    }
}

/// Ollama's tool call: `{"function": {"name", "arguments": {…}}}` (arguments an object, not JSON text).
func toolCallObject(_ c: ToolCall) -> [String: Any] {
    let args: Any = (try? JSONSerialization.jsonObject(with: Data(c.arguments.utf8), options: [.fragmentsAllowed]))
        .flatMap { $0 is [String: Any] ? $0 : nil } ?? [String: Any]()
    var call: [String: Any] = ["function": ["name": c.name, "arguments": args]]
    if let id = c.id { call["id"] = id }
    return call
}
