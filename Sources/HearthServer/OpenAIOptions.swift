import Foundation
import HearthEngine
import HearthGrammar
import HearthStore

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// The sampling and output fields `/v1/chat/completions` and `/v1/completions` share (OpenAI's API reference,
/// "Create chat completion" / "Create completion"), plus the extensions llama-server and Ollama accept there:
/// `top_k`, `min_p`, `ignore_eos`, `grammar` (GBNF) and Ollama's `options` object.
protocol OpenAISamplingFields {
    var model: String? { get }
    var temperature: Float? { get }
    var top_p: Float? { get }
    var top_k: Int? { get }
    var min_p: Float? { get }
    var seed: Int? { get }
    var stop: StopField? { get }
    var presence_penalty: Float? { get }
    var frequency_penalty: Float? { get }
    var logit_bias: [String: Float]? { get }
    var n: Int? { get }
    var ignore_eos: Bool? { get }
    var grammar: String? { get }
    var options: OllamaOptions? { get }
}

/// The largest `n` one request may ask for (each choice is one sequence in the scheduler).
let maxChoices = 16

extension OpenAISamplingFields {
    /// Checks `n` (1 when absent).
    func choiceCount() throws -> Int {
        let n = self.n ?? 1
        guard n >= 1 && n <= maxChoices else { throw ServerError.badRequest("n must be between 1 and \(maxChoices), got \(n)") }
        return n
    }

    /// Fills `gen` in order of precedence: the engine's defaults, the Modelfile's PARAMETERs, Ollama-style
    /// `options`, then the request's own OpenAI fields. Ranges follow OpenAI's reference (temperature 0–2,
    /// top_p 0–1, penalties −2–2, logit_bias −100–100) and each violation is a 400 naming the field.
    func applySampling(to gen: inout GenerationRequest, defaults: ModelParameters) throws {
        applyModelParameters(defaults, to: &gen)
        try options?.apply(to: &gen)
        var s = gen.options.sampling
        if let v = temperature {
            guard v >= 0 && v <= 2 else { throw field("temperature", "between 0 and 2", v) }
            s.temperature = v
        }
        if let v = top_p {
            guard v >= 0 && v <= 1 else { throw field("top_p", "between 0 and 1", v) }
            s.topP = v
        }
        if let v = top_k {
            guard v >= 0 else { throw field("top_k", "≥ 0", v) }
            s.topK = v
        }
        if let v = min_p {
            guard v >= 0 && v <= 1 else { throw field("min_p", "between 0 and 1", v) }
            s.minP = v
        }
        if let v = seed { s.seed = UInt64(bitPattern: Int64(v)) }
        if let v = presence_penalty {
            guard v >= -2 && v <= 2 else { throw field("presence_penalty", "between -2 and 2", v) }
            s.presencePenalty = v
        }
        if let v = frequency_penalty {
            guard v >= -2 && v <= 2 else { throw field("frequency_penalty", "between -2 and 2", v) }
            s.frequencyPenalty = v
        }
        if let bias = logit_bias {
            for (key, value) in bias {
                guard let id = Int32(key.trimmingCharacters(in: .whitespaces)), id >= 0 else {
                    throw ServerError.badRequest("logit_bias: key '\(key)' is not a token id (expected a decimal integer string)")
                }
                guard value >= -100 && value <= 100 else {
                    throw ServerError.badRequest("logit_bias['\(key)'] must be between -100 and 100, got \(value)")
                }
                s.logitBias[id] = value
            }
        }
        gen.options.sampling = s
        if let stop = stop?.values {
            guard stop.count <= 4 else { throw ServerError.badRequest("stop holds \(stop.count) strings; at most 4 are allowed") }
            gen.stop = stop.filter { !$0.isEmpty }
        }
        gen.ignoreEOS = ignore_eos ?? false
    }

