import ArgumentParser
import Foundation
import Hearth

@main
struct HearthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hearth",
        abstract: "Local LLM inference: run GGUF models on this machine's CPU.",
        subcommands: [RunCommand.self, TokenizeCommand.self, PerplexityCommand.self, ShowCommand.self, BenchCommand.self,
                      ServeCommand.self])
}

/// A one-line error for the user, printed by ArgumentParser as "Error: …" with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Options every model-loading command shares.
struct ModelOptions: ParsableArguments {
    @Argument(help: "Path to a .gguf model file.")
    var model: String

    @Option(name: .long, help: "Threads to compute on (default: physical cores).")
    var threads: Int?

    func load() throws -> LoadedModel {
        if let t = threads, t < 1 { throw CLIError("--threads must be at least 1") }
        do {
            return try LoadedModel(path: model, threads: threads)
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// The model file's tokenizer alone (no weights are loaded).
    func loadTokenizer() throws -> any Tokenizer {
        do {
            return try LoadedModel.loadTokenizer(path: model)
        } catch {
            throw CLIError("\(error)")
        }
    }
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
