import Foundation
import HearthEngine

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// Ollama's `POST /api/embed` body (EmbedRoutes.swift describes the three embedding endpoints).
struct EmbedBody: Decodable, Sendable {
    var model: String?
    var input: EmbedInputField?
    var truncate: Bool?
    var dimensions: Int?
    var keep_alive: JSONValue?
    var options: EmbedOptions?
}

/// `{model, prompt}` of the legacy endpoint.
struct LegacyEmbeddingsBody: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var keep_alive: JSONValue?
    var options: EmbedOptions?
}

/// OpenAI's body; `truncate` is an extension (default true, as Ollama's compatibility layer does).
struct OpenAIEmbeddingsBody: Decodable, Sendable {
    var model: String?
    var input: EmbedInputField?
    var dimensions: Int?
    var encoding_format: String?
    var user: String?
    var truncate: Bool?
}

/// The options an embedding honours: `num_ctx` lowers the token limit (Ollama). Others are accepted and ignored,
/// as Ollama ignores sampling options here.
struct EmbedOptions: Decodable, Sendable {
    var num_ctx: Int?
}

/// An `input` field: a string, a list of strings, a list of token ids, or a list of token-id lists.
enum EmbedInputField: Decodable, Sendable {
    case string(String)
    case strings([String])
    case tokens([Int])
    case tokenLists([[Int]])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let l = try? c.decode([String].self) { self = .strings(l); return }
        if let t = try? c.decode([Int].self) { self = .tokens(t); return }
        if let t = try? c.decode([[Int]].self) { self = .tokenLists(t); return }
        throw DecodingError.dataCorruptedError(
            in: c, debugDescription: "expected a string, a list of strings, a list of token ids or a list of token-id lists")
    }
}

/// OpenAI's `input` as embedder inputs: at most 2048 items, no empty string or list (OpenAI's rules).
func openAIInputs(_ field: EmbedInputField?) throws -> [EmbeddingInput] {
    let inputs: [EmbeddingInput]
    switch field {
    case .none: throw ServerError.badRequest("field 'input' is required (a string, a list of strings or of token ids)")
    case .string(let s): inputs = [.text(s)]
    case .strings(let l): inputs = l.map { .text($0) }
    case .tokens(let t): inputs = [.tokens(try tokenIds(t, "input"))]
    case .tokenLists(let l): inputs = try l.enumerated().map { (i, t) -> EmbeddingInput in .tokens(try tokenIds(t, "input[\(i)]")) }
    }
    guard !inputs.isEmpty else { throw ServerError.badRequest("field 'input' is an empty list; give at least one input") }
    guard inputs.count <= 2048 else {
        throw ServerError.badRequest("field 'input' holds \(inputs.count) items; at most 2048 are allowed")
    }
    for (i, input) in inputs.enumerated() {
        switch input {
        case .text(let s) where s.isEmpty:
            throw ServerError.badRequest(inputs.count == 1 ? "field 'input' must not be an empty string"
                                                           : "field 'input[\(i)]' must not be an empty string")
        case .tokens(let t) where t.isEmpty:
            throw ServerError.badRequest("field 'input[\(i)]' is an empty token list")
        default: break
        }
    }
    return inputs
}

/// Token ids from JSON integers, each within Int32 (the vocabulary check is the embedder's).
func tokenIds(_ values: [Int], _ field: String) throws -> [Int32] {
    try values.enumerated().map { i, v in
        guard let id = Int32(exactly: v) else { throw ServerError.badRequest("field '\(field)[\(i)]': token id \(v) is out of range") }
        return id
    }
}

/// `dimensions` ≥ 1 (Ollama sends 0 for "unset"); the embedder checks the upper bound, naming the model's size.
func checkedDimensions(_ value: Int?, zeroMeansUnset: Bool) throws -> Int? {
    guard let v = value else { return nil }
    if v == 0 && zeroMeansUnset { return nil }
    guard v >= 1 else { throw ServerError.badRequest("field 'dimensions' must be at least 1, got \(v)") }
    return v
}

/// `options.num_ctx` as a token limit (≥ 2: room for the special tokens).
func checkedLimit(_ value: Int?) throws -> Int? {
    guard let v = value else { return nil }
    guard v >= 2 else { throw ServerError.badRequest("options.num_ctx must be ≥ 2, got \(v)") }
    return v
}

extension EmbedBody {
    /// What `/api/embed` checks before it needs a model: `input` as texts (an empty string or none: no texts;
    /// token ids are refused here), `dimensions` (0 means unset, as Ollama sends it) and `options.num_ctx`.
    func checked() throws -> (texts: [String], dimensions: Int?, limit: Int?) {
        let texts: [String]
        switch input {
        case .none: texts = []
        case .string(let s): texts = s.isEmpty ? [] : [s]
        case .strings(let l): texts = l
        case .tokens, .tokenLists:
            throw ServerError.badRequest("field 'input': expected a string or a list of strings (token ids are accepted by /v1/embeddings)")
        }
        let dimensions = try checkedDimensions(self.dimensions, zeroMeansUnset: true)
        let limit = try checkedLimit(options?.num_ctx)
        return (texts, dimensions, limit)
    }
}

extension OpenAIEmbeddingsBody {
    /// What `/v1/embeddings` checks before it needs a model: `input` (`openAIInputs`), `encoding_format` (float
    /// or base64) and `dimensions`.
    func checked() throws -> (inputs: [EmbeddingInput], base64: Bool, dimensions: Int?) {
        let inputs = try openAIInputs(input)
        let base64: Bool
        switch encoding_format?.lowercased() {
        case nil, "float": base64 = false
        case "base64": base64 = true
        case let other?:
            throw ServerError.badRequest("field 'encoding_format': expected 'float' or 'base64', got '\(other)'")
        }
        let dimensions = try checkedDimensions(self.dimensions, zeroMeansUnset: false)
        return (inputs, base64, dimensions)
    }
}
