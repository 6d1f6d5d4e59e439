import Foundation
import HearthEngine
import HearthGrammar
import Hummingbird
import Logging

/// Ollama's REST API (github.com/ollama/ollama docs/api.md), one file per group: OllamaGenerate.swift
/// (`/api/generate`), OllamaChat.swift (`/api/chat`), OllamaStream.swift (the NDJSON answer both share),
/// OllamaModels.swift (`/api/tags`, `/api/show`, `/api/ps`, `/api/copy`, `/api/delete`), OllamaCreate.swift
/// (`/api/create`, `/api/blobs/:digest`, `/api/pull`). Errors are `{"error": "…"}`: 404 for an unknown model, 400
/// for bad input.
extension HearthServer {
    func addOllamaRoutes(_ router: Router<ServerContext>) {
        router.post("/api/generate") { request, context in try await self.generate(request, context: context) }
        router.post("/api/chat") { request, context in try await self.chat(request, context: context) }
        router.get("/api/tags") { _, _ in await self.ollamaCall { try await self.tags() } }
        router.head("/api/tags") { _, _ in HTTPResponse.Status.ok }
        router.post("/api/show") { request, _ in await self.ollamaCall { try await self.show(request) } }
        router.get("/api/ps") { _, _ in await self.ollamaCall { try await self.ps() } }
        router.post("/api/copy") { request, _ in await self.ollamaCall { try await self.copy(request) } }
        router.delete("/api/delete") { request, _ in await self.ollamaCall { try await self.delete(request) } }
        router.post("/api/create") { request, _ in await self.ollamaCall { try await self.create(request) } }
        router.post("/api/pull") { request, _ in await self.ollamaCall { try await self.pull(request) } }
        router.head("/api/blobs/:digest") { request, context in
            await self.ollamaCall { try await self.blobExists(context.parameters.get("digest") ?? "") }
        }
        router.post("/api/blobs/:digest") { request, context in
            await self.ollamaCall { try await self.uploadBlob(request, digest: context.parameters.get("digest") ?? "") }
        }
    }

    /// Runs a route body, answering its error in Ollama's shape.
    func ollamaCall(_ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch { return errorResponse(error, style: .ollama) }
    }

    /// The request body's bytes; an empty body is a 400.
    func readBody(_ request: Request) async throws -> Data {
        let buffer = try await request.body.collect(upTo: 64 << 20)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw ServerError.badRequest("the request body is empty (expected a JSON object)") }
        return data
    }

    /// The body decoded as `T`; a decoding error becomes a 400 naming the field.
    func decodeBody<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        try JSONDecoder().decode(T.self, from: data)
    }
}

/// Ollama's closing object: durations in nanoseconds.
func finalObject(_ model: String, _ s: GenerationStats, start: Date, load: Double) -> [String: Any] {
    func ns(_ seconds: Double) -> Int { Int((seconds * 1e9).rounded()) }
    return ["model": model, "created_at": timestamp(), "done": true, "done_reason": s.doneReason,
            "total_duration": ns(Date().timeIntervalSince(start)), "load_duration": ns(load),
            "prompt_eval_count": s.promptTokens, "prompt_eval_duration": ns(s.promptDuration),
            "eval_count": s.generatedTokens, "eval_duration": ns(s.generateDuration)]
}

/// RFC 3339 with fractional seconds, UTC, as Ollama's `created_at`.
func timestamp(_ date: Date = Date()) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: date)
}
