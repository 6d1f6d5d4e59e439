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
extension HearthServer {
    /// Ollama `POST /api/embed`.
    func embed(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = Date()
        do {
            let body = try await decode(EmbedBody.self, request)
            let (texts, dimensions, limit) = try body.checked()
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
            let (inputs, base64, dimensions) = try body.checked()
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
