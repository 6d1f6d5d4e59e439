import Foundation
import HearthChat
import HearthEngine
import HearthFormats
import HearthStore

/// What a route needs to serve one model: its scheduler, its chat formatter and the Modelfile's defaults.
public struct ServedModel: Sendable {
    /// The name responses echo (the store name, e.g. `smollm2:135m`, or the file's path).
    public let name: String
    public let scheduler: Scheduler
    /// The chat template (the Modelfile's TEMPLATE, else the GGUF's); `chat.template == nil` means raw prompts.
    public let chat: ChatFormatter
    /// The Modelfile's SYSTEM (a request's own system message replaces it).
    public let system: String?
    /// The Modelfile's MESSAGEs, put before a request's messages.
    public let messages: [ChatMessage]
    /// The Modelfile's PARAMETERs: defaults that a request's options override.
    public let parameters: ModelParameters

    public init(name: String, scheduler: Scheduler, chat: ChatFormatter, system: String? = nil,
                messages: [ChatMessage] = [], parameters: ModelParameters = ModelParameters()) {
        self.name = name
        self.scheduler = scheduler
        self.chat = chat
        self.system = system
        self.messages = messages
        self.parameters = parameters
    }

    public var loaded: LoadedModel { scheduler.loaded }

    /// The context a request gets when it names no num_ctx: the Modelfile's, else the scheduler's default.
    public var defaultContextSize: Int { min(parameters.numCtx ?? scheduler.defaultContextSize, scheduler.maxContextSize) }
}

/// Where the server gets a model from a request's `model` field. One protocol so the model store (names →
/// blobs, keep_alive, unloading) and plain files are served by the same routes.
public protocol ModelProvider: Sendable {
    /// The model `name` (nil or empty: the default model), loading it on first use.
    /// Throws `ServerError.modelNotFound` for a name it cannot resolve.
    func model(_ name: String?) async throws -> ServedModel
    /// `model(name)` for one request that holds the model until `finished` (ModelLifecycle.swift); `keepAlive`
    /// (nil: the default) is how long the model stays loaded after that.
    func model(_ name: String?, keepAlive: KeepAlive?) async throws -> ServedModel
    /// The request that got `model` from `model(_:keepAlive:)` is over: its keep-alive starts counting.
    func finished(_ model: ServedModel) async
    /// The loaded models with their keep-alive and scheduler state, for /api/ps (most recently used first).
    func loadedStatus() async -> [LoadedModelStatus]
    /// Unloads `name` as soon as no request uses it (now if idle); false when it is not loaded.
    func unload(_ name: String?) async throws -> Bool
    /// An embedder for `name` (a BERT-family directory, or an LLM GGUF mean-pooling its last hidden state).
    func embedder(_ name: String?) async throws -> Embedder
    /// Stops every scheduler (server shutdown).
    func shutdown() async
    /// Every model this provider can serve by name (`GET /v1/models`), loaded or not.
    func availableModels() async -> [AvailableModel]
    /// The models loaded now (`GET /metrics` reads their schedulers' statistics).
    func loadedModels() async -> [ServedModel]
}

/// A model a provider can serve, as listings show it (OpenAI's model object: id, created, owned_by).
public struct AvailableModel: Sendable, Equatable {
    /// The name a request's `model` field gives to use it.
    public var name: String
    /// When the model was created or last changed (its manifest or file).
    public var modifiedAt: Date
    /// OpenAI's `owned_by`: the namespace of a store name (`library` by default), or `hearth` for files.
    public var ownedBy: String

    public init(name: String, modifiedAt: Date, ownedBy: String) {
        self.name = name
        self.modifiedAt = modifiedAt
        self.ownedBy = ownedBy
    }
}

extension ModelProvider {
    public func availableModels() async -> [AvailableModel] { [] }
    public func loadedModels() async -> [ServedModel] { [] }

