import Foundation
import HearthGrammar
import HearthStore
import Hummingbird

/// Ollama's `POST /api/create` (docs/api.md "Create a Model", the current shape: `model`, `from`, `files`,
/// `template`, `system`, `license`, `parameters`, `messages`; the older `modelfile` text is accepted too, its
/// instructions under the fields), `HEAD|POST /api/blobs/:digest` (the upload `files` refer to) and
/// `POST /api/pull` (a Hugging Face reference `hf.co/OWNER/REPO[:QUANT]` or a .gguf URL, as `hearth pull`).
/// Progress is streamed as Ollama's status objects (`{"status": …, "digest"?, "total"?, "completed"?}`), ending
/// with `{"status": "success"}`; `stream: false` answers that last object alone.

/// One status object of a create or pull stream.
struct ProgressLine: Sendable {
    var status: String
    var digest: String?
    var total: Int64?
    var completed: Int64?

    var object: [String: Any] {
        var o: [String: Any] = ["status": status]
        if let digest { o["digest"] = digest }
        if let total { o["total"] = total }
        if let completed { o["completed"] = completed }
        return o
    }
}

extension HearthServer {
    func create(_ request: Request) async throws -> Response {
        let data = try await readBody(request)
        let body = try decodeBody(CreateBody.self, data)
        let store = try modelStore()
        guard let nameText = body.model ?? body.name else { throw ServerError.badRequest("field 'model' is required (the new model's name)") }
        let name = try storeName(nameText, field: "model")
        if body.quantize != nil { throw ServerError.notSupported("quantize") }
        if let a = body.adapters, !a.isEmpty { throw ServerError.notSupported("adapters (LoRA)") }
        var modelfile = Modelfile(from: "")
        if let text = body.modelfile {
            do { modelfile = try Modelfile.parse(text, file: "field 'modelfile'") } catch let e as StoreError { throw serverError(e) }
        }
        var fromBlob = false
        if let files = body.files, !files.isEmpty {
            let ggufs = files.filter { $0.key.lowercased().hasSuffix(".gguf") }
            guard ggufs.count == 1, let digest = ggufs.first?.value else {
                throw ServerError.badRequest("field 'files' must name exactly one .gguf file (got \(files.keys.sorted()))")
            }
            let url = try blobURL(store, digest)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ServerError.badRequest("files: blob \(digest) is not on the server; upload it first (POST /api/blobs/\(digest))")
            }
            modelfile.from = url.path
            fromBlob = true
        } else if let from = body.from {
            modelfile.from = from
        }
        guard !modelfile.from.isEmpty else {
            throw ServerError.badRequest("give 'from' (a model in the store), 'files' (an uploaded blob) or a 'modelfile' with FROM")
        }
        if !fromBlob {
            // Over the API the base is a store model, never a path on the server's disk: a request must not make the
            // server read (or copy into the store) an arbitrary file. Ollama's CLI uploads a local file as a blob
            // first (POST /api/blobs/:digest, then 'files'); `hearth create` works on the store directly.
            let from = modelfile.from
            if ModelStore.looksLikePath(from) || from.hasPrefix("~") || from.contains("\\") {
                throw ServerError.badRequest("FROM '\(from)': a path on the server is refused over the API; upload the file "
                    + "(POST /api/blobs/sha256:DIGEST) and give it in 'files', or name a model in the store")
            }
            let base: ModelName
            do { base = try ModelName(parsing: from) } catch { throw ServerError.badRequest("FROM '\(from)': \(error)") }
            // An unknown base model is a 404 now, not an error line in the stream.
            if (try? store.entry(base)) == nil { throw ServerError.modelNotFound(from) }
        }
        if let t = body.template { modelfile.template = t }
        if let s = body.system { modelfile.system = s }
        if let l = body.license { modelfile.licenses = l.values }
        if let m = try body.modelfileMessages() { modelfile.messages = m }
        if body.parameters != nil, let members = try orderedBody(data)["parameters"]?.members {
            for m in members { try setParameter(&modelfile.parameters, m.key, m.value) }
        }
        let final = modelfile
        return try await progressResponse(stream: body.stream ?? true, thread: "hearth-create") { send in
            var hashing = false
            try store.create(name, modelfile: final, baseDirectory: nil) { status in
                switch status {
                case .gathering: send(ProgressLine(status: "gathering model components"))
                case .hashing:
                    if !hashing { send(ProgressLine(status: "parsing GGUF")) }
                    hashing = true
                case .copying(let d, let done, let total):
                    send(ProgressLine(status: "copying file \(d)", digest: d, total: total, completed: done))
                case .usingExisting(let d): send(ProgressLine(status: "using existing layer \(d)"))
                case .creatingLayer(let d): send(ProgressLine(status: "creating new layer \(d)"))
                case .writingManifest: send(ProgressLine(status: "writing manifest"))
                case .success: send(ProgressLine(status: "success"))
                }
            }
        }
    }

    func pull(_ request: Request) async throws -> Response {
        let body = try decodeBody(PullBody.self, try await readBody(request))
        guard let source = body.model ?? body.name, !source.isEmpty else {
            throw ServerError.badRequest("field 'model' is required (hf.co/OWNER/REPO[:QUANT] or a .gguf URL)")
        }
        let store = try modelStore()
        return try await progressResponse(stream: body.stream ?? true, thread: "hearth-pull") { send in
            let puller = Puller(store: store)
            let state = PullState()
            _ = try puller.pull(source) { event in
                switch event {
                case .resolving: send(ProgressLine(status: "pulling manifest"))
                case .resolved(_, let size, let sha):
                    state.set(digest: sha.map { "sha256:\($0)" }, total: size)
                case .resuming(let from): send(ProgressLine(status: "resuming download at \(from) bytes"))
                case .progress(let p):
                    if let line = state.progress(p) { send(line) }
                case .verifying: send(ProgressLine(status: "verifying sha256 digest"))
                case .usingExisting(let d): send(ProgressLine(status: "using existing layer \(d)"))
                case .writingManifest: send(ProgressLine(status: "writing manifest"))
                case .success: send(ProgressLine(status: "success"))
                }
            }
        }
    }

    func blobExists(_ digest: String) async throws -> Response {
        let url = try blobURL(try modelStore(), digest)
        return Response(status: FileManager.default.fileExists(atPath: url.path) ? .ok : .notFound)
    }

    /// Receives a blob into a temporary file under the store's `partial/`, then imports it; its sha256 must be the
    /// digest the path names (400 otherwise, nothing kept).
    func uploadBlob(_ request: Request, digest: String) async throws -> Response {
        let store = try modelStore()
        let expected = try blobURL(store, digest)
        if FileManager.default.fileExists(atPath: expected.path) { return Response(status: .ok) }
        let dir = store.partialDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent("upload-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil), let handle = FileHandle(forWritingAtPath: tmp.path) else {
            throw ServerError.loadFailed(path: tmp.path, reason: "cannot create the upload file")
        }
        defer { try? FileManager.default.removeItem(at: tmp) }
        do {
            for try await chunk in request.body { try handle.write(contentsOf: Data(chunk.readableBytesView)) }
            try handle.close()
        } catch {
            try? handle.close()
            throw ServerError.badRequest("the upload of \(digest) did not complete: \(error)")
        }
        let layer = try await runBlocking("hearth-blob") { () throws -> Manifest.Layer in
            do { return try store.importFile(tmp.path, mediaType: Manifest.MediaType.model) } catch let e as StoreError { throw serverError(e) }
        }
        let want = "sha256:" + expected.lastPathComponent.dropFirst("sha256-".count)
        guard layer.digest == want else {
            if let got = try? store.blobURL(layer.digest) { try? FileManager.default.removeItem(at: got) }
            throw ServerError.badRequest("the uploaded data's digest is \(layer.digest), not \(want)")
        }
        return Response(status: .created)
    }

    /// `sha256:<hex>` (or Ollama's file spelling `sha256-<hex>`) → the blob's file; anything else is a 400.
    func blobURL(_ store: ModelStore, _ digest: String) throws -> URL {
        let d = digest.hasPrefix("sha256-") ? "sha256:" + digest.dropFirst(7) : digest
        let hex = d.dropFirst("sha256:".count)
        guard d.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            throw ServerError.badRequest("'\(digest)' is not a blob digest (expected sha256:<64 hex digits>)")
        }
        do { return try store.blobURL(d.lowercased()) } catch let e as StoreError { throw serverError(e) }
    }

    /// Runs store work on its own thread: streamed as NDJSON status objects (a failure becomes an `{"error"}` line),
    /// or, with `stream: false`, awaited and answered `{"status": "success"}` (a failure is an error status).
    func progressResponse(stream: Bool, thread: String,
                          _ work: @escaping @Sendable (@escaping @Sendable (ProgressLine) -> Void) throws -> Void) async throws
        -> Response {
        let wrapped: @Sendable (@escaping @Sendable (ProgressLine) -> Void) throws -> Void = { send in
            do { try work(send) } catch let e as StoreError { throw serverError(e) }
        }
        if !stream {
            try await runBlocking(thread) { try wrapped { _ in } }
            return jsonResponse(["status": "success"])
        }
        let (events, continuation) = AsyncStream<Result<ProgressLine, ServerErrorText>>.makeStream()
        let t = Thread {
            do { try wrapped { continuation.yield(.success($0)) } } catch {
                continuation.yield(.failure(ServerErrorText(classify(error).message)))
            }
            continuation.finish()
        }
        t.name = thread
        t.start()
        let body = ResponseBody { writer in
            for await e in events {
                let obj: [String: Any]
                switch e {
                case .success(let line): obj = line.object
                case .failure(let f): obj = ["error": f.message]
                }
                try await writer.write(ndjsonLine(obj))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}

struct ServerErrorText: Error, Sendable {
    let message: String
    init(_ m: String) { message = m }
}

/// Turns a pull's byte counts into status lines, at most one per percent.
final class PullState: @unchecked Sendable {
    private let lock = NSLock()
    private var digest: String?
    private var total: Int64?
    private var lastPercent = -1

    func set(digest: String?, total: Int64?) {
        lock.lock(); defer { lock.unlock() }
        self.digest = digest
        self.total = total
    }

    func progress(_ p: DownloadProgress) -> ProgressLine? {
        lock.lock(); defer { lock.unlock() }
        let total = p.total ?? self.total
        let percent = total.map { $0 > 0 ? Int(p.done * 100 / $0) : 100 } ?? Int(p.done >> 22)
        guard percent != lastPercent else { return nil }
        lastPercent = percent
        let d = digest ?? ""
        return ProgressLine(status: "pulling \(d.dropFirst("sha256:".count).prefix(12))", digest: digest, total: total,
                            completed: p.done)
    }
}
