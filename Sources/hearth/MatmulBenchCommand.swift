import ArgumentParser
import Foundation
import Hearth

/// `hearth matmul-bench` (hidden, for kernel work): times `matmul` on a model's own weight tensors for several
/// token counts, the small-batch kernel against the kernel it replaces (`SmallBatch.maxTokens` = 0), alternating
/// the two in one process so both see the same machine load, and prints medians and their ratio. On a shared,
/// noisy machine that ratio is the figure to trust, not the absolute times.
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
        print("| tensor | type | rows×cols | tokens | old ms | new ms | new/old |")
        print("|---|---|---|---|---|---|---|")
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
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    x.withUnsafeBufferPointer { xs in
                        y.withUnsafeMutableBufferPointer { ys in
                            matmul(w, xs.baseAddress!, nTokens: n, ys.baseAddress!, pool: pool)
                        }
                    }
                    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                }
                _ = time(0); _ = time(16)  // warm-up
                var old: [Double] = [], new: [Double] = []
                for _ in 0..<repetitions {
                    old.append(time(0))
                    new.append(time(16))
                }
                let mo = median(old), mn = median(new)
                print("| \(name) | \(w.type) | \(w.rows)×\(w.columns) | \(n) | \(String(format: "%.3f", mo)) | "
                      + "\(String(format: "%.3f", mn)) | \(String(format: "%.2f", mn / mo)) |")
            }
        }
    }

    func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
