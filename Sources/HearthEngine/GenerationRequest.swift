import Foundation
import HearthGrammar

// What goes into a generation and what comes out of it, apart from the code that runs it (Generator.swift,
// Scheduler.swift need the models and kernels): the server's request validation builds these, and its fuzz
// harness (scripts/fuzz server-request) compiles this file without the rest of the engine.

/// One request to a `Scheduler`: a tokenized prompt and how to continue it.
public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    public var options: GenerateOptions
    /// The sequence's context (Ollama's `num_ctx`): prompt plus generated tokens. nil: the scheduler's default.
    /// Capped at the scheduler's maximum (the model's trained context).
    public var contextSize: Int?
    /// A prompt that does not fit: false → `SchedulerError.promptTooLong`; true → keep BOS (if the prompt starts
    /// with it) and the last half of the context's worth of tokens, as llama.cpp's server truncates.
    public var truncate: Bool = false
    /// Keep generating past end-of-generation tokens (benchmarks' `ignore_eos`).
    public var ignoreEOS: Bool = false
    /// Generation ends where the text first contains one of these (matched across token boundaries); the stop
    /// string itself and anything after it are not streamed, and done_reason is "stop".
    public var stop: [String] = []

    public init(prompt: [Int32], options: GenerateOptions = GenerateOptions()) {
        self.prompt = prompt
        self.options = options
    }
}

/// Options for one generation.
public struct GenerateOptions: Sendable {
    public var sampling = SamplingOptions()
    /// nil or negative: until an end-of-generation token or a full context (Ollama's -1).
    public var numPredict: Int? = nil
    /// How many top alternatives to report per token (0 = none).
    public var topLogprobs: Int = 0
    /// Whether to compute log-probabilities at all (costs one pass over the vocabulary per token).
    public var logprobs: Bool = false
    /// Constrains the output to this grammar (GBNF, or a JSON Schema compiled by `JSONSchemaGrammar`).
    public var grammar: Grammar? = nil

    public init() {}
}

/// Sampling settings, with Ollama's defaults (ollama/api/types.go `DefaultOptions`; mirostat tau/eta and
/// typical_p as llama.cpp's common/common.h).
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK: Int = 40
    public var topP: Float = 0.9
    public var minP: Float = 0.0
    /// Locally typical sampling (Meister et al. 2022); 1 = off.
    public var typicalP: Float = 1.0
    public var repeatPenalty: Float = 1.1
    /// How many recent tokens the penalties look at (0 = none, -1 = all of the history).
    public var repeatLastN: Int = 64
    /// Subtracted once from the logit of every token present in the window (OpenAI `presence_penalty`).
    public var presencePenalty: Float = 0.0
    /// Subtracted per occurrence in the window (OpenAI `frequency_penalty`).
    public var frequencyPenalty: Float = 0.0
    /// Added to a token's logit before anything else (OpenAI `logit_bias`; -inf bans the token).
    public var logitBias: [Int32: Float] = [:]
    /// 0 = off, 1 = Mirostat (Basu et al. 2021), 2 = Mirostat 2.0: replace the top-k…min-p chain.
    public var mirostat: Int = 0
    /// Mirostat target surprise (bits) and learning rate.
    public var mirostatTau: Float = 5.0
    public var mirostatEta: Float = 0.1
    /// nil = a random seed.
    public var seed: UInt64? = nil

    public init() {}
}

/// One generated token, as it streams out.
public struct GeneratedToken: Sendable {
    public var id: Int32
    /// The token's own bytes, as text (may hold a replacement character if it splits a UTF-8 sequence).
    public var piece: String
    /// Text that became complete with this token (never half a UTF-8 character).
    public var text: String
    public var logprob: Float?
    public var topLogprobs: [(token: Int32, piece: String, logprob: Float)]
}

