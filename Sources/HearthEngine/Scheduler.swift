import Foundation
import HearthGrammar
import HearthKernels
import HearthModels
import HearthTokenizers

/// Continuous batching for one loaded model (Orca, Yu et al. 2022; vLLM): up to `numParallel` sequences are
/// active, and every step is ONE forward pass over all of them: one token for each decoding sequence plus up to
/// `chunkSize` prompt tokens of sequences still reading their prompt (chunked prefill, as vLLM/SARATHI), so a
/// long prompt delays running streams by one chunk at most. Requests beyond `numParallel` wait in a bounded FIFO.
///
/// The steps run on the scheduler's own thread (compute goes through the model's `ThreadPool`; never GCD or
/// Swift concurrency, design.md decision 5). The server side is async: `submit` returns a stream of events, and
/// a consumer that stops listening (client gone) cancels its request, which is dropped within one step with its
/// KV blocks freed.
///
/// Batch invariance: every token's computation depends on its own sequence only (per-row kernels, attention
/// variant chosen per sequence, and for ggml's row-count-dependent K-quant kernels the place the token has in its
/// own sequence's computation, `Batch.kernelPlacement`), so a greedy request gives the same tokens and
/// log-probabilities bit for bit whether it runs alone or beside others.
public final class Scheduler: @unchecked Sendable {
    public let loaded: LoadedModel
    public let configuration: SchedulerConfiguration
    /// Largest context one sequence may have: the configured maximum capped at the model's trained context.
    public let maxContextSize: Int
    /// Default context of a request that names none.
    public let defaultContextSize: Int
    let cache: KVCache

    /// Guards everything below it; the scheduler thread waits on it when idle.
    private let lock = NSCondition()
    private var queue: [Pending] = []
    private var cancelled: Set<UInt64> = []
    private var nextId: UInt64 = 0
    private var stopping = false
    private var finished = false
    private var counters = SchedulerCounters()

    /// Owned by the scheduler thread.
    private var active: [ActiveSequence] = []
    private var freeSlots: [Int32]

