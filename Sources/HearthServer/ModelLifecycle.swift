import Foundation
import HearthEngine
import HearthStore

// Model lifecycle (Ollama's keep_alive): routes that call `model(_:keepAlive:)` call `finished(_:)` once their
// request is over (stream ended, failed or client gone); the keep-alive timer counts from then. A provider never
// unloads a model while a request holds it or its scheduler has queued or running sequences, so routes that only
// call `model(_:)` are safe too (their model gets the default keep-alive from that call). StoreModelProvider is
// the implementation; these defaults serve providers without a lifecycle (models stay until shutdown).
extension ModelProvider {
    public func model(_ name: String?, keepAlive: KeepAlive?) async throws -> ServedModel { try await model(name) }
    public func finished(_ model: ServedModel) async {}
    public func loadedStatus() async -> [LoadedModelStatus] { [] }
    public func unload(_ name: String?) async throws -> Bool { false }
}

/// One loaded model as /api/ps reports it.
public struct LoadedModelStatus: Sendable {
    public var model: ServedModel
    /// The manifest digest (hex) for a store model, "" for a plain file.
    public var digest: String
    /// The estimate made before loading (weights + KV cache), Ollama's `size`.
    public var estimate: MemoryEstimate
    public var keepAlive: KeepAlive
    /// When the model unloads if no request comes; nil = never (negative keep_alive). While requests run:
    /// now + keep-alive.
    public var expiresAt: Date?
    /// Requests holding the model now (through `model(_:keepAlive:)`).
    public var requests: Int
    public var statistics: SchedulerStatistics
    /// Format, family, size and quantization (the store's config blob, else the GGUF header's).
    public var config: ModelConfig?
}
