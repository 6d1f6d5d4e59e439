import Foundation
import HearthEngine
import HearthFormats

/// What loading a model will take, estimated before it loads (as Ollama's scheduler does before it starts a
/// runner): the weights (the file's size: it is mmap'd and read whole) plus the KV cache the scheduler reserves,
/// `numParallel × (context + 64) × layers × kvHeads × headDim × 2 (K and V) × 2 bytes (F16)` — the capacity
/// `Scheduler.init` gives `makeCache` (KVCache.swift: one F16 key and one F16 value per slot per layer).
public struct MemoryEstimate: Sendable, Equatable {
    public var weights: Int64
    public var kvCache: Int64
    public var total: Int64 { weights + kvCache }

    /// Reads the GGUF header only (no weights are touched). Errors name the file.
    public init(path: String, configuration: SchedulerConfiguration) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ServerError.loadFailed(path: path, reason: "no such file") }
        weights = Int64(st.st_size)
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw ServerError.loadFailed(path: path, reason: "\(error)") }
        let arch = file.architecture ?? "llama"
        func int(_ key: String) -> Int? {
            guard let v = file.metadata("\(arch).\(key)") else { return nil }
            if let i = v.intValue { return i }
            // Per-layer arrays (some models vary the KV heads by layer): the largest bounds the cache.
            if case .array(let a) = v { return a.compactMap(\.intValue).max() }
            return nil
        }
        let layers = int("block_count") ?? 0
        let heads = int("attention.head_count") ?? 1
        let kvHeads = int("attention.head_count_kv") ?? heads
        let headDim = int("attention.key_length") ?? (int("embedding_length") ?? 0) / max(heads, 1)
        let trained = int("context_length") ?? configuration.maxContextSize
        let context = max(2, min(max(configuration.maxContextSize, configuration.contextSize), trained))
        let slots = Int64(configuration.numParallel) * Int64(context + 64)
        kvCache = slots * Int64(layers) * Int64(kvHeads) * Int64(headDim) * 2 * 2
    }

    public init(weights: Int64, kvCache: Int64) {
        self.weights = weights
        self.kvCache = kvCache
    }

    /// MemAvailable from /proc/meminfo (the kernel's estimate of memory available without swapping), in bytes;
    /// nil where that file is absent (then no check is made).
    public static func available() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kb = Int64(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }
}

/// Bytes as people read them (binary units, one decimal), for errors.
func humanBytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var v = Double(n), i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
}