    public init(_ loaded: LoadedModel, configuration: SchedulerConfiguration = SchedulerConfiguration()) throws {
        guard configuration.numParallel > 0, configuration.maxQueue >= 0, configuration.contextSize > 1,
              configuration.chunkSize > 0 else {
            throw SchedulerError.invalidRequest("scheduler settings must be positive: numParallel "
                + "\(configuration.numParallel), contextSize \(configuration.contextSize), chunkSize \(configuration.chunkSize)")
        }
        self.loaded = loaded
        self.configuration = configuration
        maxContextSize = max(2, min(max(configuration.maxContextSize, configuration.contextSize),
                                    loaded.model.info.trainedContext))
        defaultContextSize = min(configuration.contextSize, maxContextSize)
        // Every active sequence can reach the largest context at once (shared prefix blocks only lower the need).
        cache = loaded.model.makeCache(capacity: configuration.numParallel * (maxContextSize + 64))
        freeSlots = (0..<Int32(configuration.numParallel)).reversed()
        // The thread holds the scheduler until `shutdown()`.
        let thread = Thread { self.loop() }
        thread.name = "hearth-scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a request. Throws at once when the queue is full or the request cannot run (prompt too long, empty);
    /// otherwise the stream yields its tokens and a final `.done`, or finishes with a `SchedulerError`.
    /// Dropping the stream (or cancelling its consuming task) cancels the request.
    public func submit(_ request: GenerationRequest) throws -> AsyncThrowingStream<GenerationEvent, Error> {
        let prepared = try prepare(request)
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, Error>.makeStream()
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { throw SchedulerError.shutDown }
        guard queue.count < configuration.maxQueue else { throw SchedulerError.queueFull(limit: configuration.maxQueue) }
        nextId += 1
        let id = nextId
        queue.append(Pending(id: id, request: request, prompt: prepared.prompt, contextSize: prepared.context,
                             continuation: continuation, submitted: Date()))
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(id) }
        }
        lock.signal()
        return stream
    }

    /// Counts for /metrics and /api/ps.
    public var statistics: SchedulerStatistics {
        lock.lock()
        defer { lock.unlock() }
        return SchedulerStatistics(queued: queue.count, active: counters.active, usedBlocks: counters.usedBlocks,
                                   cachedBlocks: counters.cachedBlocks, blockCount: cache.blockCount,
                                   promptTokens: counters.promptTokens, cachedPromptTokens: counters.cachedPromptTokens,
                                   generatedTokens: counters.generatedTokens)
    }

    /// Stops the thread: queued and active requests finish with `SchedulerError.shutDown`. Blocks until the
    /// current step is over. The scheduler runs (and stays alive) until this is called.
    public func shutdown() {
        lock.lock()
        stopping = true
        lock.signal()
        while !finished { lock.wait() }
        lock.unlock()
    }

    private func cancel(_ id: UInt64) {
        lock.lock()
        if let i = queue.firstIndex(where: { $0.id == id }) {
            queue.remove(at: i)
        } else {
            cancelled.insert(id)
        }
        lock.signal()
        lock.unlock()
    }

    /// Checks and fits the prompt to its context (before queueing, so a bad request fails at once).
    private func prepare(_ r: GenerationRequest) throws -> (prompt: [Int32], context: Int) {
        guard !r.prompt.isEmpty else { throw SchedulerError.invalidRequest("the prompt is empty (no tokens)") }
        let vocab = loaded.model.info.vocabSize
        if let bad = r.prompt.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw SchedulerError.invalidRequest("prompt token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        if let c = r.contextSize, c < 2 {
            throw SchedulerError.invalidRequest("num_ctx \(c) is too small: at least 2 tokens are needed")
        }
        let context = min(r.contextSize ?? defaultContextSize, maxContextSize)
        guard r.prompt.count >= context else { return (r.prompt, context) }
        guard r.truncate else { throw SchedulerError.promptTooLong(tokens: r.prompt.count, context: context) }
        let keepBOS = loaded.tokenizer.bosId != nil && r.prompt.first == loaded.tokenizer.bosId
        let tail = max(1, context / 2 - (keepBOS ? 1 : 0))
        return ((keepBOS ? [r.prompt[0]] : []) + r.prompt.suffix(tail), context)
    }

    // MARK: The scheduler thread

    private func loop() {
        while true {
            lock.lock()
            while !stopping && queue.isEmpty && active.isEmpty && cancelled.isEmpty { lock.wait() }
            if stopping {
                let waiting = queue
                queue.removeAll()
                lock.unlock()
                for p in waiting { p.continuation.finish(throwing: SchedulerError.shutDown) }
                for s in active { s.continuation.finish(throwing: SchedulerError.shutDown); cache.remove(s.slot) }
                active.removeAll()
                lock.lock()
                finished = true
                lock.broadcast()
                lock.unlock()
                return
            }
            let gone = cancelled
            cancelled.removeAll()
            var admitted: [Pending] = []
            while active.count + admitted.count < configuration.numParallel, !queue.isEmpty {
                admitted.append(queue.removeFirst())
            }
            lock.unlock()

            if !gone.isEmpty {
                for s in active where gone.contains(s.id) { finish(s, error: nil) }
                active.removeAll { gone.contains($0.id) }
            }
            for p in admitted { admit(p) }
            step()
            publishCounters()
        }
    }

    private func admit(_ p: Pending) {
        guard let slot = freeSlots.popLast() else {
            p.continuation.finish(throwing: SchedulerError.failed("no free sequence slot"))  // invariant: never
            return
        }
        let s = ActiveSequence(pending: p, slot: slot, tokenizer: loaded.tokenizer,
                               tiledPrompt: p.prompt.count >= 64, slidingWindow: loaded.model.hasSlidingWindow)
        s.stats.queueDuration = Date().timeIntervalSince(p.submitted)
        // A grammar gets its own matcher per sequence (matchers hold the parse state of one output).
        if let g = p.request.options.grammar { s.constraint = GrammarConstraint(grammar: g, loaded: loaded) }
        if configuration.prefixCaching {
            // At least the last prompt token is computed: its logits give the first generated token.
            let blocks = cache.lookupPrefix(s.tokens, tiled: s.tiled, limit: p.prompt.count - 1)
            do {
                try cache.attach(slot, blocks: blocks)
                s.computed = blocks.count * cache.blockSize
                s.stats.cachedPromptTokens = s.computed
            } catch {
                s.computed = 0
            }
        }
        active.append(s)
    }

    /// One forward pass over every active sequence, then sampling for those that produced logits.
    private func step() {
        var batch = Batch()
        var owners: [ActiveSequence] = []  // per batch entry
        // Every token computed as its own sequence alone would compute it (Batch.kernelPlacement).
        var placement: [KernelPlacement] = []
        for s in active where s.isDecoding {
            if let t = s.pendingToken {
                batch.append(token: t, position: s.computed, sequence: s.slot, wantsLogits: true)
                owners.append(s)
                placement.append(.alone)
            }
        }
        var budget = configuration.chunkSize
        for s in active where !s.isDecoding && budget > 0 {
            let n = min(budget, s.promptCount - s.computed)
            for i in 0..<n {
                let p = s.computed + i
                batch.append(token: s.tokens[p], position: p, sequence: s.slot, wantsLogits: p == s.promptCount - 1)
                owners.append(s)
                placement.append(s.promptPlacement[p])
            }
            if s.tiled[s.computed] { batch.tiledSequences.insert(s.slot) }
            budget -= n
        }
        guard !batch.isEmpty else { return }
        batch.kernelPlacement = placement
        let logits: Logits
        do {
            logits = try loaded.model.forward(batch, cache: cache)
        } catch {
            let failed = Set(owners.map(\.id))
            for s in active where failed.contains(s.id) {
                finish(s, error: SchedulerError.failed("\(error)"))
            }
            active.removeAll { failed.contains($0.id) }
            return
        }
        let now = Date()
        for i in 0..<batch.count {
            let s = owners[i]
            if s.pendingToken != nil && s.isDecoding {
                s.pendingToken = nil
            }
            s.computed = max(s.computed, Int(batch.positions[i]) + 1)
        }
        var done: Set<UInt64> = []
        var failures: [UInt64: Error] = [:]
        for r in 0..<logits.rowCount {
            let s = owners[logits.batchIndices[r]]
            if s.generated == 0 && s.computed == s.promptCount {
                s.stats.promptDuration = now.timeIntervalSince(s.started)
                s.decodeStart = now
                if configuration.prefixCaching { cache.publish(s.slot, tokens: s.tokens, tiled: s.tiled) }
            }
            do {
                if let reason = try sample(s, logits.row(r), now: now) {
                    s.stats.doneReason = reason
                    done.insert(s.id)
                }
            } catch {
                // A grammar no token can continue: this sequence fails, the others go on.
                failures[s.id] = SchedulerError.failed("\(error)")
                done.insert(s.id)
            }
        }
        for s in active where done.contains(s.id) { finish(s, error: failures[s.id]) }
        active.removeAll { done.contains($0.id) }
    }

    /// Samples, streams the token, and says why the sequence ends ("stop"/"length"), if it does. Throws when the
    /// request's grammar cannot be continued.
    private func sample(_ s: ActiveSequence, _ row: ArraySlice<Float>, now: Date) throws -> String? {
        let options = s.request.options
        let limit = (options.numPredict ?? -1) < 0 ? Int.max : (options.numPredict ?? 0)
        if s.generated >= limit { return "length" }
        let id: Int32
        if let constraint = s.constraint {
            id = try s.sampler.sample(row, history: s.tokens, constraint: constraint)
            try constraint.accept(id)
        } else {
            id = s.sampler.sample(row, history: s.tokens)
        }
        let tok = loaded.tokenizer
        if !s.request.ignoreEOS && tok.isEndOfGeneration(id) { return "stop" }
        var out = GeneratedToken(id: id, piece: tok.pieceText(id), text: s.detokenizer.append(id), logprob: nil,
                                 topLogprobs: [])
        let stopped = s.stopFilter.push(&out.text)
        if options.logprobs || options.topLogprobs > 0 {
            let lp = LogProbs(row)
            out.logprob = lp.logprob(row, id)
            out.topLogprobs = lp.top(row, options.topLogprobs).map { ($0.token, tok.pieceText($0.token), $0.logprob) }
        }
        if s.generated == 0 { s.stats.timeToFirstToken = now.timeIntervalSince(s.submitted) }
        s.generated += 1
        s.tokens.append(id)
        s.tiled.append(false)
        s.pendingToken = id
        if case .terminated = s.continuation.yield(.token(out)) { return "stop" }
        if stopped { return "stop" }
        // A complete grammar allows only end-of-generation next: stop without another step.
        if s.constraint?.mustEnd == true { return "stop" }
        if s.generated >= limit || s.tokens.count >= s.contextSize { return "length" }
        return nil
    }

    /// Ends a sequence: publishes its full blocks for later prefix hits, frees its KV and slot, closes its stream.
    private func finish(_ s: ActiveSequence, error: Error?) {
        if configuration.prefixCaching && error == nil { cache.publish(s.slot, tokens: s.tokens, tiled: s.tiled) }
        cache.remove(s.slot)
        freeSlots.append(s.slot)
        lock.lock()
        counters.promptTokens += s.promptCount
        counters.cachedPromptTokens += s.stats.cachedPromptTokens
        counters.generatedTokens += s.generated
        lock.unlock()
        if let error {
            s.continuation.finish(throwing: error)
            return
        }
        var flushed = s.detokenizer.flush()
        s.stopFilter.finish(&flushed)
        if !flushed.isEmpty {
            s.continuation.yield(.token(GeneratedToken(id: -1, piece: "", text: flushed, logprob: nil, topLogprobs: [])))
        }
        var stats = s.stats
        stats.promptTokens = s.promptCount
        stats.generatedTokens = s.generated
        if let d = s.decodeStart { stats.generateDuration = Date().timeIntervalSince(d) }
        s.continuation.yield(.done(stats))
        s.continuation.finish()
    }

    private func publishCounters() {
        let used = cache.usedBlockCount, cached = cache.cachedBlockCount
        lock.lock()
        counters.active = active.count
        counters.usedBlocks = used
        counters.cachedBlocks = cached
        lock.unlock()
    }
}