    /// Checks the token ids of `logit_bias` against the vocabulary (once the model is known).
    func checkLogitBias(vocabSize: Int) throws {
        for key in (logit_bias ?? [:]).keys {
            if let id = Int(key.trimmingCharacters(in: .whitespaces)), id >= vocabSize {
                throw ServerError.badRequest("logit_bias: token id \(id) is outside the vocabulary (0..<\(vocabSize))")
            }
        }
    }

    /// The grammar for `response_format` (OpenAI structured outputs: `text`, `json_object`, `json_schema` with
    /// `json_schema.schema`) or llama.cpp's `grammar` (GBNF text). `body` is the request parsed with key order
    /// kept, since a schema's `properties` order is the order the model writes the keys in. A schema keyword the
    /// compiler cannot enforce, or a bad grammar, is a 400 naming it.
    func outputGrammar(_ body: HearthGrammar.JSONValue) throws -> Grammar? {
        var gbnf: String?
        if let format = body["response_format"], format != .null {
            guard case .object = format else {
                throw ServerError.badRequest("response_format must be an object such as {\"type\": \"json_object\"}")
            }
            guard let type = format["type"]?.string else {
                throw ServerError.badRequest("response_format.type is required: \"text\", \"json_object\" or \"json_schema\"")
            }
            switch type {
            case "text": break
            case "json_object":
                gbnf = try JSONSchemaGrammar.anyJSON
            case "json_schema":
                guard let spec = format["json_schema"], case .object = spec else {
                    throw ServerError.badRequest("response_format.json_schema is required for type json_schema "
                        + "(an object with name and schema)")
                }
                // A missing schema allows any JSON value, as OpenAI's non-strict mode does.
                let schema = spec["schema"] ?? .object([])
                do {
                    gbnf = try JSONSchemaGrammar.gbnf(schema: schema)
                } catch {
                    throw ServerError.badRequest("response_format.json_schema.schema: \(error)")
                }
            default:
                throw ServerError.badRequest("response_format.type '\(type)' is not one of text, json_object, json_schema")
            }
        }
        if let text = grammar, !text.isEmpty {
            guard gbnf == nil else { throw ServerError.badRequest("give either grammar or response_format, not both") }
            gbnf = text
        }
        guard let gbnf else { return nil }
        do {
            return try Grammar(gbnf: gbnf)
        } catch {
            throw ServerError.badRequest("\(grammar != nil ? "grammar" : "response_format"): \(error)")
        }
    }
}

/// A Modelfile's PARAMETERs as the request's starting point.
func applyModelParameters(_ p: ModelParameters, to gen: inout GenerationRequest) {
    var s = gen.options.sampling
    if let v = p.temperature { s.temperature = v }
    if let v = p.topK { s.topK = v }
    if let v = p.topP { s.topP = v }
    if let v = p.minP { s.minP = v }
    if let v = p.seed, v >= 0 { s.seed = UInt64(v) }
    if let v = p.repeatPenalty { s.repeatPenalty = v }
    if let v = p.repeatLastN { s.repeatLastN = v }
    gen.options.sampling = s
    if let v = p.numPredict { gen.options.numPredict = v }
    if let v = p.numCtx { gen.contextSize = v }
    if let v = p.stop { gen.stop = v }
}

func field<T>(_ name: String, _ expected: String, _ value: T) -> ServerError {
    .badRequest("\(name) must be \(expected), got \(value)")
}

/// The body as text, and parsed keeping key order (for schemas and tools). A body that is not JSON is a 400
/// naming the byte offset.
func orderedJSON(_ data: Data) throws -> HearthGrammar.JSONValue {
    do {
        return try HearthGrammar.JSONValue.parse(String(decoding: data, as: UTF8.self))
    } catch {
        throw ServerError.badRequest("invalid request body: not valid JSON (\(error))")
    }
}

/// The seed of choice `index` of `n`: choice i of a seeded request uses seed + i, so the choices differ and the
/// request as a whole is reproducible.
func choiceSeed(_ seed: UInt64?, index: Int) -> UInt64? {
    seed.map { $0 &+ UInt64(index) }
}
