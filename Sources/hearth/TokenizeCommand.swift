import ArgumentParser
import Foundation
import Hearth

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Print the token ids of a text.")

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "The text (default: stdin, byte for byte).") var text: String?
    @Flag(name: .customLong("no-bos"), help: "Do not add BOS even if the model asks for it.") var noBOS = false
    @Flag(name: .customLong("no-special"), help: "Treat special-token text as plain text.") var noSpecial = false
    @Flag(help: "Print one JSON array.") var json = false

    func run() throws {
        let input = text ?? readStdin()
        let ids: [Int32]
        if HFModelDirectory.isModelDirectory(modelOptions.model) {
            // A Hugging Face directory: its tokenizer.json ([CLS]/[SEP] are the special tokens --no-bos leaves out).
            do {
                let dir = modelOptions.model as NSString
                ids = try TokenizerJSON(path: dir.appendingPathComponent("tokenizer.json")).encode(input, addSpecial: !noBOS)
            } catch {
                throw CLIError("\(error)")
            }
        } else {
            let tokenizer = try modelOptions.loadTokenizer()
            ids = tokenizer.encode(input, addSpecial: !noBOS, parseSpecial: !noSpecial)
        }
        if json {
            writeOut("[" + ids.map(String.init).joined(separator: ", ") + "]\n")
        } else {
            writeOut(ids.map(String.init).joined(separator: "\n") + (ids.isEmpty ? "" : "\n"))
        }
    }
}
