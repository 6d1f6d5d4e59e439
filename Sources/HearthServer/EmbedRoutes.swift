import Foundation
import HearthEngine
import Hummingbird

/// The embedding endpoints, all served by `ModelProvider.embedder(name)` (HearthEngine's `Embedder`: a
/// sentence-transformers directory, or a GGUF language model mean-pooling its last hidden states):
/// - Ollama `POST /api/embed` (docs/api.md "Generate Embeddings"; ollama/server/routes.go `EmbedHandler`):
///   `input` a string or a list of strings, `truncate` (default true), `dimensions`, `options.num_ctx`,
///   `keep_alive` accepted → `{model, embeddings, total_duration, load_duration, prompt_eval_count}`.
///   An empty string or list answers `embeddings: []`, as Ollama does.
/// - Ollama's legacy `POST /api/embeddings` (`EmbeddingsHandler`): `{model, prompt}` → `{embedding}`; an empty
///   prompt answers `embedding: []`.
/// - OpenAI `POST /v1/embeddings` (platform.openai.com/docs/api-reference/embeddings/create): `input` a string,
///   a list of strings, a list of token ids or a list of token-id lists (ids of the served model's own
///   vocabulary), `dimensions`, `encoding_format` float|base64 (little-endian float32, as OpenAI and Ollama) →
///   `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`. Empty strings and
///   empty lists are a 400, as OpenAI answers.
/// `dimensions` keeps the first N values and L2-normalizes them again (what Ollama's `normalize(e[:N])` and
/// OpenAI's shortened text-embedding-3 vectors do). Inputs past the model's limit are cut unless `truncate` is
/// false, then the 400 names the input, its token count and the limit.
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

extension HearthServer {
    /// Ollama `POST /api/embed`.
    func embed(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let body = try await decode(EmbedBody.self, request)
            let texts: [String]
            switch body.input {
            case .none: texts = []
            case .string(let s): texts = s.isEmpty ? [] : [s]
            case .strings(let l): texts = l
            case .tokens, .tokenLists:
                throw ServerError.badRequest("field 'input': expected a string or a list of strings (token ids are accepted by /v1/embeddings)")
            }
            let dimensions = try checkedDimensions(body.dimensions, zeroMeansUnset: true)
            let limit = try checkedLimit(body.options?.num_ctx)
            let embedder = try await models.embedder(body.model)
            let loaded = Date()
            var obj: [(String, String)] = [("model", jsonText(body.model ?? ""))]
            var count = 0
            if texts.isEmpty {
                obj.append(("embeddings", "[]"))
            } else {
                let result = try await runEmbed(embedder, texts.map { .text($0) }, truncate: body.truncate ?? true,
                                                dimensions: dimensions, limit: limit)
                let arrays = try floatArrays(result.embeddings)
                obj.append(("embeddings", arrays))
                count = result.totalTokens
            }
            obj += [("total_duration", "\(nanoseconds(since: start))"),
                    ("load_duration", "\(Int((loaded.timeIntervalSince(start) * 1e9).rounded()))"),
                    ("prompt_eval_count", "\(count)")]
            return rawJSONResponse(obj)
        } catch {
            return errorResponse(embedError(error), style: .ollama)
        }
    }

    /// Ollama's legacy `POST /api/embeddings`.
    func legacyEmbeddings(_ request: Request, context: some RequestContext) async throws -> Response {
        do {
            let body = try await decode(LegacyEmbeddingsBody.self, request)
            let limit = try checkedLimit(body.options?.num_ctx)
            let embedder = try await models.embedder(body.model)
            guard let prompt = body.prompt, !prompt.isEmpty else { return rawJSONResponse([("embedding", "[]")]) }
            let result = try await runEmbed(embedder, [.text(prompt)], truncate: true, dimensions: nil, limit: limit)
            let vector = try floatArray(result.embeddings.first ?? [])
            return rawJSONResponse([("embedding", vector)])
        } catch {
            return errorResponse(embedError(error), style: .ollama)
        }
    }

    /// OpenAI `POST /v1/embeddings`.
    func openAIEmbeddings(_ request: Request, context: some RequestContext) async throws -> Response {
        do {
            let body = try await decode(OpenAIEmbeddingsBody.self, request)
            let inputs = try openAIInputs(body.input)
            let base64: Bool
            switch body.encoding_format?.lowercased() {
            case nil, "float": base64 = false
            case "base64": base64 = true
            case let other?:
                throw ServerError.badRequest("field 'encoding_format': expected 'float' or 'base64', got '\(other)'")
            }
            let dimensions = try checkedDimensions(body.dimensions, zeroMeansUnset: false)
            let embedder = try await models.embedder(body.model)
            let result = try await runEmbed(embedder, inputs, truncate: body.truncate ?? true, dimensions: dimensions,
                                            limit: nil)
            var data: [String] = []
            for (i, v) in result.embeddings.enumerated() {
                let embedding = try base64 ? jsonText(base64Float32(v)) : floatArray(v)
                data.append("{\"object\":\"embedding\",\"index\":\(i),\"embedding\":\(embedding)}")
            }
            let tokens = result.totalTokens
            return rawJSONResponse([("object", "\"list\""), ("data", "[" + data.joined(separator: ",") + "]"),
                                    ("model", jsonText(body.model ?? "")),
                                    ("usage", "{\"prompt_tokens\":\(tokens),\"total_tokens\":\(tokens)}")])
        } catch {
            return errorResponse(embedError(error), style: .openAI)
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

    /// Computes embeddings on a dispatch thread: `Embedder.embed` blocks (it waits for its thread pool), and
    /// Swift concurrency's cooperative threads must not.
    func runEmbed(_ embedder: Embedder, _ inputs: [EmbeddingInput], truncate: Bool, dimensions: Int?,
                  limit: Int?) async throws -> EmbeddingResult {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<EmbeddingResult, Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try embedder.embed(inputs: inputs, truncate: truncate, dimensions: dimensions, limit: limit)
                })
            }
        }
    }
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

