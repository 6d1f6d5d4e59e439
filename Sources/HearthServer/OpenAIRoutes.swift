import Foundation
import HearthEngine
import Hummingbird
import Logging

/// OpenAI's `POST /v1/completions` (platform.openai.com/docs/api-reference/completions): the prompt is used as it
/// is; `stream: true` sends Server-Sent Events, one `data: {chunk}` per token and `data: [DONE]` at the end.
/// `ignore_eos` (vLLM's and llama-server's extension) keeps generating past end-of-generation tokens.
struct CompletionBody: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var max_tokens: Int?
    var temperature: Float?
    var top_p: Float?
    var seed: Int?
    var stream: Bool?
    var stop: StopField?
    var logprobs: Int?
    var n: Int?
    var echo: Bool?
    var ignore_eos: Bool?
    var stream_options: StreamOptions?
    var options: OllamaOptions?
    var user: String?

    struct StreamOptions: Decodable, Sendable { var include_usage: Bool? }
}

extension HearthServer {
    func completions(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let body = try await decode(CompletionBody.self, request)
            guard let prompt = body.prompt else { throw ServerError.badRequest("field 'prompt' is required (a string)") }
            if let n = body.n, n != 1 { throw ServerError.notSupported("n other than 1") }
            if body.echo == true { throw ServerError.notSupported("echo") }
            let scheduler = try await models.scheduler(for: body.model)
            var gen = GenerationRequest(prompt: scheduler.loaded.tokenize(prompt))
            try body.options?.apply(to: &gen)
            if let v = body.temperature {
                guard v >= 0 && v <= 2 else { throw ServerError.badRequest("temperature must be between 0 and 2, got \(v)") }
                gen.options.sampling.temperature = v
            }
            if let v = body.top_p {
                guard v >= 0 && v <= 1 else { throw ServerError.badRequest("top_p must be between 0 and 1, got \(v)") }
                gen.options.sampling.topP = v
            }
            if let v = body.seed { gen.options.sampling.seed = UInt64(bitPattern: Int64(v)) }
            if let v = body.max_tokens {
                guard v >= 0 else { throw ServerError.badRequest("max_tokens must be ≥ 0, got \(v)") }
                gen.options.numPredict = v
            } else if body.options?.num_predict == nil {
                gen.options.numPredict = 16  // OpenAI's default for completions
            }
            if let v = body.logprobs {
                guard v >= 0 && v <= 20 else { throw ServerError.badRequest("logprobs must be between 0 and 20, got \(v)") }
                gen.options.logprobs = true
                gen.options.topLogprobs = v
            }
            gen.ignoreEOS = body.ignore_eos ?? false
            if let stop = body.stop?.values {
                guard stop.count <= 4 else { throw ServerError.badRequest("stop holds \(stop.count) strings; at most 4 are allowed") }
                gen.stop = stop
            }
            let stream = try scheduler.submit(gen)
            let id = "cmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24).lowercased()
            let created = Int(Date().timeIntervalSince1970), model = body.model ?? ""
            let wantsLogprobs = body.logprobs != nil
            @Sendable func choice(_ text: String, _ tokens: [GeneratedToken], finish: String?) -> [String: Any] {
                var c: [String: Any] = ["text": text, "index": 0, "finish_reason": finish ?? NSNull()]
                c["logprobs"] = wantsLogprobs ? logprobsObject(tokens) : NSNull()
                return c
            }
            @Sendable func usage(_ s: GenerationStats) -> [String: Any] {
                ["prompt_tokens": s.promptTokens, "completion_tokens": s.generatedTokens,
                 "total_tokens": s.promptTokens + s.generatedTokens]
            }
            if body.stream != true {
                var text = "", tokens: [GeneratedToken] = [], stats = GenerationStats()
                for try await e in stream {
                    switch e {
                    case .token(let t): text += t.text; if t.id >= 0 { tokens.append(t) }
                    case .done(let s): stats = s
                    }
                }
                log(request, status: 200, start: start, prompt: stats.promptTokens, generated: stats.generatedTokens)
                return jsonResponse(["id": id, "object": "text_completion", "created": created, "model": model,
                                     "choices": [choice(text, tokens, finish: stats.doneReason)], "usage": usage(stats)])
            }
            let includeUsage = body.stream_options?.include_usage ?? false
            let logger = self.logger, line = requestLine(request)
            let responseBody = ResponseBody { writer in
                func send(_ obj: Any) async throws {
                    try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + jsonBytes(obj) + [0x0A, 0x0A]))
                }
                var stats = GenerationStats()
                var status = 200, sent = 0
                do {
                    for try await e in stream {
                        switch e {
                        case .token(let t):
                            if t.id >= 0 { sent += 1 }
                            try await send(["id": id, "object": "text_completion", "created": created, "model": model,
                                            "choices": [choice(t.text, t.id >= 0 ? [t] : [], finish: nil)]])
                        case .done(let s):
                            stats = s
                            var last: [String: Any] = ["id": id, "object": "text_completion", "created": created,
                                                       "model": model, "choices": [choice("", [], finish: s.doneReason)]]
                            if includeUsage { last["usage"] = usage(s) }
                            try await send(last)
                        }
                    }
                    try await writer.write(ByteBuffer(bytes: Array("data: [DONE]\n\n".utf8)))
                } catch let error as SchedulerError {
                    status = 500
                    try await send(["error": ["message": error.description, "type": "server_error", "code": NSNull()]])
                } catch {
                    logLine(logger, line, status: 499, start: start, prompt: stats.promptTokens,
                            generated: sent)
                    throw error
                }
                logLine(logger, line, status: status, start: start, prompt: stats.promptTokens,
                        generated: max(stats.generatedTokens, sent))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: responseBody)
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .openAI)
        }
    }
}

/// The legacy completions `logprobs` object: tokens, token_logprobs, top_logprobs (piece → logprob).
func logprobsObject(_ tokens: [GeneratedToken]) -> [String: Any] {
    ["tokens": tokens.map(\.piece), "token_logprobs": tokens.map { $0.logprob.map { Double($0) } ?? 0 },
     "top_logprobs": tokens.map { t in
         Dictionary(t.topLogprobs.map { ($0.piece, Double($0.logprob)) }, uniquingKeysWith: { a, _ in a })
     },
     "text_offset": [Int]()]
}
