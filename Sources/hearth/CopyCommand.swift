import ArgumentParser
import Foundation
import HearthStore

/// `hearth cp SRC DST`: a second name for a model (same blobs, same manifest, so the same ID).
struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cp", abstract: "Copy a model to a new name.")

    @Argument(help: "The existing model.") var source: String
    @Argument(help: "The new name.") var destination: String

    func run() throws {
        let src = try parseName(source), dst = try parseName(destination)
        try storeCall { try openStore().copy(src, to: dst) }
        writeOut("copied '\(src)' to '\(dst)'\n")
    }
}
