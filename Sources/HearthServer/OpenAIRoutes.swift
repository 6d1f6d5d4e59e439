import Foundation
import HearthEngine
import HearthTokenizers
import Hummingbird
import Logging

/// OpenAI's `POST /v1/completions` (platform.openai.com/docs/api-reference/completions): the prompt is used as it
/// is (a string, a list of strings, or a list of token ids); `stream: true` sends Server-Sent Events, one
/// `data: {chunk}` per token and `data: [DONE]` at the end. `max_tokens` defaults to 16, as OpenAI's does.
/// `ignore_eos` (vLLM's and llama-server's extension) keeps generating past end-of-generation tokens.
extension HearthServer {
    /// The OpenAI routes other than `/v1/completions`: chat, models, metrics, tokenize/detokenize.
    func addOpenAIRoutes(_ router: Router<ServerContext>) {
        router.post("/v1/chat/completions") { request, context in try await self.chatCompletions(request, context: context) }
        router.get("/v1/models") { _, _ in await self.listModels() }
        router.get("/v1/models/**") { _, context in await self.retrieveModel(context) }
        router.get("/metrics") { _, _ in await self.metricsResponse() }
        router.post("/tokenize") { request, _ in await self.tokenize(request) }
        router.post("/detokenize") { request, _ in await self.detokenize(request) }
    }

    func completions(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let data = try await requestData(request)
            let body = try JSONDecoder().decode(CompletionBody.self, from: data)
            let ordered = try orderedJSON(data)
            let (promptField, n, grammar) = try body.checked(ordered)
            let served = try await models.model(body.model)
            let loaded = served.loaded
            try body.checkLogitBias(vocabSize: loaded.model.info.vocabSize)
            try CompletionBody.checkPromptCount(promptField, n: n)
            let prompts: [[Int32]]
            let promptTexts: [String]
            switch promptField {
            case .texts(let list):
                prompts = list.map { loaded.tokenize($0) }
                promptTexts = list
            case .tokens(let ids):
                prompts = [ids]
                promptTexts = [loaded.tokenizer.decode(ids, special: true)]
            }
            var streams: [GenerationStream] = []
            for p in prompts {
                var gen = GenerationRequest(prompt: p)
                try body.apply(to: &gen, defaults: served.parameters, grammar: grammar)
                streams += try submitChoices(gen, n: n, scheduler: served.scheduler)
            }
            // Choice index = prompt index × n + sample index, as OpenAI orders them.
            let echo = body.echo == true ? (0..<streams.count).map { promptTexts[$0 / n] } : nil
            let run = CompletionRun(id: "cmpl-" + randomID(), created: Int(start.timeIntervalSince1970),
                                    model: body.model ?? served.name, count: streams.count, n: n,
                                    logprobs: body.logprobs != nil, echo: echo)
            let recorder = metrics.generation(route: "/v1/completions", start: start)
            if body.stream != true {
                let result = try await run.collect(streams, recorder: recorder)
                log(request, status: 200, start: start, prompt: result.usage.prompt, generated: result.usage.completion)
                return jsonResponse(result.object)
            }
            let all = streams
            return sseResponse(request, start: start, eventLoop: context.eventLoop) { send in
                try await run.stream(all, includeUsage: body.stream_options?.include_usage ?? false,
                                     recorder: recorder, send: send)
            }
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .openAI)
        }
    }
}

/// One legacy completions request's answer, streamed or whole.
struct CompletionRun: Sendable {
    let id: String
    let created: Int
    let model: String
    let count: Int
    /// Choices per prompt.
    let n: Int
    let logprobs: Bool
    /// Per choice, the prompt text to put before the completion (`echo: true`).
    let echo: [String]?

    func choice(_ index: Int, _ text: String, _ tokens: [GeneratedToken], offset: Int, finish: String?) -> [String: Any] {
        ["text": text, "index": index, "finish_reason": finish ?? NSNull(),
         "logprobs": logprobs ? logprobsObject(tokens, offset: offset) : NSNull()]
    }

