import ArgumentParser
import Foundation
import HearthStore

/// `hearth create NAME -f Modelfile`: Ollama's `create`, with its progress lines on stderr.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a model in the store from a Modelfile.")

    @Argument(help: "The model's name, e.g. smollm2:135m.") var name: String
    @Option(name: [.customShort("f"), .customLong("file")], help: "The Modelfile.") var file: String = "Modelfile"

    func run() throws {
        let target = try parseName(name)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("\(file): cannot read the Modelfile (give one with -f FILE)")
        }
        let modelfile = try storeCall { try Modelfile.parse(String(decoding: data, as: UTF8.self), file: file) }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        let tty = isatty(2) != 0
        var lastPercent = -1
        try storeCall {
            try openStore().create(target, modelfile: modelfile, baseDirectory: base) { status in
                switch status {
                case .gathering: writeErr("gathering model components\n")
                case .hashing: break
                case .copying(let digest, let done, let total):
                    let percent = total > 0 ? Int(done * 100 / total) : 100
                    if percent == lastPercent { return }
                    lastPercent = percent
                    if percent >= 100 {
                        writeErr((tty ? "\r" : "") + "copying file \(digest) 100%\n")
                    } else if tty {
                        writeErr("\rcopying file \(digest) \(percent)%")
                    }
                case .usingExisting(let digest): writeErr("using existing layer \(digest)\n")
                case .creatingLayer(let digest): writeErr("creating new layer \(digest)\n")
                case .writingManifest: writeErr("writing manifest\n")
                case .success: writeErr("success\n")
                }
            }
        }
    }
}
