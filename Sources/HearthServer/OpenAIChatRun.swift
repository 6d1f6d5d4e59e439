import Foundation
import HearthChat
import HearthEngine
import HearthTokenizers
import Hummingbird
import NIOCore

typealias GenerationStream = AsyncThrowingStream<GenerationEvent, Error>

/// Runs `body` on the events of a request's `n` choices, in arrival order, each with its choice index. Every
/// choice is read by a child task of one task group, so when `body` throws (the client disconnected) or a choice
/// fails, leaving the group cancels every choice's stream, which drops its sequence from the scheduler within
/// one step. Returns once every choice's stream has ended.
func forEachChoiceEvent(_ streams: [GenerationStream], _ body: (Int, GenerationEvent) async throws -> Void) async throws {
    if streams.count == 1, let only = streams.first {
        // One choice (the usual request): read it directly, without the task group and the merging channel (two
        // task switches less per token, on the two cores the forward passes use). Leaving the loop drops the
        // iterator; the caller's stream then ends with the request, which drops the sequence, as for Ollama's
        // routes (OllamaStream.swift).
        for try await e in only { try await body(0, e) }
        try Task.checkCancellation()
        return
    }
    // nil marks the end of a choice's stream.
    let (channel, continuation) = AsyncThrowingStream<(Int, GenerationEvent?), Error>.makeStream()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (i, s) in streams.enumerated() {
            group.addTask {
                do {
                    for try await e in s { continuation.yield((i, e)) }
                    continuation.yield((i, nil))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        }
        var open = streams.count
        for try await (i, e) in channel {
            guard let e else {
                open -= 1
                if open == 0 { break }
                continue
            }
            try await body(i, e)
        }
        group.cancelAll()
    }
    // A cancelled task (the client went away) ends the choices' streams early: no answer to give.
    try Task.checkCancellation()
}

/// Token counts of a finished request: the prompt once, the completions of all choices summed (OpenAI's `usage`).
struct UsageCounts {
    var prompt = 0
    var cached = 0
    var completion = 0

    mutating func add(_ s: GenerationStats, choice: Int) {
        if choice == 0 { prompt = s.promptTokens; cached = s.cachedPromptTokens }
        completion += s.generatedTokens
    }

    var object: [String: Any] {
        ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
         "prompt_tokens_details": ["cached_tokens": cached]]
    }
}

/// A log-probability as JSON can carry it: OpenAI reports -9999.0 for tokens with no probability at all.
func finiteLogprob(_ v: Float?) -> Double {
    guard let v, v.isFinite else { return -9999.0 }
    return Double(v)
}

/// One generated token in the chat logprobs shape (openai/types/chat/chat_completion_token_logprob.py):
/// `{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}`.
func chatLogprob(_ t: GeneratedToken, tokenizer: any Tokenizer) -> [String: Any] {
    ["token": t.piece, "logprob": finiteLogprob(t.logprob), "bytes": tokenizer.piece(t.id).map(Int.init),
     "top_logprobs": t.topLogprobs.map { alt -> [String: Any] in
         ["token": alt.piece, "logprob": finiteLogprob(alt.logprob), "bytes": tokenizer.piece(alt.token).map(Int.init)]
     }]
}

/// What one chat request returns, streamed or whole; the choices differ only in their sequences.
struct ChatRun: @unchecked Sendable {
    let id: String
    let created: Int
    let model: String
    let n: Int
    let logprobs: Bool
    let tokenizer: any Tokenizer
    let parser: ChatOutputParser

    /// Per choice: its output parser and what it produced so far.
    struct Choice {
        var parser: ChatOutputParser
        var content = ""
        var reasoning = ""
        var toolCalls: [ToolCall] = []
        var logprobs: [[String: Any]] = []
        var stats: GenerationStats?

