import Foundation

/// SplitMix64-seeded xoshiro256** (Blackman & Vigna 2018): small, fast, reproducible across platforms.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func next() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
}

/// The sampler chain, in llama.cpp's default order (common/sampling.cpp `common_sampler_init`, stages as
/// src/llama-sampler.cpp): logit bias → penalties (repeat, frequency, presence) → top-k → typical-p → top-p →
/// min-p → temperature → draw; with mirostat on: logit bias → temperature → mirostat (1 or 2).
///
/// Temperature 0 is greedy: the arg-max of the raw logits (plus logit bias and the grammar mask), without
/// penalties, as Ollama's sampler does, so the same file and prompt give llama.cpp's greedy tokens.
///
/// A grammar constraint is applied the way llama.cpp's `common_sampler_sample` does: draw from the unmasked chain,
/// keep the token if the grammar accepts it, otherwise mask every token the grammar rejects and run the chain again.
/// Most steps then cost one token check instead of a vocabulary-wide mask.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SeededRandom
    /// Mirostat's running maximum surprise, starting at 2·tau.
    public private(set) var mu: Float

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SeededRandom(seed: options.seed ?? UInt64.random(in: 0...UInt64.max))
        mu = 2 * options.mirostatTau
    }

    /// One token from `logits`; `history` (prompt and generated tokens) feeds the penalties.
    public mutating func sample(_ logits: ArraySlice<Float>, history: [Int32]) -> Int32 {
        sample(logits, history: history, allowed: nil) ?? Sampler.argmax(logits)
    }

    /// One token under a grammar: nil only when the grammar allows no token at all.
    public mutating func sample(_ logits: ArraySlice<Float>, history: [Int32], constraint: GrammarConstraint?) throws -> Int32 {
        guard let constraint else { return sample(logits, history: history) }
        if let first = sample(logits, history: history, allowed: nil), constraint.allows(first) { return first }
        let mask = try constraint.mask()
        guard let id = sample(logits, history: history, allowed: mask) else { throw constraint.noTokenError() }
        return id
    }

    /// The chain over the tokens whose bit is set in `allowed` (all when nil); nil when none is left.
    public mutating func sample(_ logits: ArraySlice<Float>, history: [Int32], allowed: [UInt64]?) -> Int32? {
        // Greedy with nothing to adjust: the argmax of the row as it is (no copy of a 150k-entry vocabulary, once
        // per sequence and step on the scheduler thread while the compute threads wait).
        if options.temperature <= 0 && allowed == nil && options.logitBias.isEmpty {
            guard !logits.isEmpty else { return nil }
            let best = Sampler.argmax(logits)
            return logits[logits.startIndex + Int(best)] > -.infinity ? best : nil
        }
        var values = Array(logits)
        if let allowed {
            for i in values.indices where !allowed.allows(Int32(i)) { values[i] = -.infinity }
        }
        for (t, bias) in options.logitBias where t >= 0 && Int(t) < values.count { values[Int(t)] += bias }
        if options.temperature <= 0 {
            let best = Sampler.argmax(values[...])
            return values[Int(best)] > -.infinity ? best : nil
        }
        if options.mirostat == 0 { applyPenalties(&values, history: history) }
        // Candidates: finite logits only (masked and banned tokens never come back).
        var candidates: [Int]
        if options.mirostat == 0 && options.topK > 0 && options.topK < values.count {
            candidates = Sampler.topIndices(values, options.topK).filter { values[$0] > -.infinity }
        } else {
            candidates = values.indices.filter { values[$0] > -.infinity }
            candidates.sort { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        }
        guard !candidates.isEmpty else { return nil }
        if options.mirostat != 0 { return mirostatDraw(values, candidates) }
        if options.typicalP < 1 { candidates = Sampler.typical(values, candidates, options.typicalP) }
        if options.topP < 1 {
            let probs = Sampler.softmax(candidates.map { values[$0] })
            var cum: Float = 0
            for (i, p) in probs.enumerated() {
                cum += p
                if cum >= options.topP { candidates.removeLast(candidates.count - i - 1); break }
            }
        }
        if options.minP > 0, let top = candidates.first {
            // llama.cpp compares logits: keep l ≥ max + log(min_p), at least one token.
            let cut = values[top] + logf(options.minP)
            let keep = max(1, candidates.firstIndex { values[$0] < cut } ?? candidates.count)
            candidates.removeLast(candidates.count - keep)
        }
        let probs = Sampler.softmax(candidates.map { values[$0] / options.temperature })
        return Int32(candidates[draw(probs)])
    }

    /// Repeat penalty (CTRL, Keskar et al. 2019: divide positive logits, multiply negative ones) and OpenAI's
    /// frequency/presence penalties, for each distinct token in the last `repeatLastN` of `history`.
    func applyPenalties(_ values: inout [Float], history: [Int32]) {
        let o = options
        guard o.repeatLastN != 0, o.repeatPenalty != 1 || o.frequencyPenalty != 0 || o.presencePenalty != 0 else { return }
        let window = o.repeatLastN < 0 ? history[...] : history.suffix(o.repeatLastN)
        var counts: [Int32: Int] = [:]
        for t in window { counts[t, default: 0] += 1 }
        for (t, count) in counts where t >= 0 && Int(t) < values.count {
            var v = values[Int(t)]
            v = v <= 0 ? v * o.repeatPenalty : v / o.repeatPenalty
            v -= Float(count) * o.frequencyPenalty + o.presencePenalty
            values[Int(t)] = v
        }
    }

    /// Locally typical sampling as llama.cpp: keep the tokens whose surprise is closest to the entropy until their
    /// probability mass exceeds p; the survivors go back in logit order for the next stage.
    static func typical(_ values: [Float], _ candidates: [Int], _ p: Float) -> [Int] {
        let probs = softmax(candidates.map { values[$0] })
        var entropy: Float = 0
        for q in probs where q > 0 { entropy -= q * logf(q) }
        let order = probs.indices.sorted { a, b in
            let sa = abs(-logf(probs[a]) - entropy), sb = abs(-logf(probs[b]) - entropy)
            return sa < sb || (sa == sb && a < b)
        }
        var cum: Float = 0
        var keep = order.count
        for (i, idx) in order.enumerated() {
            cum += probs[idx]
            if cum > p { keep = i + 1; break }
        }
        return order.prefix(keep).sorted().map { candidates[$0] }
    }

    /// Mirostat 1 or 2 over `candidates` (sorted by logit), after temperature; updates `mu`.
    private mutating func mirostatDraw(_ values: [Float], _ sorted: [Int]) -> Int32 {
        let t = options.temperature
        var candidates = sorted
        var probs = Sampler.softmax(candidates.map { values[$0] / t })
        if options.mirostat == 1 {
            // Estimate the Zipf exponent from the top m = 100 tokens, then the k that gives surprise mu.
            var sumTB: Float = 0, sumTT: Float = 0
            var i = 0
            while i < 99 && i < probs.count - 1 {
                let ti = logf(Float(i + 2) / Float(i + 1)), bi = logf(probs[i] / probs[i + 1])
                sumTB += ti * bi
                sumTT += ti * ti
                i += 1
            }
            let sHat = sumTT > 0 ? sumTB / sumTT : 1
            let eps = sHat - 1
            let k = powf((eps * powf(2, mu)) / (1 - powf(Float(values.count), -eps)), 1 / sHat)
            let keep = k.isFinite ? max(1, min(Int(k), candidates.count)) : candidates.count
            candidates.removeLast(candidates.count - keep)
        } else {
            let keep = max(1, probs.firstIndex { -log2f($0) > mu } ?? probs.count)
            candidates.removeLast(candidates.count - keep)
        }
        probs = Sampler.softmax(candidates.map { values[$0] / t })
        let idx = draw(probs)
        mu -= options.mirostatEta * (-log2f(probs[idx]) - options.mirostatTau)
        return Int32(candidates[idx])
    }

    /// An index drawn from `probs` (which sum to 1).
    private mutating func draw(_ probs: [Float]) -> Int {
        var r = Float(Double(rng.next() >> 11) * 0x1p-53)
        for (i, p) in probs.enumerated() {
            r -= p
            if r <= 0 { return i }
        }
        return max(probs.count - 1, 0)
    }

    /// The first index of the largest value (NaNs never win over a number before them; a NaN first entry wins,
    /// as in a plain `>` scan). Vectorized: a greedy step scans the whole vocabulary (150k entries for Qwen2)
    /// once per sequence on the scheduler thread, while the compute threads wait.
    public static func argmax(_ logits: ArraySlice<Float>) -> Int32 {
        logits.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress, p.count > 0, !base[0].isNaN else { return 0 }
            let n = p.count
            // Pass 1: the largest non-NaN value (a lane takes a value only when strictly greater).
            var acc = SIMD16<Float>(repeating: base[0])
            var i = 0
            while i + 16 <= n {
                let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
                acc.replace(with: v, where: v .> acc)
                i += 16
            }
            var top = acc.max()
            while i < n {
                if base[i] > top { top = base[i] }
                i += 1
            }
            // Pass 2: its first index.
            for j in 0..<n where base[j] == top { return Int32(j) }
            return 0
        }
    }

    static func softmax(_ x: [Float]) -> [Float] {
        guard let m = x.max() else { return [] }
        let e = x.map { expf($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Indices of the k largest values, largest first.
    static func topIndices(_ values: [Float], _ k: Int) -> [Int] {
        var heap: [Int] = []  // min-heap by value, size ≤ k
        heap.reserveCapacity(k + 1)
        func less(_ a: Int, _ b: Int) -> Bool { values[a] < values[b] || (values[a] == values[b] && a > b) }
        for i in values.indices {
            if heap.count < k {
                heap.append(i)
                var c = heap.count - 1
                while c > 0 { let p = (c - 1) / 2; if less(heap[c], heap[p]) { heap.swapAt(c, p); c = p } else { break } }
            } else if less(heap[0], i) {
                heap[0] = i
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var m = p
                    if l < heap.count && less(heap[l], heap[m]) { m = l }
                    if r < heap.count && less(heap[r], heap[m]) { m = r }
                    if m == p { break }
                    heap.swapAt(p, m); p = m
                }
            }
        }
        return heap.sorted { less($1, $0) }
    }
}

/// Log-probabilities from the full softmax of raw logits (before temperature or penalties), as reported by
/// `--json` and the APIs' logprobs.
public struct LogProbs {
    public let logSumExp: Float

    public init(_ logits: ArraySlice<Float>) {
        var m = -Float.infinity
        for v in logits where v > m { m = v }
        var s: Double = 0
        for v in logits { s += Double(expf(v - m)) }
        logSumExp = m + Float(log(s))
    }

    public func logprob(_ logits: ArraySlice<Float>, _ token: Int32) -> Float {
        logits[logits.startIndex + Int(token)] - logSumExp
    }

    /// The `n` most likely tokens with their log-probabilities, most likely first.
    public func top(_ logits: ArraySlice<Float>, _ n: Int) -> [(token: Int32, logprob: Float)] {
        guard n > 0 else { return [] }
        let values = Array(logits)
        return Sampler.topIndices(values, min(n, values.count)).map { (Int32($0), values[$0] - logSumExp) }
    }
}
