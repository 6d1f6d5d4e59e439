import ArgumentParser
import Foundation
import Hearth
import HearthStore

/// `hearth show MODEL`: what `ollama show` prints (model facts, parameters, system prompt, license) plus the GGUF
/// metadata; `--modelfile`, `--template`, `--parameters`, `--system`, `--license` print one part alone.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Describe a model.")

    @OptionGroup var modelOptions: ModelOptions
    @Flag(help: "Print the Modelfile that recreates the model.") var modelfile = false
    @Flag(help: "Print the chat template (the Modelfile's, else the GGUF's).") var template = false
    @Flag(help: "Print the Modelfile parameters.") var parameters = false
    @Flag(help: "Print the system prompt.") var system = false
    @Flag(help: "Print the license.") var license = false

    func validate() throws {
        if [modelfile, template, parameters, system, license].filter({ $0 }).count > 1 {
            throw ValidationError("give at most one of --modelfile, --template, --parameters, --system, --license")
        }
    }

    func run() throws {
        if HFModelDirectory.isModelDirectory(modelOptions.model) { return try showDirectory() }
        let resolved = try modelOptions.resolve()
        if modelfile { return writeOut(resolved.renderModelfile()) }
        if parameters { return writeOut(parameterLines(resolved)) }
        if system { return writeOut(resolved.system.map { $0 + "\n" } ?? "") }
        if license { return writeOut(resolved.licenses.map { $0 + "\n" }.joined(separator: "\n")) }
        if template {
            if let t = resolved.template { return writeOut(t + "\n") }
            let file: GGUFFile
            do { file = try GGUFFile(path: resolved.path) } catch { throw CLIError("\(error)") }
            return writeOut(file.metadata("tokenizer.chat_template")?.stringValue.map { $0 + "\n" } ?? "")
        }
        try describe(resolved)
    }

    /// `name value` lines, values quoted as Ollama shows them.
    func parameterLines(_ r: ResolvedModel) -> String {
        r.parameters.pairs.map { name, value in
            name.padding(toLength: 30, withPad: " ", startingAt: 0) + " " + (name == "stop" ? jsonString(value) : value) + "\n"
        }.joined()
    }

    func describe(_ resolved: ResolvedModel) throws {
        let loaded = try modelOptions.load(resolved)
        let info = loaded.model.info
        let file = loaded.file
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.description, default: 0] += 1 }
        let main = types.max { $0.value < $1.value }?.key ?? "?"
        let params = Double(info.parameterCount)
        let paramText = params >= 1e9 ? String(format: "%.2fB", params / 1e9) : String(format: "%.2fM", params / 1e6)
        var head = ""
        if let name = resolved.name, let entry = resolved.entry {
            head = """
                  Name                  \(name)
                  ID                    \(entry.id)
                  Size                  \(HumanFormat.bytes(entry.size))
                  Modified              \(HumanFormat.ago(entry.modified))


                """
        }
        writeOut(head + """
              Model
                architecture        \(info.architecture)
                parameters          \(paramText)
                context length      \(info.trainedContext)
                embedding length    \(info.embeddingSize)
                layers              \(info.layerCount)
                heads (kv)          \(info.headCount) (\(info.headCountKV))
                vocabulary          \(info.vocabSize)
                quantization        \(main) (\(types.sorted { $0.value > $1.value }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")))
                chat template       \(resolved.template != nil ? "from the Modelfile" : file.metadata("tokenizer.chat_template") != nil ? "from the GGUF" : "none")


            """)
        if !resolved.parameters.isEmpty {
            writeOut("  Parameters\n" + parameterLines(resolved).split(separator: "\n").map { "    \($0)\n" }.joined() + "\n")
        }
        if let s = resolved.system { writeOut("  System\n" + indented(s) + "\n") }
        if !resolved.messages.isEmpty {
            writeOut("  Messages\n" + resolved.messages.map { "    \($0.role): \(oneLine($0.content))\n" }.joined() + "\n")
        }
        for l in resolved.licenses { writeOut("  License\n" + indented(l) + "\n") }
        writeOut("  Metadata\n")
        for key in file.metadataKeys {
            guard let v = file.metadata(key) else { continue }
            writeOut("    \(key.padding(toLength: max(key.count, 40), withPad: " ", startingAt: 0)) \(summary(v))\n")
        }
    }

    func indented(_ text: String, lines: Int = 6) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        var out = all.prefix(lines).map { "    \($0)\n" }.joined()
        if all.count > lines { out += "    …\n" }
        return out
    }

    func oneLine(_ s: String) -> String {
        let one = s.replacingOccurrences(of: "\n", with: "\\n")
        return one.count > 60 ? String(one.prefix(60)) + "…" : one
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
        case .string(let s): return oneLine(s)
        default: return v.doubleValue.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : String($0) } ?? "?"
        }
    }
}
