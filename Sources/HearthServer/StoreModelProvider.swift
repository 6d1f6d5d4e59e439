import Foundation
import HearthChat
import HearthEngine
import HearthFormats
import HearthStore

/// The server's models: a request's `model` resolved through the model store (`smollm2:135m`; `smollm2` means
/// `smollm2:latest`), or a `.gguf` path / Hugging Face directory, or `hearth serve --model`'s default when empty.
/// A store model is served with its Modelfile's TEMPLATE, SYSTEM, MESSAGEs and PARAMETERs.
///
/// Lifecycle, as Ollama's scheduler (server/sched.go): a model loads on first use and stays loaded for its
/// keep-alive after its last request finished (`keep_alive`, default HEARTH_KEEP_ALIVE or 5 minutes; 0 unloads
/// when the request is done; negative never). At most `maxLoaded` (HEARTH_MAX_LOADED_MODELS, default 3) are
/// loaded; loading another evicts the least recently used idle one. Before loading, the weights + KV cache
/// estimate must fit in MemAvailable, after evicting idle models if needed; otherwise the request fails with an
/// error naming both figures. A model is idle when no request holds it and its scheduler has nothing queued or
/// running, so a model is never unloaded under a running stream.
public actor StoreModelProvider: ModelProvider {
    public let store: ModelStore
    /// `hearth serve --model`: a store name or a path, used when a request names no model.
    public let defaultModel: String?
    let configuration: SchedulerConfiguration
    let threads: Int?
    public let defaultKeepAlive: KeepAlive
    public let maxLoaded: Int
    /// Where MemAvailable comes from (replaceable for tests of the refusal).
    let available: @Sendable () -> Int64?

    final class Entry {
        let served: ServedModel
        let digest: String
        let estimate: MemoryEstimate
        let config: ModelConfig?
        var keepAlive: KeepAlive
        var leases = 0
        var lastUsed = Date()
        /// When the model last became idle (nil while busy); the keep-alive counts from here.
        var idleSince: Date? = Date()
        /// `unload` was asked while requests ran: unload once idle.
        var unloadWhenIdle = false

        init(served: ServedModel, digest: String, estimate: MemoryEstimate, config: ModelConfig?, keepAlive: KeepAlive) {
            self.served = served
            self.config = config
            self.digest = digest
            self.estimate = estimate
            self.keepAlive = keepAlive
        }
    }

    private var entries: [String: Entry] = [:]
    private var loading: [String: Task<Void, Error>] = [:]
    private var embedders: [String: Embedder] = [:]
    private var reaper: Task<Void, Never>?
    private var closed = false

    public init(store: ModelStore, defaultModel: String?, configuration: SchedulerConfiguration,
                threads: Int? = nil, keepAlive: KeepAlive = .standard, maxLoaded: Int = 3,
                available: @escaping @Sendable () -> Int64? = { MemoryEstimate.available() }) {
        self.store = store
        self.defaultModel = defaultModel
        self.configuration = configuration
        self.threads = threads
        self.defaultKeepAlive = keepAlive
        self.maxLoaded = max(1, maxLoaded)
        self.available = available
    }

    /// HEARTH_MAX_LOADED_MODELS (default 3); not a positive integer: an error naming it.
    public static func maxLoadedFromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
        guard let raw = env["HEARTH_MAX_LOADED_MODELS"], !raw.isEmpty else { return 3 }
        guard let v = Int(raw.trimmingCharacters(in: .whitespaces)), v > 0 else {
            throw ServerError.badRequest("HEARTH_MAX_LOADED_MODELS=\(raw): expected a positive integer")
        }
        return v
    }

    // MARK: Resolving names

    /// The model a request names: its key (store name or path) and what the store says about it.
    public func resolve(_ name: String?) throws -> ResolvedModel {
        let requested = (name ?? "").trimmingCharacters(in: .whitespaces)
        if requested.isEmpty {
            guard let d = defaultModel else {
                throw ServerError.badRequest("the request names no model (field 'model') and the server has no default "
                    + "(hearth serve --model NAME)")
            }
            return try resolveArgument(d)
        }
        if let d = defaultModel, requested == d || requested == Self.stem(d) { return try resolveArgument(d) }
        return try resolveStoreName(requested)
    }

    /// A name a request gives: only a model in the store. A path (absolute, relative, `..`, a .gguf file or a model
    /// directory) is refused without touching the file system, so a request (or a web page, or a caller holding the
    /// API key) cannot make the server open arbitrary files (issue 9, "security defaults"). The operator's
    /// `hearth serve --model PATH` stays served under its path and its file name.
    func resolveStoreName(_ requested: String) throws -> ResolvedModel {
        if ModelStore.looksLikePath(requested) || requested.hasPrefix("~") || requested.contains("\\") {
            throw ServerError.badRequest("model '\(requested)': a path is not a model name; name a model in the store "
                + "(hearth list), or start the server with hearth serve --model PATH")
        }
        let name: ModelName
        do { name = try ModelName(parsing: requested) } catch {
            throw ServerError.badRequest("model '\(requested)': \(error)")
        }
        do {
            return try store.resolved(try store.require(name))
        } catch let e as StoreError {
            switch e {
            case .modelNotFound, .invalidName, .io: throw ServerError.modelNotFound(requested)
            default: throw ServerError.loadFailed(path: requested, reason: e.description)
            }
        }
    }

    /// A store name or a path to a .gguf file or Hugging Face model directory.
    func resolveArgument(_ argument: String) throws -> ResolvedModel {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isDir), isDir.boolValue {
            guard HFModelDirectory.isModelDirectory(argument) else { throw ServerError.modelNotFound(argument) }
            return ResolvedModel(path: argument)
        }
        do {
            return try store.resolve(argument)
        } catch let e as StoreError {
            switch e {
            case .modelNotFound, .invalidName, .io: throw ServerError.modelNotFound(argument)
            default: throw ServerError.loadFailed(path: argument, reason: e.description)
            }
        }
    }

    /// The key a model is loaded under: its store name, else its path.
    static func key(_ r: ResolvedModel) -> String { r.name?.description ?? r.path }

    /// A file's name without `.gguf` (accepted as the default model's name).
    static func stem(_ path: String) -> String { URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent }

    // MARK: ModelProvider

    public func model(_ name: String?) async throws -> ServedModel {
        // Routes that do not report when they finish: the model counts as used now, with the default keep-alive.
        let entry = try await acquire(name, keepAlive: nil)
        entry.leases -= 1
        entry.idleSince = Date()
        return entry.served
    }

    public func model(_ name: String?, keepAlive: KeepAlive?) async throws -> ServedModel {
        try await acquire(name, keepAlive: keepAlive).served
    }

    public func finished(_ model: ServedModel) async {
        guard let e = entries[model.name], e.served.scheduler === model.scheduler else { return }
        e.leases = max(0, e.leases - 1)
        e.lastUsed = Date()
        if e.leases == 0 {
            e.idleSince = Date()
            if e.keepAlive == .seconds(0) || e.unloadWhenIdle, isIdle(e) { await remove(model.name) }
        }
    }

    public func loadedModels() async -> [ServedModel] {
        entries.values.sorted { $0.lastUsed > $1.lastUsed }.map(\.served)
    }

    /// The store's models (and `--model`'s file when it is a path), for `GET /v1/models`.
    public func availableModels() async -> [AvailableModel] {
        var out = ((try? store.list()) ?? []).map {
            AvailableModel(name: $0.name.description, modifiedAt: $0.modified, ownedBy: $0.name.namespace)
        }
        if let d = defaultModel, ModelStore.looksLikePath(d) || FileManager.default.fileExists(atPath: d) {
            let modified = (try? FileManager.default.attributesOfItem(atPath: d)[.modificationDate] as? Date) ?? nil
            out.append(AvailableModel(name: Self.stem(d), modifiedAt: modified ?? Date(timeIntervalSince1970: 0), ownedBy: "hearth"))
        }
        return out
    }

    public func loadedStatus() async -> [LoadedModelStatus] {
        let now = Date()
        return entries.values.sorted { $0.lastUsed > $1.lastUsed }.map { e in
            let stats = e.served.scheduler.statistics
            let busy = e.leases > 0 || stats.active > 0 || stats.queued > 0
            let expires = e.keepAlive.duration.map { (busy ? now : (e.idleSince ?? now)).addingTimeInterval($0) }
            return LoadedModelStatus(model: e.served, digest: e.digest, estimate: e.estimate, keepAlive: e.keepAlive,
                                     expiresAt: expires, requests: e.leases, statistics: stats, config: e.config)
        }
    }

    public func unload(_ name: String?) async throws -> Bool {
        let key = Self.key(try resolve(name))
        if let t = loading[key] { _ = try? await t.value }
        guard let e = entries[key] else { return false }
        e.keepAlive = .seconds(0)
        if isIdle(e) {
            await remove(key)
        } else {
            e.unloadWhenIdle = true
        }
        return true
    }

    public func embedder(_ name: String?) async throws -> Embedder {
        guard !closed else { throw SchedulerError.shutDown }
        let r = try resolve(name)
        let key = Self.key(r)
        if let e = embedders[key] { return e }
        let threads = self.threads
        let path = r.path
        let e: Embedder
        do {
            e = try await runBlocking("hearth-load") { try Embedder(path: path, threads: threads) }
        } catch {
            throw ServerError.loadFailed(path: path, reason: "\(error)")
        }
        embedders[key] = e
        return e
    }

    public func shutdown() async {
        closed = true
        reaper?.cancel()
        reaper = nil
        let all = entries.values.map(\.served.scheduler)
        entries.removeAll()
        embedders.removeAll()
        for s in all { await runDetached("hearth-unload") { s.shutdown() } }
    }

    // MARK: Loading and unloading

    private func acquire(_ name: String?, keepAlive: KeepAlive?) async throws -> Entry {
        guard !closed else { throw SchedulerError.shutDown }
        let resolved = try resolve(name)
        let key = Self.key(resolved)
        if entries[key] == nil {
            if let t = loading[key] {
                _ = try await t.value
            } else {
                try await load(resolved, key: key)
            }
        }
        guard let e = entries[key] else { throw SchedulerError.shutDown }
        e.leases += 1
        e.lastUsed = Date()
        e.idleSince = nil
        e.unloadWhenIdle = false
        e.keepAlive = keepAlive ?? defaultKeepAlive
        return e
    }

    private func load(_ r: ResolvedModel, key: String) async throws {
        if r.path.hasSuffix("/") || HFModelDirectory.isModelDirectory(r.path) {
            throw ServerError.badRequest("\(key) is an embedding model (a Hugging Face directory), not a language model "
                + "for generate or chat")
        }
        var config = configuration
        if let n = r.parameters.numCtx {
            config.contextSize = n
            config.maxContextSize = max(config.maxContextSize, n)
        }
        let settings = config
        let estimate = try MemoryEstimate(path: r.path, configuration: settings)
        let threads = self.threads
        // The task is registered before the first suspension and installs the entry itself, so requests that
        // arrive while the model loads wait for this one load (actor reentrancy would otherwise load it once per
        // request, each load replacing and unloading the previous one under its running streams).
        let task = Task<Void, Error> {
            try await self.makeRoom(for: estimate, key: key)
            let served = try await runBlocking("hearth-load") {
                try Self.load(r, key: key, threads: threads, configuration: settings)
            }
            if self.closed {
                await runDetached("hearth-unload") { served.scheduler.shutdown() }
                throw SchedulerError.shutDown
            }
            let modelConfig = r.entry.flatMap { self.store.config($0) } ?? (try? self.store.ggufConfig(r.path))
            self.entries[key] = Entry(served: served, digest: r.entry?.manifestDigest ?? "", estimate: estimate,
                                      config: modelConfig, keepAlive: self.defaultKeepAlive)
            self.startReaper()
        }
        loading[key] = task
        defer { loading[key] = nil }
        try await task.value
    }

    /// Opens the model, its chat formatter (the Modelfile's TEMPLATE, else the GGUF's) and its scheduler.
    static func load(_ r: ResolvedModel, key: String, threads: Int?, configuration config: SchedulerConfiguration) throws
        -> ServedModel {
        let model: LoadedModel
        do { model = try LoadedModel(path: r.path, threads: threads) } catch {
            throw ServerError.loadFailed(path: key, reason: "\(error)")
        }
        let chat: ChatFormatter
        do {
            chat = try ChatFormatter(loaded: model, templateOverride: r.template,
                                     origin: r.template != nil ? "\(key): the Modelfile's TEMPLATE" : nil)
        } catch {
            throw ServerError.loadFailed(path: key, reason: "\(error)")
        }
        let scheduler: Scheduler
        do { scheduler = try Scheduler(model, configuration: config) } catch {
            throw ServerError.loadFailed(path: key, reason: "\(error)")
        }
        return ServedModel(name: key, scheduler: scheduler, chat: chat, system: r.system,
                           messages: r.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                           parameters: r.parameters)
    }

    /// Evicts idle models (least recently used first) until one more fits under `maxLoaded` and the estimate fits
    /// in MemAvailable; throws when it cannot.
    private func makeRoom(for estimate: MemoryEstimate, key: String) async throws {
        func lruIdle() -> String? {
            entries.filter { isIdle($0.value) }.min { $0.value.lastUsed < $1.value.lastUsed }?.key
        }
        // Other models loading now count; this one (registered in `loading` before makeRoom runs) does not.
        while entries.count + loading.keys.filter({ $0 != key }).count >= maxLoaded {
            guard let victim = lruIdle() else {
                throw ServerError.busy("the most models that may be loaded (HEARTH_MAX_LOADED_MODELS=\(maxLoaded)) are "
                    + "loaded and all are serving requests; \(key) cannot load until one is idle")
            }
            await remove(victim)
        }
        while let free = available(), estimate.total > free {
            guard let victim = lruIdle() else {
                throw ServerError.insufficientMemory(
                    "\(key) needs \(humanBytes(estimate.total)) (weights \(humanBytes(estimate.weights)) + KV cache "
                    + "\(humanBytes(estimate.kvCache)) for HEARTH_NUM_PARALLEL=\(configuration.numParallel) sequences) but "
                    + "only \(humanBytes(free)) of memory is available (MemAvailable)"
                    + (entries.isEmpty ? "" : " with \(entries.count) busy model(s) loaded")
                    + "; lower HEARTH_NUM_PARALLEL or HEARTH_CONTEXT_LENGTH, or free memory")
            }
            await remove(victim)
        }
    }

    private func isIdle(_ e: Entry) -> Bool {
        guard e.leases == 0 else { return false }
        let s = e.served.scheduler.statistics
        return s.active == 0 && s.queued == 0
    }

    private func remove(_ key: String) async {
        guard let e = entries.removeValue(forKey: key) else { return }
        let scheduler = e.served.scheduler
        await runDetached("hearth-unload") { scheduler.shutdown() }
    }

    // MARK: Keep-alive timers

    private func startReaper() {
        guard reaper == nil else { return }
        reaper = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 200_000_000)
                guard let self, await self.reap() else { return }
            }
        }
    }

    /// One pass of the keep-alive timers; false once the provider is closed.
    private func reap() async -> Bool {
        guard !closed else { return false }
        let now = Date()
        for (key, e) in entries {
            guard isIdle(e) else {
                e.idleSince = nil
                continue
            }
            let since = e.idleSince ?? now
            e.idleSince = since
            if e.unloadWhenIdle { await remove(key); continue }
            if let d = e.keepAlive.duration, now.timeIntervalSince(since) >= d { await remove(key) }
        }
        return true
    }
}
