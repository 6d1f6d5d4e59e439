import Foundation
import HearthEngine

/// Where the server gets a model's scheduler from a request's `model` field. One small protocol so the model
/// store (names → blobs, keep_alive, unloading) can replace `FileModelProvider` without touching the routes.
public protocol ModelProvider: Sendable {
    /// The scheduler serving `name` (nil or empty: the default model), loading the model on first use.
    /// Throws `ServerError.modelNotFound` for a name it cannot resolve.
    func scheduler(for name: String?) async throws -> Scheduler
    /// Stops every scheduler (server shutdown).
    func shutdown() async
}

/// Models given by .gguf path: `hearth serve --model PATH` names the default, and a request may name another
/// file by its path. Each file is loaded once and keeps one `Scheduler` (one per loaded model: a model's thread
/// pool serves one forward pass at a time).
public actor FileModelProvider: ModelProvider {
    public let defaultPath: String?
    let configuration: SchedulerConfiguration
    let threads: Int?
    private var loaded: [String: Scheduler] = [:]
    private var closed = false

    public init(defaultPath: String?, configuration: SchedulerConfiguration, threads: Int? = nil) {
        self.defaultPath = defaultPath
        self.configuration = configuration
        self.threads = threads
    }

    public func scheduler(for name: String?) async throws -> Scheduler {
        guard !closed else { throw SchedulerError.shutDown }
        let requested = (name ?? "").trimmingCharacters(in: .whitespaces)
        let path: String
        if requested.isEmpty || requested == defaultPath || requested == defaultName {
            guard let d = defaultPath else {
                throw ServerError.badRequest("the request names no model and the server has no default (hearth serve --model PATH)")
            }
            path = d
        } else {
            guard requested.hasSuffix(".gguf"), FileManager.default.fileExists(atPath: requested) else {
                throw ServerError.modelNotFound(requested)
            }
            path = requested
        }
        if let s = loaded[path] { return s }
        let model: LoadedModel
        do {
            model = try LoadedModel(path: path, threads: threads)
        } catch {
            throw ServerError.loadFailed(path: path, reason: "\(error)")
        }
        let s = try Scheduler(model, configuration: configuration)
        loaded[path] = s
        return s
    }

    /// The default model's file name without `.gguf`, also accepted as its name.
    var defaultName: String? {
        defaultPath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
    }

    public func shutdown() async {
        closed = true
        for s in loaded.values { s.shutdown() }
        loaded.removeAll()
    }
}
