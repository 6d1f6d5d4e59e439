import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import Hummingbird

extension HearthServer {
    func chat(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await readBody(request)
            let body = try decodeBody(ChatBody.self, data)
            let (grammar, messages, tools) = try body.checked(data)
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
                try applyOllamaOptions(to: &gen, parameters: served.parameters, options: body.options, grammar: grammar,
                                       truncate: body.truncate, logprobs: body.logprobs, topLogprobs: body.top_logprobs)
                answer = ChatAnswer(ChatOutputParser(formatter: served.chat, tools: tools, think: body.think?.enabled))
            } catch {
                await models.finished(served)
                throw error
            }
            let run = OllamaGeneration(server: self, line: requestLine(request), served: served,
                                       name: body.model ?? served.name, start: start, load: load,
                                       stream: body.stream ?? true, eventLoop: context.eventLoop)
            return try await run.run(gen, answer: answer)
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .ollama)
        }
    }

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
