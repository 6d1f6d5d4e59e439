import Foundation
import HearthTensors

/// The weights of a checkpoint stored as one SafeTensors file or as shards listed by
/// `model.safetensors.index.json` (Hugging Face transformers' sharded format: `{"metadata": {...},
/// "weight_map": {tensor name: shard file name}}`), behind one `WeightSource`. Tensor names are the checkpoint's
/// own (`encoder.layer.0.attention.self.query.weight`); metadata keys are whatever the owner maps in (the model
/// directory maps config.json onto GGUF-style keys).
public final class SafeTensorsWeights: WeightSource, @unchecked Sendable {
    // @unchecked: immutable after init.
    public let sourceName: String
    public let files: [SafeTensorsFile]
    private let owner: [String: Int]
    private let metadataValues: [String: MetadataValue]
    public let metadataKeys: [String]

    /// Opens `model.safetensors.index.json` in `directory` when it exists, else `model.safetensors`.
    public convenience init(directory: String, metadata: [(String, MetadataValue)] = []) throws {
        let index = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: index) {
            try self.init(index: index, metadata: metadata)
        } else {
            let single = (directory as NSString).appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: single) else {
                throw SafeTensorsError(.io, path: directory, field: "weights",
                                       message: "no model.safetensors or model.safetensors.index.json in the directory")
            }
            try self.init(files: [SafeTensorsFile(path: single)], name: directory, metadata: metadata)
        }
    }

    /// Opens the shards an index file lists (each file once), checking every listed tensor is in its shard.
    public convenience init(index: String, metadata: [(String, MetadataValue)] = []) throws {
        guard let data = FileManager.default.contents(atPath: index) else {
            throw SafeTensorsError(.io, path: index, field: "file", message: "cannot be read")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw SafeTensorsError(.badJSON, path: index, field: "index", message: "not valid JSON: \(JSONValue.describe(error))")
        }
        guard let map = json["weight_map"]?.objectValue else {
            throw SafeTensorsError(.invalidField, path: index, field: "weight_map",
                                   message: "expected an object mapping tensor names to shard files")
        }
        let dir = (index as NSString).deletingLastPathComponent
        var shardNames: [String] = []
        for (tensor, file) in map.sorted(by: { $0.key < $1.key }) {
            guard let f = file.stringValue else {
                throw SafeTensorsError(.invalidField, path: index, field: "weight_map '\(tensor)'",
                                       message: "expected a shard file name, found \(file.kindName)")
            }
            // A shard is a file beside the index, never a path that climbs out of the model directory.
            guard !f.isEmpty, !f.contains("/"), !f.contains("\\"), f != ".", f != ".." else {
                throw SafeTensorsError(.invalidField, path: index, field: "weight_map '\(tensor)'",
                                       message: "'\(f)' is not a plain file name in the model directory")
            }
            if !shardNames.contains(f) { shardNames.append(f) }
        }
        let files = try shardNames.sorted().map { try SafeTensorsFile(path: (dir as NSString).appendingPathComponent($0)) }
        let byName = Dictionary(uniqueKeysWithValues: zip(shardNames.sorted(), files))
        for (tensor, file) in map {
            guard let f = file.stringValue, let shard = byName[f], shard.entry(tensor) != nil else {
                throw SafeTensorsError(.invalidField, path: index, field: "weight_map '\(tensor)'",
                                       message: "the shard '\(file.stringValue ?? "?")' has no tensor of that name")
            }
        }
        try self.init(files: files, name: dir, metadata: metadata)
    }

    /// Several files as one source; a tensor name in two files is an error.
    public init(files: [SafeTensorsFile], name: String, metadata: [(String, MetadataValue)] = []) throws {
        sourceName = name
        self.files = files
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for e in f.entries {
                if let other = owner[e.name] {
                    throw SafeTensorsError(.duplicateTensor, path: f.path, field: "tensor '\(e.name)'",
                                           message: "also in '\(files[other].path)'; each tensor must be in one shard")
                }
                owner[e.name] = i
            }
        }
        self.owner = owner
        var values: [String: MetadataValue] = [:], keys: [String] = []
        for (k, v) in metadata where values[k] == nil {
            values[k] = v
            keys.append(k)
        }
        metadataValues = values
        metadataKeys = keys
    }

    /// The header entry of a tensor (any dtype).
    public func entry(_ name: String) -> SafeTensorsEntry? { owner[name].flatMap { files[$0].entry(name) } }

    public func tensor(_ name: String) -> TensorView? { owner[name].flatMap { files[$0].view(name) } }

    public func metadata(_ key: String) -> MetadataValue? { metadataValues[key] }

    /// Every F32/F16/BF16 tensor as a view (other dtypes, such as BERT's I64 `position_ids`, are left out).
    public var tensors: [TensorView] { files.flatMap { f in f.entries.compactMap { f.view($0.name) } } }
}
