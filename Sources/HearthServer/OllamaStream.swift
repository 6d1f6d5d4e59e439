import Foundation
import HearthEngine
import Hummingbird
import Logging
import NIOCore

/// What a generation route makes of generated text: `/api/generate` streams `response` pieces, `/api/chat`
/// `message` deltas. It also keeps the whole answer for `stream: false` and the closing object.
protocol OllamaAnswer: AnyObject, Sendable {
    /// The objects to stream for one generated token (fields besides model, created_at and done); [] for none.
    func pieces(_ token: GeneratedToken) -> [[String: Any]]
    /// Whatever was held back, at the end of generation.
    func flush() -> [[String: Any]]
    /// Fields of the closing object: for a stream the empty last piece (and `context`), otherwise the whole answer.
    func closing(stream: Bool) -> [String: Any]
}

/// One generation answered in Ollama's shape: NDJSON (`application/x-ndjson`), one object per piece and a closing
/// object with done_reason, counts and durations in nanoseconds; or, with `stream: false`, one object. The model is
/// held (`ModelProvider.model(_:keepAlive:)`) until the answer is over, then `finished` starts its keep-alive. A
/// client that goes away mid-stream drops the event stream, which cancels the sequence in the scheduler (its KV
/// blocks are freed within one step).
struct OllamaGeneration: Sendable {
    let server: HearthServer
    let line: String
    let served: ServedModel
    /// The name the answer echoes (the request's `model`, as Ollama does).
    let name: String
    let start: Date
    /// Seconds this request waited for the model to load.
    let load: Double
    let stream: Bool
    /// The connection's event loop: the streaming loop runs there (`EventLoopTaskExecutor`).
    let eventLoop: (any EventLoop)?

    func run(_ gen: GenerationRequest, answer: some OllamaAnswer) async throws -> Response {
        let logprobs = LogprobList(enabled: gen.options.logprobs)
        let events: AsyncThrowingStream<GenerationEvent, Error>
        do { events = try served.scheduler.submit(gen) } catch {
            await server.models.finished(served)
            throw error
        }
        if !stream { return try await whole(events, gen, answer: answer, logprobs: logprobs) }
        let (server, served, name, start, load, line) = (self.server, self.served, self.name, self.start, self.load, self.line)
        let body = ResponseBody { [eventLoop] writer in try await onEventLoop(eventLoop) {
            var stats = GenerationStats()
            var status = 200, sent = 0
            do {
                for try await e in events {
                    switch e {
                    case .token(let t):
                        if t.id >= 0 { sent += 1 }
                        for p in logprobs.attach(answer.pieces(t), t) { try await writer.write(ndjsonLine(piece(p, name))) }
                    case .done(let s):
                        stats = s
                        for p in logprobs.attach(answer.flush(), nil) { try await writer.write(ndjsonLine(piece(p, name))) }
                        var obj = finalObject(name, s, start: start, load: load)
                        for (k, v) in answer.closing(stream: true) { obj[k] = v }
                        if !logprobs.pending.isEmpty { obj["logprobs"] = logprobs.pending }
                        try await writer.write(ndjsonLine(obj))
                    }
                }
            } catch let error as SchedulerError {
                status = 500
                try? await writer.write(ndjsonLine(["error": error.description]))
            } catch {
                // The client went away (nginx's 499): dropping `events` cancels the sequence.
                await server.models.finished(served)
                logLine(server.logger, line, status: 499, start: start, prompt: stats.promptTokens, generated: sent)
                throw error
            }
            await server.models.finished(served)
            logLine(server.logger, line, status: status, start: start, prompt: stats.promptTokens,
                    generated: max(stats.generatedTokens, sent))
            try await writer.finish(nil)
        } }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }

