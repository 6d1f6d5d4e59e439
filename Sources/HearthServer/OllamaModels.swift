import Foundation
import HearthEngine
import HearthFormats
import HearthStore
import HearthTensors
import Hummingbird

/// Ollama's model-management routes (docs/api.md): `GET /api/tags` (installed models), `POST /api/show` (one
/// model's Modelfile, parameters, template, details, model_info, capabilities), `GET /api/ps` (loaded models),
/// `POST /api/copy`, `DELETE /api/delete`, over the model store the server was started with.
extension HearthServer {
    /// The model store behind the provider (the server always runs on one; a test provider may not).
    func modelStore() throws -> ModelStore {
        guard let p = models as? StoreModelProvider else {
            throw ServerError.notSupported("model management without a model store")
        }
        return p.store
    }

    func tags() async throws -> Response {
        let store = try modelStore()
        let entries = try await runBlocking("hearth-tags") { try store.list() }
        let list: [[String: Any]] = entries.map { e in
            ["name": e.name.description, "model": e.name.description, "modified_at": timestamp(e.modified),
             "size": e.size, "digest": e.manifestDigest, "details": details(store.config(e))]
        }
        return jsonResponse(["models": list])
    }

    func show(_ request: Request) async throws -> Response {
        let body = try decodeBody(ModelNameBody.self, try await readBody(request))
        let name = try body.required()
        let store = try modelStore()
        guard let provider = models as? StoreModelProvider else { throw ServerError.modelNotFound(name) }
        let resolved = try await provider.resolve(name)
        let verbose = body.verbose ?? false
        return jsonResponse(try showObject(resolved, store: store, verbose: verbose))
    }

    func ps() async throws -> Response {
        let loaded = await models.loadedStatus()
        let list: [[String: Any]] = loaded.map { m in
            // Negative keep_alive: Ollama reports an expiry ~292 years away (the largest Go duration).
            let expires = m.expiresAt ?? Date().addingTimeInterval(292 * 365.25 * 86400)
            return ["name": m.model.name, "model": m.model.name, "size": m.estimate.total, "size_vram": 0,
                    "digest": m.digest, "details": details(m.config),
                    "expires_at": timestamp(expires), "context_length": m.model.defaultContextSize,
                    // Hearth's own fields: what the scheduler holds right now.
                    "keep_alive": m.keepAlive.description, "requests": m.requests,
                    "active_sequences": m.statistics.active, "queued_requests": m.statistics.queued,
                    "kv_blocks_used": m.statistics.usedBlocks, "kv_blocks": m.statistics.blockCount]
        }
        return jsonResponse(["models": list])
    }

    func copy(_ request: Request) async throws -> Response {
        let body = try decodeBody(CopyBody.self, try await readBody(request))
        let store = try modelStore()
        let source = try storeName(body.source, field: "source")
        let destination = try storeName(body.destination, field: "destination")
        try await runBlocking("hearth-copy") {
            do { try store.copy(source, to: destination) } catch let e as StoreError { throw serverError(e) }
        }
        return Response(status: .ok)
    }

    func delete(_ request: Request) async throws -> Response {
        let body = try decodeBody(ModelNameBody.self, try await readBody(request))
        let name = try storeName(try body.required(), field: "model")
        let store = try modelStore()
        guard try store.entry(name) != nil else { throw ServerError.modelNotFound(name.description) }
        _ = try? await models.unload(name.description)
        try await runBlocking("hearth-delete") {
            do { _ = try store.remove(name) } catch let e as StoreError { throw serverError(e) }
        }
        return Response(status: .ok)
    }
}

/// A model name from a request; a malformed one is a 400 naming the field.
/// Ollama's `details` object.
func details(_ c: ModelConfig?) -> [String: Any] {
    ["parent_model": "", "format": c?.modelFormat ?? "gguf", "family": c?.modelFamily ?? "",
     "families": c?.modelFamilies ?? [], "parameter_size": c?.modelType ?? "", "quantization_level": c?.fileType ?? ""]
}

/// `/api/show`'s object for a resolved model (a store model, a .gguf file or a Hugging Face directory).
func showObject(_ r: ResolvedModel, store: ModelStore, verbose: Bool) throws -> [String: Any] {
    if HFModelDirectory.isModelDirectory(r.path) {
        return ["modelfile": "FROM \(r.path)\n", "parameters": "", "template": "", "capabilities": ["embedding"],
                "details": ["parent_model": "", "format": "safetensors", "family": "bert", "families": ["bert"],
                            "parameter_size": "", "quantization_level": ""],
                "model_info": [String: Any](), "modified_at": timestamp()]
    }
    let file: GGUFFile
    do { file = try GGUFFile(path: r.path) } catch { throw ServerError.loadFailed(path: r.path, reason: "\(error)") }
    let template = r.template ?? file.metadata("tokenizer.chat_template")?.stringValue ?? ""
    var obj: [String: Any] = [
        "modelfile": r.renderModelfile(),
        "parameters": r.parameters.pairs.map { k, v in
            k.padding(toLength: 30, withPad: " ", startingAt: 0) + " " + (k == "stop" ? String(decoding: jsonBytes([v]).dropFirst().dropLast(), as: UTF8.self) : v)
        }.joined(separator: "\n"),
        "template": template,
        "details": details(r.entry.flatMap { store.config($0) } ?? (try? store.ggufConfig(r.path))),
        "model_info": modelInfo(file, verbose: verbose),
        "capabilities": capabilities(template),
        "modified_at": timestamp(r.entry?.modified ?? Date()),
    ]
    if let s = r.system { obj["system"] = s }
    if !r.licenses.isEmpty { obj["license"] = r.licenses.joined(separator: "\n") }
    return obj
}

/// What the model can do, as Ollama derives it: "completion" for a language model, "tools" when its chat template
/// renders tools, "thinking" when it switches reasoning on and off.
func capabilities(_ template: String) -> [String] {
    var c = ["completion"]
    if template.contains("tools") { c.append("tools") }
    if template.contains("enable_thinking") || template.contains("reasoning_content") || template.contains("<think>") {
        c.append("thinking")
    }
    return c
}

/// The GGUF metadata as Ollama's `model_info`: scalars as they are; arrays (the vocabulary, merges) only with
/// `verbose`, as Ollama leaves them out otherwise.
func modelInfo(_ file: GGUFFile, verbose: Bool) -> [String: Any] {
    var info: [String: Any] = [:]
    for key in file.metadataKeys where key != "tokenizer.chat_template" {
        guard let v = file.metadata(key) else { continue }
        if case .array = v, !verbose { continue }
        info[key] = jsonMetadata(v)
    }
    info["general.parameter_count"] = file.tensors.reduce(0) { $0 + $1.elementCount }
    return info
}

func jsonMetadata(_ v: MetadataValue) -> Any {
    switch v {
    case .string(let s): return s
    case .bool(let b): return b
    case .float32(let f): return f.isFinite ? Double(f) : NSNull()
    case .float64(let d): return d.isFinite ? d : NSNull()
    case .array(let a): return a.map(jsonMetadata)
    default: return v.intValue ?? NSNull()
    }
}
