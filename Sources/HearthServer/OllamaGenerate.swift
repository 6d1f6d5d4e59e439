import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import Hummingbird

/// Ollama's `POST /api/generate` (docs/api.md "Generate a completion"). The prompt goes through the model's chat
/// template as one user turn, after `system` (else the Modelfile's SYSTEM) and, without `context`, the Modelfile's
/// MESSAGEs, as Ollama's GenerateHandler builds it; `raw: true` sends the prompt as it is; `template` replaces the
/// model's template for this request (a Jinja chat template; Ollama's Go-template `{{ .Prompt }}` means raw).
/// `context` (the token ids a previous answer returned) continues a conversation and is returned, extended, in
/// the closing object. An empty prompt only loads the model; with `keep_alive: 0` it unloads it.
struct GenerateBody: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var suffix: String?
    var system: String?
    var template: String?
    var raw: Bool?
    var stream: Bool?
    var format: JSONValue?
    var images: [String]?
    var options: OllamaOptions?
    var keep_alive: KeepAlive?
    var context: [Int32]?
    var think: ThinkField?
    var logprobs: Bool?
    var top_logprobs: Int?
    /// Cut a prompt longer than num_ctx instead of refusing it (400 naming both token counts).
    var truncate: Bool?
}

/// Ollama's `think`: true/false, or a level ("low", "medium", "high") for models that take one.
struct ThinkField: Decodable, Sendable {
    var enabled: Bool
    var level: String?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { enabled = b; return }
        guard let s = try? c.decode(String.self), ["low", "medium", "high"].contains(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected true, false, \"low\", \"medium\" or \"high\"")
        }
        enabled = true
        level = s
    }

    /// Template variables the chat templates of thinking models read (Qwen3's `enable_thinking`, gpt-oss's
    /// `reasoning_effort`).
    var templateVariables: [String: TemplateValue] {
        var v: [String: TemplateValue] = ["enable_thinking": .bool(enabled)]
        if let level { v["reasoning_effort"] = .string(level) }
        return v
    }
}

extension HearthServer {
    func generate(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await readBody(request)
            let body = try decodeBody(GenerateBody.self, data)
            let grammar = try outputGrammar(body.format == nil ? nil : orderedBody(data)["format"])
            if let s = body.suffix, !s.isEmpty {
                throw ServerError.notSupported("suffix (fill-in-the-middle; none of the supported models' templates takes one)")
            }
            if let images = body.images, !images.isEmpty {
                throw ServerError.badRequest("images: the model cannot read images (no vision support)")
            }
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
                served.parameters.apply(to: &gen)
                try body.options?.apply(to: &gen)
                gen.options.grammar = grammar
                gen.truncate = body.truncate ?? false
                try applyLogprobs(&gen, body.logprobs, body.top_logprobs)
                let parser = raw ? nil : ChatOutputParser(formatter: chat, think: body.think?.enabled)
                answer = GenerateAnswer(prompt: gen.prompt, parser: parser)
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