    private func whole(_ events: AsyncThrowingStream<GenerationEvent, Error>, _ gen: GenerationRequest,
                       answer: some OllamaAnswer, logprobs: LogprobList) async throws
        -> Response {
        var stats = GenerationStats()
        do {
            for try await e in events {
                switch e {
                case .token(let t):
                    _ = answer.pieces(t)
                    _ = logprobs.attach([], t)
                case .done(let s):
                    stats = s
                    _ = answer.flush()
                }
            }
            // A cancelled task (the client went away) ends the event stream early: no answer to give.
            try Task.checkCancellation()
        } catch {
            await server.models.finished(served)
            throw error
        }
        await server.models.finished(served)
        logLine(server.logger, line, status: 200, start: start, prompt: stats.promptTokens, generated: stats.generatedTokens)
        var obj = finalObject(name, stats, start: start, load: load)
        for (k, v) in answer.closing(stream: false) { obj[k] = v }
        if gen.options.logprobs { obj["logprobs"] = logprobs.all }
        return jsonResponse(obj)
    }
}

/// Ollama's `logprobs` (with `top_logprobs`): one `{token, logprob, bytes, top_logprobs}` per generated token,
/// streamed with the first piece that follows the token (a piece held back by the output parser takes its
/// tokens' entries along), all of them in a `stream: false` answer.
final class LogprobList: @unchecked Sendable {
    let enabled: Bool
    private(set) var pending: [[String: Any]] = []
    private(set) var all: [[String: Any]] = []

    init(enabled: Bool) { self.enabled = enabled }

    /// Records `token`'s entry and puts every entry not yet sent on the first of `pieces`.
    func attach(_ pieces: [[String: Any]], _ token: GeneratedToken?) -> [[String: Any]] {
        guard enabled else { return pieces }
        if let t = token, t.id >= 0, let lp = t.logprob {
            let entry: [String: Any] = [
                "token": t.piece, "logprob": Double(lp), "bytes": Array(t.piece.utf8).map(Int.init),
                "top_logprobs": t.topLogprobs.map { ["token": $0.piece, "logprob": Double($0.logprob),
                                                     "bytes": Array($0.piece.utf8).map(Int.init)] as [String: Any] },
            ]
            pending.append(entry)
            all.append(entry)
        }
        guard var first = pieces.first, !pending.isEmpty else { return pieces }
        first["logprobs"] = pending
        pending = []
        return [first] + pieces.dropFirst()
    }
}

/// One NDJSON line.
func ndjsonLine(_ obj: [String: Any]) -> ByteBuffer { ByteBuffer(bytes: jsonBytes(obj) + [0x0A]) }

/// A streamed piece: the route's fields plus model, created_at and `done: false`.
func piece(_ fields: [String: Any], _ name: String) -> [String: Any] {
    var o = fields
    o["model"] = name
    o["created_at"] = timestamp()
    o["done"] = false
    return o
}

extension HearthServer {
    /// Holds the model a generation route names (loading it if needed) and measures the wait as load_duration.
    func holdModel(_ name: String?, keepAlive: KeepAlive?) async throws -> (ServedModel, Double) {
        let t0 = Date()
        let served = try await models.model(name, keepAlive: keepAlive)
        return (served, Date().timeIntervalSince(t0))
    }

    /// Ollama's answer to a request with nothing to generate: an empty prompt or message list loads the model
    /// (done_reason "load"); with keep_alive 0 it unloads it (done_reason "unload").
    func loadOrUnload(_ name: String?, keepAlive: KeepAlive?, echo: String?, field: String, empty: Any) async throws
        -> [String: Any] {
        var obj: [String: Any] = ["created_at": timestamp(), "done": true, field: empty]
        if keepAlive == .seconds(0) {
            _ = try await models.unload(name)
            obj["done_reason"] = "unload"
            obj["model"] = echo ?? name ?? ""
            return obj
        }
        let (served, _) = try await holdModel(name, keepAlive: keepAlive)
        await models.finished(served)
        obj["done_reason"] = "load"
        obj["model"] = echo ?? served.name
        return obj
    }
}
