import Foundation
import HearthEngine
import Hummingbird
import Logging

/// Ollama's `POST /api/generate` (docs/api.md "Generate a completion"): NDJSON stream of
/// `{model, created_at, response, done}` objects, the last with done_reason and the counts and durations in
/// nanoseconds; `stream: false` gives the whole response as one object. Templates are not in this build yet, so
/// the prompt is used as it is only with `raw: true`.
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
    var keep_alive: JSONValue?
    var context: [Int32]?
    /// Cut a prompt longer than num_ctx instead of refusing it (400 naming both token counts).
    var truncate: Bool?
}

/// Any JSON value, for fields that are accepted but not interpreted.
struct JSONValue: Decodable, Sendable {
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { return }
        if (try? c.decode(Bool.self)) != nil || (try? c.decode(Double.self)) != nil || (try? c.decode(String.self)) != nil {
            return
        }
        if (try? c.decode([JSONValue].self)) != nil || (try? c.decode([String: JSONValue].self)) != nil { return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }
}

extension HearthServer {
    func generate(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let body = try await decode(GenerateBody.self, request)
            if body.format != nil { throw ServerError.notSupported("format (structured output)") }
            if body.suffix != nil { throw ServerError.notSupported("suffix (fill-in-the-middle)") }
            if body.images != nil { throw ServerError.notSupported("images") }
            let scheduler = try await models.scheduler(for: body.model)
            let name = body.model ?? ""
            let prompt = body.prompt ?? ""
            if prompt.isEmpty && (body.context ?? []).isEmpty {
                // Ollama: an empty prompt only loads the model.
                log(request, status: 200, start: start, prompt: 0, generated: 0)
                return jsonResponse(["model": name, "created_at": timestamp(), "response": "", "done": true,
                                     "done_reason": "load"])
            }
            guard body.raw == true || body.template != nil && body.template == "{{ .Prompt }}" else {
                throw ServerError.notSupported("prompt templates (send \"raw\": true until chat templates land)")
            }
            var gen = GenerationRequest(prompt: (body.context ?? []) + scheduler.loaded.tokenize(prompt))
            try body.options?.apply(to: &gen)
            gen.truncate = body.truncate ?? false
            let stream = try scheduler.submit(gen)
            let load = scheduler.loaded.loadDuration
            if body.stream == false {
                var text = ""
                var stats = GenerationStats()
                for try await e in stream {
                    switch e {
                    case .token(let t): text += t.text
                    case .done(let s): stats = s
                    }
                }
                log(request, status: 200, start: start, prompt: stats.promptTokens, generated: stats.generatedTokens)
                var obj = finalObject(name, stats, start: start, load: load)
                obj["response"] = text
                return jsonResponse(obj)
            }
            let logger = self.logger
            let line = requestLine(request)
            let responseBody = ResponseBody { writer in
                var stats = GenerationStats()
                var status = 200, sent = 0
                do {
                    for try await e in stream {
                        switch e {
                        case .token(let t):
                            if t.id >= 0 { sent += 1 }
                            guard !t.text.isEmpty else { continue }
                            let obj: [String: Any] = ["model": name, "created_at": timestamp(), "response": t.text,
                                                      "done": false]
                            try await writer.write(ByteBuffer(bytes: jsonBytes(obj) + [0x0A]))
                        case .done(let s):
                            stats = s
                            var obj = finalObject(name, s, start: start, load: load)
                            obj["response"] = ""
                            try await writer.write(ByteBuffer(bytes: jsonBytes(obj) + [0x0A]))
                        }
                    }
                } catch let error as SchedulerError {
                    status = 500
                    try await writer.write(ByteBuffer(bytes: jsonBytes(["error": error.description]) + [0x0A]))
                } catch {
                    status = 499  // the client went away (nginx's code); the stream is cancelled
                    logLine(logger, line, status: status, start: start, prompt: stats.promptTokens,
                            generated: sent)
                    throw error
                }
                logLine(logger, line, status: status, start: start, prompt: stats.promptTokens,
                        generated: max(stats.generatedTokens, sent))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: responseBody)
        } catch {
            log(request, status: Int(classify(error).status.code), start: start, prompt: 0, generated: 0)
            return errorResponse(error, style: .ollama)
        }
    }
}

/// Ollama's closing object: durations in nanoseconds.
func finalObject(_ model: String, _ s: GenerationStats, start: Date, load: Double) -> [String: Any] {
    func ns(_ seconds: Double) -> Int { Int((seconds * 1e9).rounded()) }
    return ["model": model, "created_at": timestamp(), "done": true, "done_reason": s.doneReason,
            "total_duration": ns(Date().timeIntervalSince(start)), "load_duration": ns(load),
            "prompt_eval_count": s.promptTokens, "prompt_eval_duration": ns(s.promptDuration),
            "eval_count": s.generatedTokens, "eval_duration": ns(s.generateDuration)]
}

/// RFC 3339 with fractional seconds, UTC, as Ollama's `created_at`.
func timestamp() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: Date())
}
