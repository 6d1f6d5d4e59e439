import Foundation

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
