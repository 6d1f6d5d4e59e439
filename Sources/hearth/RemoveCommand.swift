import ArgumentParser
import Foundation
import HearthStore

/// `hearth rm NAME…`: removes each model, then the blobs no other model uses.
struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove models from the store.")

    @Argument(help: "The models to remove.") var names: [String]

    func validate() throws {
        if names.isEmpty { throw ValidationError("name at least one model") }
    }

    func run() throws {
        let store = openStore()
        for text in names {
            let name = try parseName(text)
            try storeCall { _ = try store.remove(name) }
            writeOut("deleted '\(name)'\n")
        }
    }
}