/// Snapshot of a scheduler's state.
public struct SchedulerStatistics: Sendable {
    public var queued: Int
    public var active: Int
    /// KV blocks referenced by active sequences.
    public var usedBlocks: Int
    /// KV blocks findable by prefix lookups.
    public var cachedBlocks: Int
    public var blockCount: Int
    /// Totals over finished requests.
    public var promptTokens: Int
    public var cachedPromptTokens: Int
    public var generatedTokens: Int
}

struct SchedulerCounters {
    var active = 0, usedBlocks = 0, cachedBlocks = 0, promptTokens = 0, cachedPromptTokens = 0, generatedTokens = 0
}

/// A request waiting for a sequence slot.
struct Pending {
    let id: UInt64
    let request: GenerationRequest
    let prompt: [Int32]
    let contextSize: Int
    let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    let submitted: Date
}

/// A request being computed; only the scheduler thread touches it.
final class ActiveSequence {
    let id: UInt64
    let slot: Int32
    let request: GenerationRequest
    let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
    let promptCount: Int
    let contextSize: Int
    let submitted: Date
    let started = Date()
    var decodeStart: Date?
    /// Prompt then generated tokens.
    var tokens: [Int32]
    /// Per position: computed with the tiled attention variant (the prompt of a ≥ 64-token request, as
    /// llama.cpp computes a prompt in one batch) or not (short prompts and generated tokens).
    var tiled: [Bool]
    /// Per prompt position: its place in the piece llama.cpp computes it in (`Batch.promptPieces` of the whole
    /// prompt), whatever chunk this scheduler computes it in.
    let promptPlacement: [KernelPlacement]
    /// Positions whose K/V are in the cache.
    var computed = 0
    var generated = 0
    /// Sampled and streamed, not yet in the cache (the next step feeds it).
    var pendingToken: Int32?
    var sampler: Sampler
    var detokenizer: Detokenizer
    var stopFilter: StopFilter
    /// The request's grammar (GenerateOptions.grammar) with this sequence's parse state.
    var constraint: GrammarConstraint?
    var stats = GenerationStats()