    /// The scheduler serving `name`.
    public func scheduler(for name: String?) async throws -> Scheduler { try await model(name).scheduler }
}

/// Models given by .gguf path, for apps that embed the server: `defaultPath` is the default, and only when
/// `allowOtherPaths` is set may a request name another file by its path (off by default: a request must not make
/// the server open arbitrary files; `hearth serve` uses `StoreModelProvider`, which never does). Each file is loaded once and keeps one `Scheduler` (one per loaded model: a model's thread
/// pool serves one forward pass at a time).
public actor FileModelProvider: ModelProvider {
    public let defaultPath: String?
    let configuration: SchedulerConfiguration
    let threads: Int?
    let allowOtherPaths: Bool
    private var loaded: [String: ServedModel] = [:]
    private var embedders: [String: Embedder] = [:]
    private var closed = false

    public init(defaultPath: String?, configuration: SchedulerConfiguration, threads: Int? = nil, allowOtherPaths: Bool = false) {
        self.allowOtherPaths = allowOtherPaths
        self.defaultPath = defaultPath
        self.configuration = configuration
        self.threads = threads
    }

    /// The file a request's `model` names.
    func path(for name: String?) throws -> String {
        let requested = (name ?? "").trimmingCharacters(in: .whitespaces)
        if requested.isEmpty || requested == defaultPath || requested == defaultName {
            guard let d = defaultPath else {
                throw ServerError.badRequest("the request names no model and the server has no default (hearth serve --model PATH)")
            }
            return d
        }
        guard allowOtherPaths else {
            throw ServerError.badRequest("model '\(requested)': this server serves only its default model")
        }
        guard FileManager.default.fileExists(atPath: requested),
              requested.hasSuffix(".gguf") || HFModelDirectory.isModelDirectory(requested) else {
            throw ServerError.modelNotFound(requested)
        }
        return requested
    }

    public func model(_ name: String?) async throws -> ServedModel {
        guard !closed else { throw SchedulerError.shutDown }
        let path = try path(for: name)
        if let s = loaded[path] { return s }
        let model: LoadedModel
        do {
            model = try LoadedModel(path: path, threads: threads)
        } catch {
            throw ServerError.loadFailed(path: path, reason: "\(error)")
        }
        let chat: ChatFormatter
        do { chat = try ChatFormatter(loaded: model) } catch {
            throw ServerError.loadFailed(path: path, reason: "\(error)")
        }
        let served = ServedModel(name: name ?? path, scheduler: try Scheduler(model, configuration: configuration),
                                 chat: chat)
        loaded[path] = served
        return served
    }

    public func embedder(_ name: String?) async throws -> Embedder {
        guard !closed else { throw SchedulerError.shutDown }
        let path = try path(for: name)
        if let e = embedders[path] { return e }
        do {
            let e = try Embedder(path: path, threads: threads)
            embedders[path] = e
            return e
        } catch {
            throw ServerError.loadFailed(path: path, reason: "\(error)")
        }
    }

    /// The default model's file name without `.gguf`, also accepted as its name.
    var defaultName: String? {
        defaultPath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
    }

    /// The default model (by its file name without `.gguf`) and any other file loaded by path.
    public func availableModels() async -> [AvailableModel] {
        var out: [AvailableModel] = []
        func entry(_ name: String, _ path: String) -> AvailableModel {
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
            return AvailableModel(name: name, modifiedAt: modified ?? Date(timeIntervalSince1970: 0), ownedBy: "hearth")
        }
        if let d = defaultPath, let name = defaultName { out.append(entry(name, d)) }
        for path in loaded.keys.sorted() where path != defaultPath { out.append(entry(path, path)) }
        return out
    }

    public func loadedModels() async -> [ServedModel] {
        loaded.keys.sorted().compactMap { loaded[$0] }
    }

    public func shutdown() async {
        closed = true
        for s in loaded.values { s.scheduler.shutdown() }
        loaded.removeAll()
        embedders.removeAll()
    }
}
