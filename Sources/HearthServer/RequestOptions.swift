import HearthEngine

/// Ollama's `options` object (ollama/api/types.go `Options`), the fields the engine honours today. Unknown
/// fields are ignored, as Ollama does; a field of the wrong type is a 400 naming it.
struct OllamaOptions: Decodable, Sendable {
    var temperature: Float?
    var top_k: Int?
    var top_p: Float?
    var min_p: Float?
    var seed: Int?
    var num_predict: Int?
    var num_ctx: Int?
    var repeat_penalty: Float?
    var repeat_last_n: Int?
    var stop: [String]?

    /// Fills `GenerateOptions` and the request's context, checking ranges.
    func apply(to r: inout GenerationRequest) throws {
        var s = r.options.sampling
        if let v = temperature { guard v >= 0 else { throw bad("temperature", "≥ 0", v) }; s.temperature = v }
        if let v = top_k { guard v >= 0 else { throw bad("top_k", "≥ 0", v) }; s.topK = v }
        if let v = top_p { guard v >= 0 && v <= 1 else { throw bad("top_p", "between 0 and 1", v) }; s.topP = v }
        if let v = min_p { guard v >= 0 && v <= 1 else { throw bad("min_p", "between 0 and 1", v) }; s.minP = v }
        if let v = seed { s.seed = UInt64(bitPattern: Int64(v)) }
        if let v = repeat_penalty { guard v >= 0 else { throw bad("repeat_penalty", "≥ 0", v) }; s.repeatPenalty = v }
        if let v = repeat_last_n { guard v >= -1 else { throw bad("repeat_last_n", "≥ -1", v) }; s.repeatLastN = v }
        r.options.sampling = s
        if let v = num_predict {
            guard v >= -2 else { throw bad("num_predict", "≥ -1 (-1: no limit)", v) }
            r.options.numPredict = v
        }
        if let v = num_ctx { guard v >= 2 else { throw bad("num_ctx", "≥ 2", v) }; r.contextSize = v }
        if let stop { r.stop = stop }
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
