import ArgumentParser
import Foundation
import Hearth

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Describe a model file.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        if HFModelDirectory.isModelDirectory(modelOptions.model) { return try showDirectory() }
        let loaded = try modelOptions.load()
        let info = loaded.model.info
        let file = loaded.file
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.description, default: 0] += 1 }
        let main = types.max { $0.value < $1.value }?.key ?? "?"
        let params = Double(info.parameterCount)
        let paramText = params >= 1e9 ? String(format: "%.2fB", params / 1e9) : String(format: "%.2fM", params / 1e6)
        writeOut("""
              Model
                architecture        \(info.architecture)
                parameters          \(paramText)
                context length      \(info.trainedContext)
                embedding length    \(info.embeddingSize)
                layers              \(info.layerCount)
                heads (kv)          \(info.headCount) (\(info.headCountKV))
                vocabulary          \(info.vocabSize)
                quantization        \(main) (\(types.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))

              Metadata

            """)
        for key in file.metadataKeys {
            guard let v = file.metadata(key) else { continue }
            writeOut("    \(key.padding(toLength: max(key.count, 40), withPad: " ", startingAt: 0)) \(summary(v))\n")
        }
    }

    /// A Hugging Face model directory: what the embedder loads from it, then config.json.
    func showDirectory() throws {
        let e: Embedder
        do { e = try Embedder(path: modelOptions.model, threads: 1) } catch { throw CLIError("\(error)") }
        guard let dir = e.directory else { return }
        var types: [String: Int] = [:]
        var params = 0
        for f in dir.weights.files {
            for t in f.entries { types[t.dtype.rawValue, default: 0] += 1; params += t.elementCount }
        }
        let paramText = String(format: "%.2fM", Double(params) / 1e6)
        writeOut("""
              Model
                architecture        \(dir.modelType)
                format              safetensors (\(dir.weights.files.count) file\(dir.weights.files.count == 1 ? "" : "s"))
                parameters          \(paramText)
                embedding length    \(e.dimensions)
                max input tokens    \(e.maxTokens)
                pooling             \(e.pooling.rawValue)\(e.normalizes ? ", normalized" : "")
                tensor types        \(types.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))

              Config

            """)
        for key in dir.metadataKeys where key.hasPrefix("config.") {
            guard let v = dir.metadata(key) else { continue }
            let k = String(key.dropFirst(7))
            writeOut("    \(k.padding(toLength: max(k.count, 40), withPad: " ", startingAt: 0)) \(summary(v))\n")
        }
    }

    func summary(_ v: MetadataValue) -> String {
        switch v {
        case .bool(let b): return "\(b)"
        case .array(let a): return "[\(a.count) values]"
        case .string(let s):
            let one = s.replacingOccurrences(of: "\n", with: "\\n")
            return one.count > 60 ? String(one.prefix(60)) + "…" : one
        default: return v.doubleValue.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) } ?? "?"
        }
    }
}
