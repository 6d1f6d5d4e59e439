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
extension HearthServer {
    func chatCompletions(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await requestData(request)
            let body = try JSONDecoder().decode(ChatCompletionBody.self, from: data)
            let ordered = try orderedJSON(data)
            let (messages, toolRequest, n, grammar) = try body.checked(ordered)
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
            try body.apply(to: &gen, defaults: served.parameters)
            let parser = toolRequest.parser(formatter: served.chat)
            gen.options.grammar = try outputGrammar(toolRequest, parser: parser, otherwise: grammar)
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
            return sseResponse(request, start: start, eventLoop: context.eventLoop) { send in
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