    func object(_ choices: [[String: Any]]) -> [String: Any] {
        ["id": id, "object": "text_completion", "created": created, "model": model, "choices": choices]
    }

    func collect(_ streams: [GenerationStream], recorder: GenerationRecorder) async throws
        -> (object: [String: Any], usage: UsageCounts) {
        var texts = echo ?? Array(repeating: "", count: count)
        var tokens = Array(repeating: [GeneratedToken](), count: count)
        var finish = Array(repeating: "stop", count: count)
        var usage = UsageCounts()
        var prompts: [Int: Int] = [:]
        try await forEachChoiceEvent(streams) { i, e in
            switch e {
            case .token(let t):
                texts[i] += t.text
                if t.id >= 0 { tokens[i].append(t); recorder.token(choice: i) }
            case .done(let s):
                finish[i] = s.doneReason
                prompts[i] = s.promptTokens
                usage.completion += s.generatedTokens
                recorder.done(s)
            }
        }
        usage.prompt = promptTotal(prompts)
        let choices = (0..<count).map { choice($0, texts[$0], tokens[$0], offset: 0, finish: finish[$0]) }
        var obj = object(choices)
        obj["usage"] = ["prompt_tokens": usage.prompt, "completion_tokens": usage.completion,
                        "total_tokens": usage.prompt + usage.completion]
        return (obj, usage)
    }

    /// Prompt tokens, each prompt once (choices p·n … p·n + n − 1 share prompt p).
    private func promptTotal(_ prompts: [Int: Int]) -> Int {
        stride(from: 0, to: count, by: n).reduce(0) { $0 + (prompts[$1] ?? 0) }
    }

    func stream(_ streams: [GenerationStream], includeUsage: Bool, recorder: GenerationRecorder,
                send: ([String: Any]) async throws -> Void) async throws -> UsageCounts {
        var usage = UsageCounts()
        var offsets = Array(repeating: 0, count: count)
        var prompts: [Int: Int] = [:]
        if let echo {
            for (i, text) in echo.enumerated() {
                try await send(object([choice(i, text, [], offset: 0, finish: nil)]))
                offsets[i] = text.count
            }
        }
        try await forEachChoiceEvent(streams) { i, e in
            switch e {
            case .token(let t):
                if t.id >= 0 { recorder.token(choice: i) }
                var c = object([choice(i, t.text, t.id >= 0 ? [t] : [], offset: offsets[i], finish: nil)])
                if includeUsage { c["usage"] = NSNull() }
                try await send(c)
                offsets[i] += t.text.count
            case .done(let s):
                prompts[i] = s.promptTokens
                usage.completion += s.generatedTokens
                recorder.done(s)
                var c = object([choice(i, "", [], offset: offsets[i], finish: s.doneReason)])
                if includeUsage { c["usage"] = NSNull() }
                try await send(c)
            }
        }
        usage.prompt = promptTotal(prompts)
        if includeUsage {
            var c = object([])
            c["usage"] = ["prompt_tokens": usage.prompt, "completion_tokens": usage.completion,
                          "total_tokens": usage.prompt + usage.completion]
            try await send(c)
        }
        return usage
    }
}

/// The legacy completions `logprobs` object: tokens, token_logprobs, top_logprobs (piece → logprob), text_offset
/// (each token's character offset in the choice's text, starting at `offset`).
func logprobsObject(_ tokens: [GeneratedToken], offset: Int = 0) -> [String: Any] {
    var offsets: [Int] = []
    var at = offset
    for t in tokens { offsets.append(at); at += t.text.count }
    return ["tokens": tokens.map(\.piece), "token_logprobs": tokens.map { finiteLogprob($0.logprob) },
            "top_logprobs": tokens.map { t in
                Dictionary(t.topLogprobs.map { ($0.piece, finiteLogprob($0.logprob)) }, uniquingKeysWith: { a, _ in a })
            },
            "text_offset": offsets]
}