/// The embedder's option errors (too long with truncate false, dimensions past the model's size, a token id
/// outside the vocabulary) are the client's: 400.
func embedError(_ error: Error) -> Error {
    if case EngineError.invalidOption(let m) = error { return ServerError.badRequest(m) }
    return error
}

/// A JSON array of floats, each written in its shortest round-tripping form; NaN or infinity is an error (as
/// Ollama's "embedding contains NaN or Inf values").
func floatArray(_ v: [Float]) throws -> String {
    var s = "["
    s.reserveCapacity(v.count * 12)
    for (i, x) in v.enumerated() {
        guard x.isFinite else { throw EmbeddingValueError() }
        if i > 0 { s += "," }
        s += x.description
    }
    return s + "]"
}

func floatArrays(_ vs: [[Float]]) throws -> String {
    let arrays = try vs.map(floatArray)
    return "[" + arrays.joined(separator: ",") + "]"
}

struct EmbeddingValueError: Error, CustomStringConvertible {
    var description: String { "the embedding contains NaN or infinite values" }
}

/// OpenAI's `encoding_format: "base64"`: the float32 values, little-endian, base64-encoded.
func base64Float32(_ v: [Float]) -> String {
    var bytes = [UInt8]()
    bytes.reserveCapacity(v.count * 4)
    for x in v {
        let b = x.bitPattern.littleEndian
        withUnsafeBytes(of: b) { bytes.append(contentsOf: $0) }
    }
    return Data(bytes).base64EncodedString()
}

/// One JSON value (string, number, bool) as text.
func jsonText(_ value: Any) -> String {
    guard let d = try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes]) else {
        return "null"
    }
    return String(decoding: d.dropFirst().dropLast(), as: UTF8.self)
}

/// A JSON object from keys and already-encoded values, in order (the embeddings are long: written once).
func rawJSONResponse(_ fields: [(String, String)]) -> Response {
    let text = "{" + fields.map { jsonText($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    return Response(status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
}

func nanoseconds(since start: Date) -> Int { Int((Date().timeIntervalSince(start) * 1e9).rounded()) }
