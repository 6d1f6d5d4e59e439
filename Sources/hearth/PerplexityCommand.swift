import ArgumentParser
import Foundation
import Hearth

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Perplexity of a text file, with llama-perplexity's protocol.")

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "The text file.") var file: String
    @Option(name: .customLong("ctx-size"), help: "Chunk size in tokens.") var ctxSize: Int = 512
    @Flag(help: "Print {\"ppl\", \"chunks\", \"tokens\"} as JSON.") var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("\(file): cannot read the file")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }  // as llama.cpp's -f drops one trailing newline
        let loaded = try modelOptions.load()
        let tokens = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        let result: PerplexityResult
        do {
            result = try Perplexity.run(loaded, tokens: tokens, contextSize: ctxSize) { done, total, ppl in
                if !json { writeErr("[\(done)/\(total)] \(String(format: "%.4f", ppl))\n") }
            }
        } catch {
            throw CLIError("\(error)")
        }
        if json {
            writeOut("{\"ppl\": \(result.perplexity), \"chunks\": \(result.chunks), \"tokens\": \(result.tokens)}\n")
        } else {
            writeOut("Final estimate: PPL = \(String(format: "%.4f", result.perplexity)) (\(result.chunks) chunks of \(ctxSize))\n")
        }
    }
}
