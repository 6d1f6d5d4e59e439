import ArgumentParser
import Foundation
import Hearth
import HearthStore

@main
struct HearthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Local LLM inference: run GGUF models on this machine's CPU.",
        subcommands: [RunCommand.self, CreateCommand.self, PullCommand.self, ListCommand.self, ShowCommand.self,
                      CopyCommand.self, RemoveCommand.self, TokenizeCommand.self, PerplexityCommand.self,
                      BenchCommand.self, MatmulBenchCommand.self, ChatTemplateCommand.self, EmbedCommand.self,
                      ServeCommand.self, PsCommand.self, StopCommand.self])
}

/// A one-line error for the user, printed by ArgumentParser as "Error: …" with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Options every model-loading command shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "A model name from the store (see `hearth list`) or a path to a .gguf file.")
    var model: String

    @Option(name: .long, help: "Threads to compute on (default: physical cores).")
    var threads: Int?

    /// The model file and its Modelfile settings (none for a plain .gguf path).
    func resolve() throws -> ResolvedModel { try resolveModel(model) }

    func load() throws -> LoadedModel { try load(resolve()) }

    func load(_ resolved: ResolvedModel) throws -> LoadedModel {
        if let t = threads, t < 1 { throw CLIError("--threads must be at least 1") }
        do {
            return try LoadedModel(path: resolved.path, threads: threads)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// The model file's tokenizer alone (no weights are loaded).
    func loadTokenizer() throws -> any Tokenizer {
        let path = try resolve().path
        do {
            return try LoadedModel.loadTokenizer(path: path)
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// The store `HEARTH_MODELS` (default ~/.hearth/models) names.
func openStore() -> ModelStore { ModelStore(root: ModelStore.defaultRoot()) }

/// A command-line model argument (store name or .gguf path) resolved through the store; the one resolver every
/// command uses.
func resolveModel(_ argument: String) throws -> ResolvedModel {
    do { return try openStore().resolve(argument) } catch { throw CLIError("\(error)") }
}

/// A store name from the command line, or a one-line error.
func parseName(_ text: String) throws -> ModelName {
    do { return try ModelName(parsing: text) } catch { throw CLIError("\(error)") }
}

/// Runs a store operation, turning its error into the CLI's one-line error.
func storeCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
}

/// Reads all of stdin as bytes (for prompts and texts piped in).
func readStdin() -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    return String(decoding: data, as: UTF8.self)
}

func writeOut(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

func writeErr(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
}

/// Minimal JSON string escaping (RFC 8259 §7) for the line-per-token output.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

func jsonNumber(_ f: Float) -> String { f.isFinite ? "\(f)" : "null" }
