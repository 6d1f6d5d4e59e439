import ArgumentParser
import Foundation

/// `hearth stop NAME`: unloads a model from the running server now, as `ollama stop` does: it must be loaded
/// (`GET /api/ps`), then `POST /api/generate` with an empty prompt and `keep_alive: 0`.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Unload a model the server has loaded.")

    @Argument(help: "The model's name, as `hearth ps` shows it.") var model: String

    func run() throws {
        let client = try ServerClient()
        let loaded = (try client.object(.GET, "/api/ps")["models"] as? [[String: Any]]) ?? []
        let names = loaded.compactMap { $0["name"] as? String }
        // `smollm2` means `smollm2:latest`, as everywhere else.
        let wanted = model.contains(":") || model.contains("/") || model.hasSuffix(".gguf") ? model : model + ":latest"
        guard let name = names.first(where: { $0 == model || $0 == wanted }) else {
            throw CLIError("couldn't find model \"\(model)\" to stop (loaded: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        _ = try client.object(.POST, "/api/generate", json: ["model": name, "keep_alive": 0])
    }
}