        /// Adds parsed pieces; tool calls without an id get one (`call_…`), as OpenAI always sends one.
        mutating func take(_ deltas: [ChatDelta]) -> [ChatDelta] {
            var out: [ChatDelta] = []
            for d in deltas {
                switch d {
                case .content(let s): content += s; out.append(d)
                case .thinking(let s): reasoning += s; out.append(d)
                case .toolCall(var c):
                    if c.id == nil { c.id = "call_" + randomID() }
                    toolCalls.append(c)
                    out.append(.toolCall(c))
                }
            }
            return out
        }

        var finishReason: String { toolCalls.isEmpty ? (stats?.doneReason ?? "stop") : "tool_calls" }
    }

    func makeChoices() -> [Choice] { Array(repeating: Choice(parser: parser), count: n) }

    func toolCallObject(_ c: ToolCall, index: Int?) -> [String: Any] {
        var o: [String: Any] = ["id": c.id ?? "call_" + randomID(), "type": "function",
                                "function": ["name": c.name, "arguments": c.arguments]]
        if let index { o["index"] = index }
        return o
    }

    /// The whole answer as one `chat.completion` object.
    func collect(_ streams: [GenerationStream], recorder: GenerationRecorder) async throws
        -> (object: [String: Any], usage: UsageCounts) {
        var choices = makeChoices()
        var usage = UsageCounts()
        try await forEachChoiceEvent(streams) { i, e in
            switch e {
            case .token(let t):
                if t.id >= 0 {
                    recorder.token(choice: i)
                    if logprobs { choices[i].logprobs.append(chatLogprob(t, tokenizer: tokenizer)) }
                }
                let deltas = choices[i].parser.feed(t.text)
                _ = choices[i].take(deltas)
            case .done(let s):
                let deltas = choices[i].parser.finish()
                _ = choices[i].take(deltas)
                choices[i].stats = s
                usage.add(s, choice: i)
                recorder.done(s)
            }
        }
        let list: [[String: Any]] = choices.enumerated().map { i, c in
            var message: [String: Any] = ["role": "assistant"]
            message["content"] = c.toolCalls.isEmpty || !c.content.isEmpty ? c.content : NSNull()
            if !c.toolCalls.isEmpty { message["tool_calls"] = c.toolCalls.map { toolCallObject($0, index: nil) } }
            if !c.reasoning.isEmpty { message["reasoning_content"] = c.reasoning }
            return ["index": i, "message": message, "finish_reason": c.finishReason,
                    "logprobs": logprobs ? ["content": c.logprobs, "refusal": NSNull()] as [String: Any] : NSNull()]
        }
        return (["id": id, "object": "chat.completion", "created": created, "model": model, "choices": list,
                 "usage": usage.object, "system_fingerprint": "hearth-\(HearthServer.version)"], usage)
    }

