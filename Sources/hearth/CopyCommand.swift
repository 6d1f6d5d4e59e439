import ArgumentParser
import Foundation
import HearthStore

/// `hearth cp SRC DST`: a second name for a model (same blobs, same manifest, so the same ID). SRC may also be a
/// .gguf file, which is then imported as DST (as `create` with a one-line `FROM SRC` Modelfile).
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy a model (or import a .gguf file) to a new name.")

    @Argument(help: "The existing model: a store name or a .gguf file.") var source: String
    @Argument(help: "The new name.") var destination: String

    func run() throws {
        let dst = try parseName(destination)
        let store = openStore()
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDir) || ModelStore.looksLikePath(source) {
            let path = URL(fileURLWithPath: source).standardizedFileURL.path
            let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            try storeCall { try store.create(dst, modelfile: Modelfile(from: path), baseDirectory: cwd) }
            writeOut("copied '\(source)' to '\(dst)'\n")
            return
        }
        let src = try parseName(source)
        try storeCall { try store.copy(src, to: dst) }
        writeOut("copied '\(src)' to '\(dst)'\n")
    }
}
