import Foundation

/// Sampling settings, with Ollama's defaults (ollama/api/types.go `DefaultOptions`).
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK: Int = 40
    public var topP: Float = 0.9
    public var minP: Float = 0.0
    public var repeatPenalty: Float = 1.1
    public var repeatLastN: Int = 64
    /// nil = a random seed.
    public var seed: UInt64? = nil

    public init() {}
}

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

/// The sampler chain, in llama.cpp's default order: repeat penalty → top-k → top-p → min-p → temperature →
/// draw. Temperature 0 is greedy: the arg-max of the raw logits, as Ollama's sampler does (no penalties), so
/// the same file and prompt give llama.cpp's greedy tokens.
public struct Sampler: Sendable {
    public let options: SamplingOptions
    private var rng: SeededRandom

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SeededRandom(seed: options.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    public mutating func sample(_ logits: ArraySlice<Float>, history: [Int32]) -> Int32 {
        if options.temperature <= 0 { return Sampler.argmax(logits) }
        var values = Array(logits)
        // Repeat penalty (Keskar et al. 2019, CTRL) as llama.cpp applies it: divide positive logits, multiply
        // negative ones, once per distinct token among the last `repeatLastN`.
        if options.repeatPenalty != 1, options.repeatLastN != 0 {
            let window = options.repeatLastN < 0 ? history[...] : history.suffix(options.repeatLastN)
            for t in Set(window) where t >= 0 && Int(t) < values.count {
                let v = values[Int(t)]
                values[Int(t)] = v > 0 ? v / options.repeatPenalty : v * options.repeatPenalty
            }
        }
        var candidates = Array(values.indices)
        if options.topK > 0 && options.topK < candidates.count {
            candidates = Sampler.topIndices(values, options.topK)
        } else {
            candidates.sort { values[$0] > values[$1] }
        }
        // Probabilities before temperature, for top-p and min-p (llama.cpp computes them with softmax there).
        var probs = Sampler.softmax(candidates.map { values[$0] })
        if options.topP < 1 {
            var cum: Float = 0
            var keep = candidates.count
            for (i, p) in probs.enumerated() {
                cum += p
                if cum >= options.topP { keep = i + 1; break }
            }
            candidates.removeLast(candidates.count - keep)
            probs.removeLast(probs.count - keep)
        }
        if options.minP > 0, let pMax = probs.first {
            let keep = max(1, probs.firstIndex { $0 < options.minP * pMax } ?? probs.count)
            candidates.removeLast(candidates.count - keep)
        }
        let final = Sampler.softmax(candidates.map { values[$0] / options.temperature })
        var r = Float(Double(rng.next() >> 11) * 0x1p-53)
        for (i, p) in final.enumerated() {
            r -= p
            if r <= 0 { return Int32(candidates[i]) }
        }
        return Int32(candidates.last ?? 0)
    }

    public static func argmax(_ logits: ArraySlice<Float>) -> Int32 {
        var best = logits.startIndex
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return Int32(best - logits.startIndex)
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