/// Timings in Ollama's terms.
public struct GenerationStats: Sendable {
    public var promptTokens = 0
    public var promptDuration: Double = 0
    public var generatedTokens = 0
    public var generateDuration: Double = 0
    /// Seconds spent in the grammar (token checks, masks, matcher updates), part of `generateDuration`.
    public var grammarDuration: Double = 0
    /// Steps where the drawn token broke the grammar and the vocabulary mask was computed.
    public var grammarMasks = 0
    /// "stop" (end-of-generation token) or "length" (limit or full context).
    public var doneReason = "stop"
    /// Prompt tokens whose KV came from the prefix cache instead of being computed (scheduler only).
    public var cachedPromptTokens = 0
    /// Seconds from submission to admission (scheduler only).
    public var queueDuration: Double = 0
    /// Seconds from submission to the first generated token (scheduler only).
    public var timeToFirstToken: Double = 0

    public init() {}
}

/// What a request's stream yields: each token as it is sampled, then one `done` with the counts and timings.
public enum GenerationEvent: Sendable {
    case token(GeneratedToken)
    case done(GenerationStats)
}

/// Why the scheduler refused or ended a request.
public enum SchedulerError: Error, CustomStringConvertible, Equatable {
    /// The wait queue holds `limit` requests already (HEARTH_MAX_QUEUE); the server answers 503 + Retry-After.
    case queueFull(limit: Int)
    case promptTooLong(tokens: Int, context: Int)
    case invalidRequest(String)
    /// The scheduler was shut down before the request finished.
    case shutDown
    /// The forward pass failed (the message names what).
    case failed(String)

    public var description: String {
        switch self {
        case .queueFull(let l): return "the server is busy: \(l) requests are already waiting (HEARTH_MAX_QUEUE)"
        case .promptTooLong(let t, let c):
            return "the prompt is \(t) tokens but the context (num_ctx) is \(c) tokens; it must be shorter than the "
                + "context to leave room for generated tokens (shorten it, raise num_ctx, or ask for truncation)"
        case .invalidRequest(let m): return m
        case .shutDown: return "the model was unloaded before the request finished"
        case .failed(let m): return "generation failed: \(m)"
        }
    }
}

/// Scheduler settings. `fromEnvironment` reads HEARTH_NUM_PARALLEL and HEARTH_MAX_QUEUE, as Ollama's
/// OLLAMA_NUM_PARALLEL and OLLAMA_MAX_QUEUE.
public struct SchedulerConfiguration: Sendable {
    /// Sequences computed together (each step is one forward pass over all of them).
    public var numParallel: Int = 4
    /// Requests that may wait for a free sequence; more are refused with `SchedulerError.queueFull`.
    public var maxQueue: Int = 512
    /// Default context per sequence (num_ctx); requests may ask for less or more, up to `maxContextSize`.
    public var contextSize: Int = 4096
    /// Largest context a request may ask for (capped again at the model's trained context).
    public var maxContextSize: Int = 4096
    /// Prompt tokens computed per step, over all sequences still reading their prompt: a long prompt holds the
    /// other streams back by at most one chunk.
    public var chunkSize: Int = 256
    /// Share KV blocks of identical prompt prefixes between requests.
    public var prefixCaching: Bool = true

    public init() {}

    /// Defaults overridden by the environment; a value that is not a positive integer is an error naming it.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> SchedulerConfiguration {
        var c = SchedulerConfiguration()
        func positive(_ key: String) throws -> Int? {
            guard let raw = env[key] else { return nil }
            guard let v = Int(raw.trimmingCharacters(in: .whitespaces)), v > 0 else {
                throw SchedulerError.invalidRequest("\(key)=\(raw): expected a positive integer")
            }
            return v
        }
        if let v = try positive("HEARTH_NUM_PARALLEL") { c.numParallel = v }
        if let v = try positive("HEARTH_MAX_QUEUE") { c.maxQueue = v }
        if let v = try positive("HEARTH_CONTEXT_LENGTH") { c.contextSize = v; c.maxContextSize = max(c.maxContextSize, v) }
        return c
    }
}
