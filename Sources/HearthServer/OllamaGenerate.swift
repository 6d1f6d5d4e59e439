import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import Hummingbird

extension HearthServer {
    func generate(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await readBody(request)
            let body = try decodeBody(GenerateBody.self, data)
            let grammar = try body.checkedGrammar(data)
            let prompt = body.prompt ?? ""
            if prompt.isEmpty && (body.context ?? []).isEmpty {
                let obj = try await loadOrUnload(body.model, keepAlive: body.keep_alive, echo: body.model,
                                                 field: "response", empty: "")
                log(request, status: 200, start: start, prompt: 0, generated: 0)
                return jsonResponse(obj)
            }
            let (served, load) = try await holdModel(body.model, keepAlive: body.keep_alive)
            var gen: GenerationRequest
            let answer: GenerateAnswer
            do {
                let context = body.context ?? []
                let raw = body.raw == true || body.template == "{{ .Prompt }}"
                var tokens: [Int32]
                var chat = served.chat
                if raw {
                    tokens = served.loaded.tokenize(prompt, addSpecial: context.isEmpty, parseSpecial: true)
                } else {
                    if let t = body.template {
                        do { chat = try ChatFormatter(loaded: served.loaded, templateOverride: t, origin: "field 'template'") } catch {
                            throw ServerError.badRequest("\(error)")
                        }
                    }
                    var messages: [ChatMessage] = []
                    if let s = body.system ?? served.system, !s.isEmpty { messages.append(ChatMessage(role: "system", content: s)) }
                    if context.isEmpty { messages += served.messages }
                    messages.append(ChatMessage(role: "user", content: prompt))
                    do { tokens = try chat.tokens(messages, extra: body.think?.templateVariables ?? [:]) } catch {
                        throw ServerError.badRequest("\(error)")
                    }
                    if !context.isEmpty, let bos = served.loaded.tokenizer.bosId, tokens.first == bos { tokens.removeFirst() }
                }
                gen = GenerationRequest(prompt: context + tokens)
                try applyOllamaOptions(to: &gen, parameters: served.parameters, options: body.options, grammar: grammar,
                                       truncate: body.truncate, logprobs: body.logprobs, topLogprobs: body.top_logprobs)
                let parser = raw ? nil : ChatOutputParser(formatter: chat, think: body.think?.enabled)
                answer = GenerateAnswer(prompt: gen.prompt, parser: parser)
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

/// `/api/generate`'s pieces: `response` text (and `thinking`, separated by the chat output parser when the prompt
/// went through the template); the closing object carries `context`, the prompt and generated token ids.
final class GenerateAnswer: OllamaAnswer, @unchecked Sendable {
    private var tokens: [Int32]
    private var parser: ChatOutputParser?
    private var response = ""
    private var thinking = ""

    init(prompt: [Int32], parser: ChatOutputParser?) {
        tokens = prompt
        self.parser = parser
    }

    func pieces(_ token: GeneratedToken) -> [[String: Any]] {
        if token.id >= 0 { tokens.append(token.id) }
        guard var p = parser else { return token.text.isEmpty ? [] : [emit(.content(token.text))] }
        let deltas = p.feed(token.text)
        parser = p
        return deltas.compactMap(emitIfText)
    }

    func flush() -> [[String: Any]] {
        guard var p = parser else { return [] }
        let deltas = p.finish()
        parser = p
        return deltas.compactMap(emitIfText)
    }

    private func emitIfText(_ d: ChatDelta) -> [String: Any]? {
        if case .toolCall = d { return nil }  // generate has no tools; a parser never makes calls without them
        return emit(d)
    }

    private func emit(_ d: ChatDelta) -> [String: Any] {
        switch d {
        case .content(let t):
            response += t
            return ["response": t]
        case .thinking(let t):
            thinking += t
            return ["response": "", "thinking": t]
        case .toolCall:
            return ["response": ""]
        }
    }

    func closing(stream: Bool) -> [String: Any] {
        var o: [String: Any] = ["response": stream ? "" : response, "context": tokens.map(Int.init)]
        if !stream && !thinking.isEmpty { o["thinking"] = thinking }
        return o
    }
}
