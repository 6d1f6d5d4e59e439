import ArgumentParser
import Foundation
import Hearth

/// `hearth matmul-bench` (hidden, for kernel work): times `matmul` on a model's own weight tensors for several
/// token counts, the small-batch kernel against the kernel it replaces (`SmallBatch.maxTokens` = 0), alternating
/// the two in one process so both see the same machine load, and prints the fastest and median times and their
/// ratios. Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so on a shared, oversubscribed machine a
/// run that is preempted for a scheduler slice is not counted as slow; use -t 1 (other threads' time is not
/// counted). On such a machine the ratios are the figures to trust, not the absolute times.
struct MatmulBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul-bench", abstract: "A/B timing of the small-batch matmul kernel (development).",
        shouldDisplay: false)

    @Argument(help: "A .gguf file.") var model: String
    @Option(name: .long, help: "Tensor names (comma-separated); default: the first layer's matrices and the output projection.")
    var tensors: String?
    @Option(name: .long, help: "Token counts, comma-separated.") var tokens: String = "1,2,4,8,16"
    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Alternating A/B rounds.") var repetitions: Int = 15
    @Option(name: [.customShort("t"), .customLong("threads")], help: "Threads.") var threads: Int = 1
    @Option(name: .long, help: "Instead of single tensors: whole decode steps of this many streams (each after an 8-token prompt).")
    var streams: Int?
    @Option(name: .long, help: "Decode steps per run with --streams.") var steps: Int = 16
    @Flag(name: .long, help: "Place every token alone (as a server's decode step does: Q4_K/Q6_K take their one-token kernels).")
    var alone = false

    func run() throws {
        guard repetitions >= 1, threads >= 1 else { throw CLIError("-r and -t must be at least 1") }
        let counts = tokens.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 }) else { throw CLIError("--tokens: expected counts ≥ 1, e.g. 1,8") }
        let file: GGUFFile
        do { file = try GGUFFile(path: model) } catch { throw CLIError("\(error)") }
        let names = tensors.map { $0.split(separator: ",").map(String.init) }
            ?? ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight",
                file.tensor("output.weight") != nil ? "output.weight" : "token_embd.weight"]
        let pool = ThreadPool(threads: threads)
        let saved = SmallBatch.maxTokens
        defer { SmallBatch.maxTokens = saved }
        if let streams {
            guard streams >= 1, steps >= 1 else { throw CLIError("--streams and --steps must be at least 1") }
            try decodeSteps(file, pool: pool, streams: streams, on: max(saved, 2))
            return
        }
        print("| tensor | type | rows×cols | tokens | old min ms | new min ms | new/old (min) | new/old (median) |")
        print("|---|---|---|---|---|---|---|---|")
        for name in names {
            guard let w = file.tensor(name), w.shape.count == 2 else { throw CLIError("\(model): no matrix named \(name)") }
            let maxT = counts.max() ?? 1
            var x = [Float](repeating: 0, count: maxT * w.columns)
            var rng = SeededRandom(seed: 7)
            for i in x.indices { x[i] = Float.random(in: -1...1, using: &rng) }
            var y = [Float](repeating: 0, count: maxT * w.rows)
            for n in counts {
                func time(_ limit: Int) -> Double {
                    SmallBatch.maxTokens = limit
                    let t0 = threadCPUNanoseconds()
                    x.withUnsafeBufferPointer { xs in
                        y.withUnsafeMutableBufferPointer { ys in
                            matmul(w, xs.baseAddress!, nTokens: n, ys.baseAddress!, pool: pool,
                                   placement: alone ? Array(repeating: .alone, count: n) : nil)
                        }
                    }
                    return Double(threadCPUNanoseconds() - t0) / 1e6
                }
                let on = max(saved, 2)
                _ = time(0); _ = time(on)  // warm-up
                var old: [Double] = [], new: [Double] = []
                for _ in 0..<repetitions {
                    old.append(time(0))
                    new.append(time(on))
                }
                let lo = old.min() ?? 0, ln = new.min() ?? 0
                print("| \(name) | \(w.type) | \(w.rows)×\(w.columns) | \(n) | \(String(format: "%.3f", lo)) | "
                      + "\(String(format: "%.3f", ln)) | \(String(format: "%.2f", ln / lo)) | "
                      + "\(String(format: "%.2f", median(new) / median(old))) |")
            }
        }
    }

    /// Decode steps of `streams` sequences through the model (one `forward` of one token per stream), CPU time
    /// per step, old and new kernels alternating; also checks that both give the same logits bits.
    func decodeSteps(_ file: GGUFFile, pool: ThreadPool, streams: Int, on: Int) throws {
        let model: LanguageModel
        do { model = try ModelRegistry.load(file, pool: pool) } catch { throw CLIError("\(error)") }
        let vocab = model.info.vocabSize
        func run(_ limit: Int) throws -> (ms: Double, logits: [UInt32]) {
            SmallBatch.maxTokens = limit
            let cache = model.makeCache(capacity: streams * ((8 + steps) / 32 * 32 + 64))
            var prompt = Batch()
            for s in 0..<streams {
                for i in 0..<8 {
                    prompt.append(token: Int32((s * 31 + i * 7) % vocab), position: i, sequence: Int32(s), wantsLogits: i == 7)
                }
            }
            _ = try model.forward(prompt, cache: cache)
            var total: UInt64 = 0
            var last: [UInt32] = []
            for step in 0..<steps {
                var b = Batch()
                for s in 0..<streams {
                    b.append(token: Int32((s * 131 + step * 17) % vocab), position: 8 + step, sequence: Int32(s), wantsLogits: true)
                }
                let t0 = threadCPUNanoseconds()
                let l = try model.forward(b, cache: cache)
                total += threadCPUNanoseconds() - t0
                last = l.values.map(\.bitPattern)
            }
            return (Double(total) / 1e6 / Double(steps), last)
        }
        var old: [Double] = [], new: [Double] = []
        do {
            for _ in 0..<repetitions {
                let a = try run(0), b = try run(on)
                guard a.logits == b.logits else { throw CLIError("the two kernels gave different logits") }
                old.append(a.ms)
                new.append(b.ms)
            }
        } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
        let lo = old.min() ?? 0, ln = new.min() ?? 0
        print("| streams | old ms/step (min, median) | new ms/step (min, median) | new/old (min) | new/old (median) |")
        print("|---|---|---|---|---|")
        print("| \(streams) | \(String(format: "%.2f, %.2f", lo, median(old))) | \(String(format: "%.2f, %.2f", ln, median(new))) | "
              + "\(String(format: "%.3f", ln / lo)) | \(String(format: "%.3f", median(new) / median(old))) |")
    }

    func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