    func chunk(_ choices: [[String: Any]], includeUsage: Bool) -> [String: Any] {
        var c: [String: Any] = ["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                                "choices": choices, "system_fingerprint": "hearth-\(HearthServer.version)"]
        if includeUsage { c["usage"] = NSNull() }
        return c
    }

    /// The answer as `chat.completion.chunk` events: first each choice's `{role: "assistant", content: ""}`, then
    /// one chunk per piece of content, reasoning or tool call (with the logprobs of the tokens it came from),
    /// then each choice's finish chunk, then (with `include_usage`) a chunk with empty `choices` and the usage.
    func stream(_ streams: [GenerationStream], includeUsage: Bool, recorder: GenerationRecorder,
                send: ([String: Any]) async throws -> Void) async throws -> UsageCounts {
        var choices = makeChoices()
        var pending: [[[String: Any]]] = Array(repeating: [], count: n)  // logprobs not yet sent, per choice
        var callsSent = Array(repeating: 0, count: n)  // tool calls streamed so far, per choice (their index)
        var usage = UsageCounts()
        for i in 0..<n {
            try await send(chunk([["index": i, "delta": ["role": "assistant", "content": ""], "logprobs": NSNull(),
                                   "finish_reason": NSNull()]], includeUsage: includeUsage))
        }
        func emit(_ i: Int, _ deltas: [ChatDelta]) async throws {
            for d in deltas {
                var delta: [String: Any] = [:]
                switch d {
                case .content(let s): delta["content"] = s
                case .thinking(let s): delta["reasoning_content"] = s
                case .toolCall(let c):
                    delta["tool_calls"] = [toolCallObject(c, index: callsSent[i])]
                    callsSent[i] += 1
                }
                var choice: [String: Any] = ["index": i, "delta": delta, "finish_reason": NSNull(), "logprobs": NSNull()]
                if logprobs && !pending[i].isEmpty {
                    choice["logprobs"] = ["content": pending[i], "refusal": NSNull()] as [String: Any]
                    pending[i] = []
                }
                try await send(chunk([choice], includeUsage: includeUsage))
            }
        }
        try await forEachChoiceEvent(streams) { i, e in
            switch e {
            case .token(let t):
                if t.id >= 0 {
                    recorder.token(choice: i)
                    if logprobs { pending[i].append(chatLogprob(t, tokenizer: tokenizer)) }
                }
                let deltas = choices[i].parser.feed(t.text)
                try await emit(i, choices[i].take(deltas))
            case .done(let s):
                let deltas = choices[i].parser.finish()
                try await emit(i, choices[i].take(deltas))
                choices[i].stats = s
                usage.add(s, choice: i)
                recorder.done(s)
                var last: [String: Any] = ["index": i, "delta": [String: Any](), "finish_reason": choices[i].finishReason,
                                           "logprobs": NSNull()]
                if logprobs && !pending[i].isEmpty {
                    last["logprobs"] = ["content": pending[i], "refusal": NSNull()] as [String: Any]
                    pending[i] = []
                }
                try await send(chunk([last], includeUsage: includeUsage))
            }
        }
        if includeUsage {
            var c = chunk([], includeUsage: false)
            c["usage"] = usage.object
            try await send(c)
        }
        return usage
    }
}

extension HearthServer {
    /// The request body (up to 64 MiB); an empty body is a 400.
    func requestData(_ request: Request) async throws -> Data {
        let buffer = try await request.body.collect(upTo: 64 << 20)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw ServerError.badRequest("the request body is empty (expected a JSON object)") }
        return data
    }

    /// A Server-Sent Events response (text/event-stream): `produce` sends `data: {json}` events and returns the
    /// token counts for the log line; `data: [DONE]` follows. A scheduler error mid-stream is sent as an
    /// OpenAI error event (the client raises it); a client that disconnects ends the stream (status 499 logged),
    /// which cancels its sequences.
    func sseResponse(_ request: Request, start: Date, eventLoop: (any EventLoop)?,
                     produce: @escaping @Sendable (([String: Any]) async throws -> Void) async throws -> UsageCounts)
        -> Response {
        let logger = self.logger, line = requestLine(request)
        let body = ResponseBody { writer in try await onEventLoop(eventLoop) {
            func send(_ obj: [String: Any]) async throws {
                try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + jsonBytes(obj) + [0x0A, 0x0A]))
            }
            do {
                let usage = try await produce(send)
                try await writer.write(ByteBuffer(bytes: Array("data: [DONE]\n\n".utf8)))
                logLine(logger, line, status: 200, start: start, prompt: usage.prompt, generated: usage.completion)
            } catch let error as SchedulerError {
                let (status, message, type) = classify(error)
                try await send(["error": ["message": message, "type": type, "code": NSNull()]])
                logLine(logger, line, status: Int(status.code), start: start, prompt: 0, generated: 0)
            } catch {
                logLine(logger, line, status: 499, start: start, prompt: 0, generated: 0)
                throw error
            }
            try await writer.finish(nil)
        } }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
