import ArgumentParser
import Foundation
import Hearth

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print embeddings of texts.",
        discussion: """
            MODEL is a Hugging Face model directory (e.g. all-MiniLM-L6-v2: config.json, model.safetensors, \
            tokenizer.json, sentence-transformers pooling) or a GGUF language model (mean of its last hidden \
            states). Texts come from the arguments, else from stdin, one per line (--input-json: a JSON array \
            of strings). Output: one line of space-separated values per text, or with --json one object \
            {"model", "embeddings", "prompt_eval_count"}.
            """)

    @Argument(help: "A model directory or a .gguf file.") var model: String
    @Argument(help: "Texts to embed (default: stdin).") var texts: [String] = []
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Keep the first N values of each vector and normalize again.") var dimensions: Int?
    @Flag(name: .customLong("no-truncate"), help: "Refuse inputs longer than the model's limit instead of cutting them.")
    var noTruncate = false
    @Flag(name: .customLong("input-json"), help: "Read stdin as a JSON array of strings.") var inputJSON = false
    @Flag(help: "Also print each text's token ids (in --json output as \"input_ids\").") var ids = false
    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.") var batchSize = 32
    @Option(help: "Threads to compute on (default: physical cores).") var threads: Int?
    @Flag(help: "Print load and embedding times to stderr.") var verbose = false

    func run() throws {
        if let t = threads, t < 1 { throw CLIError("--threads must be at least 1") }
        if batchSize < 1 { throw CLIError("--batch-size must be at least 1") }
        let inputs = try readInputs()
        let embedder: Embedder
        do {
            embedder = try Embedder(path: model, threads: threads)
        } catch {
            throw CLIError("\(error)")
        }
        let result: EmbeddingResult
        let start = Date()
        do {
            result = try embedder.embed(inputs, truncate: !noTruncate, dimensions: dimensions, batchSize: batchSize)
        } catch {
            throw CLIError("\(error)")
        }
        if verbose {
            let s = Date().timeIntervalSince(start)
            writeErr(String(format: "embedded %d texts (%d tokens) in %.3f s: %.1f texts/s, %.0f tokens/s (%d threads)\n",
                            inputs.count, result.totalTokens, s, Double(inputs.count) / s, Double(result.totalTokens) / s,
                            embedder.pool.threadCount))
        }
        let tokenIds = ids ? inputs.map { embedder.tokenize($0) } : []
        if json {
            var out = "{\"model\": \(jsonString(model)), \"embeddings\": ["
            out += result.embeddings.map { "[" + $0.map(jsonNumber).joined(separator: ", ") + "]" }.joined(separator: ", ")
            out += "], \"prompt_eval_count\": \(result.totalTokens)"
            if ids {
                out += ", \"input_ids\": [" + tokenIds.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }
                    .joined(separator: ", ") + "]"
            }
            writeOut(out + "}\n")
        } else {
            for (i, v) in result.embeddings.enumerated() {
                if ids { writeOut("ids: " + tokenIds[i].map(String.init).joined(separator: " ") + "\n") }
                writeOut(v.map(jsonNumber).joined(separator: " ") + "\n")
            }
        }
    }

    func readInputs() throws -> [String] {
        if !texts.isEmpty { return texts }
        let input = readStdin()
        if inputJSON {
            guard let value = try? JSONValue.parse(Data(input.utf8)), let list = value.arrayValue else {
                throw CLIError("--input-json: stdin is not a JSON array of strings")
            }
            return try list.enumerated().map { i, v in
                guard let s = v.stringValue else { throw CLIError("--input-json: item \(i) is \(v.kindName), expected a string") }
                return s
            }
        }
        var lines = input.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if lines.isEmpty { throw CLIError("no texts: give them as arguments or on stdin, one per line") }
        return lines
    }
}
