import Foundation
import HearthFormats
import HearthTensors

/// `create`: a Modelfile turned into blobs and a manifest, step for step as Ollama's `create` reports them.
extension ModelStore {
    /// What `create` reports as it goes (the CLI prints Ollama's lines from these).
    public enum CreateStatus: Sendable {
        case gathering
        /// Copying the model file into the store; `digest` is `sha256:<hex>`.
        case copying(digest: String, done: Int64, total: Int64)
        case hashing(done: Int64, total: Int64)
        case usingExisting(digest: String)
        case creatingLayer(digest: String)
        case writingManifest
        case success
    }

    /// Creates (or replaces) `name` from a parsed Modelfile whose relative paths are relative to `baseDirectory`.
    /// With `baseDirectory` nil (the server's API), FROM is only a model in the store, or an absolute path the
    /// caller has already checked (an uploaded blob): a name is never looked up as a file.
    public func create(_ name: ModelName, modelfile: Modelfile, baseDirectory: URL?,
                       report: (CreateStatus) -> Void = { _ in }) throws {
        report(.gathering)
        removeStaleTemporaries()
        var layers: [Manifest.Layer] = []
        var config: Manifest.Layer
        var base: ResolvedModel?

        let path = baseDirectory.map { modelfilePath(modelfile.from, relativeTo: $0) }
            ?? (modelfile.from.hasPrefix("/") ? modelfile.from : nil)
        if let path {
            let info = try ggufConfig(path)
            let model = try importFile(path, mediaType: Manifest.MediaType.model) { p in
                switch p.phase {
                case .hashing: report(.hashing(done: p.done, total: p.total))
                case .copying: report(.copying(digest: p.digest ?? "", done: p.done, total: p.total))
                case .existing: report(.usingExisting(digest: p.digest ?? ""))
                }
            }
            layers.append(model)
            var cfg = info
            cfg.rootfs.diffIDs = [model.digest]
            config = try writeBlob(try encodeJSON(cfg), mediaType: Manifest.configMediaType)
        } else {
            let baseName: ModelName
            do { baseName = try ModelName(parsing: modelfile.from) } catch {
                throw StoreError.io(path: modelfile.from, message: "FROM names neither an existing file nor a valid model name (\(error))")
            }
            let entry = try require(baseName)
            base = try resolved(entry)
            layers += entry.manifest.layers(Manifest.MediaType.model)
            config = entry.manifest.config
            for l in layers { report(.usingExisting(digest: l.digest)) }
        }

        func text(_ value: String?, _ mediaType: String) throws {
            guard let v = value else { return }
            let layer = try writeBlob(Data(v.utf8), mediaType: mediaType)
            layers.append(layer)
            report(.creatingLayer(digest: layer.digest))
        }
        try text(modelfile.template ?? base?.template, Manifest.MediaType.template)
        try text(modelfile.system ?? base?.system, Manifest.MediaType.system)
        let params = (base?.parameters ?? ModelParameters()).merging(modelfile.parameters)
        if !params.isEmpty {
            let layer = try writeBlob(try params.encoded(), mediaType: Manifest.MediaType.params)
            layers.append(layer)
            report(.creatingLayer(digest: layer.digest))
        }
        let messages = modelfile.messages.isEmpty ? (base?.messages ?? []) : modelfile.messages
        if !messages.isEmpty {
            let layer = try writeBlob(try encodeJSON(messages), mediaType: Manifest.MediaType.messages)
            layers.append(layer)
            report(.creatingLayer(digest: layer.digest))
        }
        for license in (base?.licenses ?? []) + modelfile.licenses { try text(license, Manifest.MediaType.license) }

        report(.writingManifest)
        try writeManifest(Manifest(config: config, layers: layers), for: name)
        report(.success)
    }

    /// The file a Modelfile's FROM names, or nil when it names a stored model instead. A value that looks like a
    /// path (`.gguf` suffix, `/`, `./`, `../`, `~/`) must exist.
    func modelfilePath(_ from: String, relativeTo base: URL) -> String? {
        let expanded = from.hasPrefix("~/") ? NSHomeDirectory() + from.dropFirst(1) : from
        let url = expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded) : base.appendingPathComponent(expanded)
        let path = url.standardizedFileURL.path
        if FileManager.default.fileExists(atPath: path) { return path }
        if ModelStore.looksLikePath(from) { return path }  // importFile then reports "no such file" with this path
        return nil
    }

    /// Arguments that can only be paths, never model names.
    public static func looksLikePath(_ s: String) -> Bool {
        s.lowercased().hasSuffix(".gguf") || s.hasPrefix("/") || s.hasPrefix("./") || s.hasPrefix("../")
            || s.hasPrefix("~/") || s == "." || s == ".."
    }

    /// Reads a GGUF's header for the config blob (and to reject a file that is not a GGUF before copying it).
    public func ggufConfig(_ path: String) throws -> ModelConfig {
        _ = try fileSize(path)
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw StoreError.io(path: path, message: "not a usable GGUF model: \(error)") }
        let arch = file.architecture ?? "unknown"
        let fileType = (file.metadata("general.file_type")?.intValue).map(ModelStore.fileTypeName) ?? "unknown"
        let label = file.metadata("general.size_label")?.stringValue
        let params = file.tensors.reduce(0) { $0 + $1.elementCount }
        return ModelConfig(modelFormat: "gguf", modelFamily: arch, modelFamilies: [arch],
                           modelType: label ?? ModelStore.sizeLabel(params), fileType: fileType,
                           architecture: "amd64", os: "linux", rootfs: .init(type: "layers", diffIDs: []))
    }

    /// llama.cpp's `llama_ftype` names (include/llama.h), as Ollama shows them.
    static func fileTypeName(_ t: Int) -> String {
        let names: [Int: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
                                    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
                                    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16"]
        return names[t] ?? "type \(t)"
    }

    /// "135M", "1.5B": a parameter count as model cards write it.
    public static func sizeLabel(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.1fB", d / 1e9).replacingOccurrences(of: ".0B", with: "B") }
        return String(format: "%.0fM", d / 1e6)
    }
}

func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
}
