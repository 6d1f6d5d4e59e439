import Foundation
import HearthEngine
import Hummingbird
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`, text exposition format 0.0.4, rendered by swift-prometheus):
///
/// - `hearth_http_requests_total{route, method, status}`: every request, by matched route and response status;
/// - `hearth_prompt_tokens_total{route}`, `hearth_generated_tokens_total{route}`: tokens of finished generations;
/// - `hearth_time_to_first_token_seconds{route}` and `hearth_inter_token_latency_seconds{route}`: histograms,
///   per choice, measured where the tokens leave the scheduler;
/// - per loaded model, read from `Scheduler.statistics` at scrape time: `hearth_queue_depth`,
///   `hearth_active_sequences`, `hearth_kv_blocks_used`, `hearth_kv_blocks_cached`, `hearth_kv_blocks_total`,
///   `hearth_prefix_cache_hit_ratio` (prompt tokens served from the prefix cache / prompt tokens, over finished
///   requests). A model that was unloaded reads 0.
///
/// One registry per server (not swift-metrics' global bootstrap), so tests and embedders can run several servers.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Models whose gauges were set, so an unloaded model's gauges go back to 0.
    private let seenModels = SeenModels()

    public init() {}

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "hearth", metricName: metric, unitName: unit, helpText: help)
    }

    static var requests: MetricNameDescriptor { name("http_requests", "total", "HTTP requests by route, method and response status.") }
    static var promptTokens: MetricNameDescriptor { name("prompt_tokens", "total", "Prompt tokens of finished generations (cached ones included).") }
    static var generatedTokens: MetricNameDescriptor { name("generated_tokens", "total", "Tokens generated.") }
    static var ttft: MetricNameDescriptor { name("time_to_first_token", "seconds", "Seconds from request arrival to the first generated token.") }
    static var itl: MetricNameDescriptor { name("inter_token_latency", "seconds", "Seconds between consecutive tokens of one sequence.") }
    static var queue: MetricNameDescriptor { name("queue_depth", "", "Requests waiting for a sequence slot.") }
    static var active: MetricNameDescriptor { name("active_sequences", "", "Sequences being computed.") }
    static var kvUsed: MetricNameDescriptor { name("kv_blocks_used", "", "KV-cache blocks referenced by active sequences.") }
    static var kvCached: MetricNameDescriptor { name("kv_blocks_cached", "", "KV-cache blocks findable by prefix lookups.") }
    static var kvTotal: MetricNameDescriptor { name("kv_blocks_total", "", "KV-cache blocks allocated.") }
    static var hitRatio: MetricNameDescriptor { name("prefix_cache_hit_ratio", "", "Prompt tokens served from the prefix cache / prompt tokens.") }

    static let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                             .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                             .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]

    func countRequest(route: String, method: String, status: Int) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", "\(status)")])
            .increment()
    }

    /// A recorder for one generation request on `route`; `start` is when the request arrived.
    func generation(route: String, start: Date) -> GenerationRecorder {
        GenerationRecorder(
            start: start,
            ttft: registry.makeDurationHistogram(descriptor: Self.ttft, labels: [("route", route)], buckets: Self.latencyBuckets),
            itl: registry.makeDurationHistogram(descriptor: Self.itl, labels: [("route", route)], buckets: Self.latencyBuckets),
            prompt: registry.makeCounter(descriptor: Self.promptTokens, labels: [("route", route)]),
            generated: registry.makeCounter(descriptor: Self.generatedTokens, labels: [("route", route)]))
    }

    /// The exposition text, with the engine gauges of `models` (the loaded ones) set first.
    func render(models: [ServedModel]) -> [UInt8] {
        var current: Set<String> = []
        for m in models {
            let s = m.scheduler.statistics
            set(m.name, queued: s.queued, active: s.active, used: s.usedBlocks, cached: s.cachedBlocks, total: s.blockCount,
                ratio: s.promptTokens > 0 ? Double(s.cachedPromptTokens) / Double(s.promptTokens) : 0)
            current.insert(m.name)
        }
        for gone in seenModels.replace(with: current).subtracting(current) {
            set(gone, queued: 0, active: 0, used: 0, cached: 0, total: 0, ratio: 0)
        }
        return registry.emitToBuffer()
    }

    private func set(_ model: String, queued: Int, active: Int, used: Int, cached: Int, total: Int, ratio: Double) {
        let labels = [("model", model)]
        registry.makeGauge(descriptor: Self.queue, labels: labels).set(Double(queued))
        registry.makeGauge(descriptor: Self.active, labels: labels).set(Double(active))
        registry.makeGauge(descriptor: Self.kvUsed, labels: labels).set(Double(used))
        registry.makeGauge(descriptor: Self.kvCached, labels: labels).set(Double(cached))
        registry.makeGauge(descriptor: Self.kvTotal, labels: labels).set(Double(total))
        registry.makeGauge(descriptor: Self.hitRatio, labels: labels).set(ratio)
    }
}

/// The set of model names seen at the last scrape, behind a lock.
final class SeenModels: @unchecked Sendable {
    private let lock = NSLock()
    private var names: Set<String> = []

    /// Stores `new` and returns the previous set plus `new` (every model that ever had gauges).
    func replace(with new: Set<String>) -> Set<String> {
        lock.lock()
        defer { lock.unlock() }
        let all = names.union(new)
        names = all
        return all
    }
}

/// Times and counts one generation request's tokens as they stream out (each choice separately).
final class GenerationRecorder: @unchecked Sendable {
    let start: Date
    let ttft: Prometheus.DurationHistogram
    let itl: Prometheus.DurationHistogram
    let prompt: Prometheus.Counter
    let generated: Prometheus.Counter
    private var last: [Int: Date] = [:]

    init(start: Date, ttft: Prometheus.DurationHistogram, itl: Prometheus.DurationHistogram, prompt: Prometheus.Counter,
         generated: Prometheus.Counter) {
        self.start = start
        self.ttft = ttft
        self.itl = itl
        self.prompt = prompt
        self.generated = generated
    }

    static func duration(_ seconds: TimeInterval) -> Duration { .nanoseconds(Int64(max(0, seconds) * 1e9)) }

    /// A token of `choice` left the scheduler now.
    func token(choice: Int) {
        let now = Date()
        if let previous = last[choice] {
            itl.record(Self.duration(now.timeIntervalSince(previous)))
        } else {
            ttft.record(Self.duration(now.timeIntervalSince(start)))
        }
        last[choice] = now
    }

    /// A choice finished.
    func done(_ stats: GenerationStats) {
        prompt.increment(by: Int64(stats.promptTokens))
        generated.increment(by: Int64(stats.generatedTokens))
    }
}

/// Counts every request by the route it matched (`context.endpointPath`, e.g. `/v1/models/{id}`; "unmatched" for
/// a path no route serves, so arbitrary URLs cannot grow the label set) and the status it got.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        do {
            let response = try await next(request, context)
            metrics.countRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                                 status: Int(response.status.code))
            return response
        } catch {
            let status = (error as? HTTPResponseError)?.status.code ?? 500
            metrics.countRequest(route: context.endpointPath ?? "unmatched", method: request.method.rawValue,
                                 status: Int(status))
            throw error
        }
    }
}

extension HearthServer {
    /// `GET /metrics`: Prometheus text format.
    func metricsResponse() async -> Response {
        let bytes = metrics.render(models: await models.loadedModels())
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
