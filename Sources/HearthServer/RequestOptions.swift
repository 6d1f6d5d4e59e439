import HearthEngine
import HearthStore

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// Ollama's `options` object (ollama/api/types.go `Options`): every runtime option the engine implements, over the
/// Modelfile's PARAMETERs (see `ModelParameters.apply`). Load-time and GPU options (`num_gpu`, `num_thread`,
/// `use_mmap`…), `num_keep` and `penalize_newline` are accepted and ignored, as Ollama ignores what its runner
/// lacks; other unknown fields are ignored too, as Ollama does. A field of the wrong type is a 400 naming it.
struct OllamaOptions: Decodable, Sendable {
    var temperature: Float?
    var top_k: Int?
    var top_p: Float?
    var min_p: Float?
    var typical_p: Float?
    var seed: Int?
    var num_predict: Int?
    var num_ctx: Int?
    var repeat_penalty: Float?
    var repeat_last_n: Int?
    var presence_penalty: Float?
    var frequency_penalty: Float?
    var mirostat: Int?
    var mirostat_tau: Float?
    var mirostat_eta: Float?
    var stop: [String]?
    // Accepted, not used (typed, so a wrong type is still a clear 400).
    var num_keep: Int?
    var penalize_newline: Bool?
    var tfs_z: Float?
    var num_batch: Int?
    var num_gpu: Int?
    var main_gpu: Int?
    var num_thread: Int?
    var numa: Bool?
    var use_mmap: Bool?
    var use_mlock: Bool?
    var low_vram: Bool?
    var f16_kv: Bool?
    var vocab_only: Bool?

    /// Fills `GenerateOptions` and the request's context, checking ranges.
    func apply(to r: inout GenerationRequest) throws {
        var s = r.options.sampling
        if let v = temperature { guard v >= 0, v.isFinite else { throw bad("temperature", "≥ 0", v) }; s.temperature = v }
        if let v = top_k { guard v >= 0 else { throw bad("top_k", "≥ 0", v) }; s.topK = v }
        if let v = top_p { guard v >= 0 && v <= 1 else { throw bad("top_p", "between 0 and 1", v) }; s.topP = v }
        if let v = min_p { guard v >= 0 && v <= 1 else { throw bad("min_p", "between 0 and 1", v) }; s.minP = v }
        if let v = typical_p { guard v > 0 && v <= 1 else { throw bad("typical_p", "in (0, 1]", v) }; s.typicalP = v }
        if let v = seed { s.seed = v < 0 ? nil : UInt64(v) }
        if let v = repeat_penalty { guard v >= 0, v.isFinite else { throw bad("repeat_penalty", "≥ 0", v) }; s.repeatPenalty = v }
        if let v = repeat_last_n { guard v >= -1 else { throw bad("repeat_last_n", "≥ -1", v) }; s.repeatLastN = v }
        if let v = presence_penalty { guard v.isFinite else { throw bad("presence_penalty", "a number", v) }; s.presencePenalty = v }
        if let v = frequency_penalty { guard v.isFinite else { throw bad("frequency_penalty", "a number", v) }; s.frequencyPenalty = v }
        if let v = mirostat { guard (0...2).contains(v) else { throw bad("mirostat", "0, 1 or 2", v) }; s.mirostat = v }
        if let v = mirostat_tau { guard v > 0, v.isFinite else { throw bad("mirostat_tau", "> 0", v) }; s.mirostatTau = v }
        if let v = mirostat_eta { guard v > 0, v.isFinite else { throw bad("mirostat_eta", "> 0", v) }; s.mirostatEta = v }
        r.options.sampling = s
        if let v = num_predict {
            guard v >= -2 else { throw bad("num_predict", "≥ -2 (-1: no limit, -2: until the context is full)", v) }
            r.options.numPredict = v
        }
        if let v = num_ctx { guard v >= 2 else { throw bad("num_ctx", "≥ 2", v) }; r.contextSize = v }
        if let stop { r.stop = stop }
    }
}

extension ModelParameters {
    /// The Modelfile's PARAMETERs as a request's starting options (Ollama: request options override them).
    func apply(to r: inout GenerationRequest) {
        var s = r.options.sampling
        if let v = temperature { s.temperature = v }
        if let v = topK { s.topK = v }
        if let v = topP { s.topP = v }
        if let v = minP { s.minP = v }
        if let v = seed { s.seed = v < 0 ? nil : UInt64(v) }
        if let v = repeatPenalty { s.repeatPenalty = v }
        if let v = repeatLastN { s.repeatLastN = v }
        r.options.sampling = s
        if let v = numPredict { r.options.numPredict = v }
        if let v = numCtx { r.contextSize = v }
        if let v = stop { r.stop = v }
    }
}

func bad<T>(_ field: String, _ expected: String, _ value: T) -> ServerError {
    .badRequest("options.\(field) must be \(expected), got \(value)")
}

/// OpenAI's `stop`: a string or a list of up to 4 strings.
struct StopField: Decodable, Sendable {
    var values: [String]
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let one = try? c.decode(String.self) { values = [one]; return }
        values = try c.decode([String].self)
    }
}