    init(pending p: Pending, slot: Int32, tokenizer: any Tokenizer, tiledPrompt: Bool, slidingWindow: Bool) {
        id = p.id
        self.slot = slot
        request = p.request
        continuation = p.continuation
        promptCount = p.prompt.count
        contextSize = p.contextSize
        submitted = p.submitted
        tokens = p.prompt
        tiled = Array(repeating: tiledPrompt, count: p.prompt.count)
        var placement: [KernelPlacement] = []
        placement.reserveCapacity(p.prompt.count)
        for piece in Batch.promptPieces(count: p.prompt.count, slidingWindow: slidingWindow) {
            for i in piece.indices { placement.append(KernelPlacement(index: i - piece.lowerBound, count: piece.count)) }
        }
        promptPlacement = placement
        sampler = Sampler(p.request.options.sampling)
        stopFilter = StopFilter(p.request.stop)
        detokenizer = tokenizer.makeDetokenizer()
    }

    var isDecoding: Bool { computed >= promptCount }
}

/// Stop strings over streamed text (as llama.cpp's server does): text that could be the start of a stop string
/// is held back until the next tokens decide; at the first full match the text is cut before it.
struct StopFilter {
    let stops: [String]
    private var held = ""
    private(set) var matched = false

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Replaces `text` (the new text of one token) with what may be streamed now; true when a stop string matched.
    mutating func push(_ text: inout String) -> Bool {
        guard !stops.isEmpty, !matched else { return matched }
        held += text
        var cut: String.Index?
        for stop in stops {
            if let r = held.range(of: stop), cut.map({ r.lowerBound < $0 }) ?? true { cut = r.lowerBound }
        }
        if let cut {
            text = String(held[..<cut])
            held = ""
            matched = true
            return true
        }
        // Hold back the longest tail of the text that a stop string starts with.
        var keep = 0
        for stop in stops {
            for n in stride(from: min(stop.count, held.count), to: keep, by: -1) where held.hasSuffix(stop.prefix(n)) {
                keep = n
                break
            }
        }
        text = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return false
    }

    /// At the end of generation: the held text, unless a stop string matched (then nothing more is streamed).
    mutating func finish(_ tail: inout String) {
        if matched { tail = ""; return }
        tail = held + tail
        held = ""
    }
}
