import ArgumentParser
import Foundation
import Hearth

/// `hearth bench`: llama-bench's tests and defaults (tools/llama-bench): pp = one prompt of N tokens as one
/// batch, tg = N tokens decoded one at a time, each repetition from an empty cache after one warm-up run.
/// Timing covers the forward passes only: no load, tokenization or sampling (random token ids are fed).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prompt and generation speed.")

    @Argument(help: "A model name from the store or a path to a .gguf file.") var model: String
    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens (0 = skip).") var nPrompt: Int = 512
    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens (0 = skip).") var nGen: Int = 128
    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Repetitions.") var repetitions: Int = 5
    @Option(name: [.customShort("t"), .customLong("threads")], help: "Threads (default: physical cores).") var threads: Int?
    @Option(name: [.customShort("o"), .customLong("output")], help: "md, json or csv.") var output: String = "md"
    @Option(name: .customLong("parallel"),
            help: "Also run N streams of -n tokens at once through the server's scheduler (tgNxP, aggregate t/s), alternating with tgN.")
    var parallel: Int = 0

    func validate() throws {
        guard ["md", "json", "csv"].contains(output) else { throw ValidationError("-o must be md, json or csv") }
        guard repetitions >= 1 else { throw ValidationError("-r must be at least 1") }
        guard nPrompt >= 0, nGen >= 0, nPrompt + nGen > 0 else { throw ValidationError("-p and -n must be ≥ 0, one > 0") }
        if let t = threads, t < 1 { throw ValidationError("-t must be at least 1") }
        guard parallel >= 0 else { throw ValidationError("--parallel must be ≥ 0") }
    }

    struct Test {
        var name: String, nPrompt: Int, nGen: Int, samplesNs: [Double]
        var ts: [Double] { samplesNs.map { Double(nPrompt + nGen) / ($0 / 1e9) } }
        var avgTs: Double { ts.reduce(0, +) / Double(ts.count) }
        var sdTs: Double { stddev(ts) }
        var avgNs: Double { samplesNs.reduce(0, +) / Double(samplesNs.count) }
    }

    func run() throws {
        let loaded: LoadedModel
        let path = try resolveModel(model).path
        do { loaded = try LoadedModel(path: path, threads: threads) } catch { throw CLIError("\(error)") }
        let m = loaded.model
        let vocab = Int32(m.info.vocabSize)
        let cache = m.makeCache(capacity: nPrompt + nGen + 1)
        var rng = SeededRandom(seed: 1234)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32.random(in: 0..<vocab, using: &rng) } }

        func timePrompt() throws -> Double {
            cache.clear()
            let toks = randomTokens(nPrompt)
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try m.forward(Batch.prompt(toks), cache: cache)
            return Double(DispatchTime.now().uptimeNanoseconds - t0)
        }
        func timeGen() throws -> Double {
            cache.clear()
            let toks = randomTokens(nGen)
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (i, t) in toks.enumerated() { _ = try m.forward(Batch.prompt([t], start: i), cache: cache) }
            return Double(DispatchTime.now().uptimeNanoseconds - t0)
        }
        /// N streams of nGen tokens each (8-token random prompts, ignore EOS) through one `Scheduler`: the batched
        /// decode steps `hearth serve` runs, without HTTP. Time from the first submit to the last token.
        func timeParallel() throws -> Double {
            var config = SchedulerConfiguration()
            config.numParallel = parallel
            config.prefixCaching = false
            let scheduler = try Scheduler(loaded, configuration: config)
            defer { scheduler.shutdown() }
            var options = GenerateOptions()
            options.sampling.temperature = 0
            options.numPredict = nGen
            let requests = (0..<parallel).map { _ in
                var r = GenerationRequest(prompt: randomTokens(8), options: options)
                r.ignoreEOS = true
                return r
            }
            let outcome = BenchOutcome()
            let done = DispatchSemaphore(value: 0)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let streams = try requests.map { try scheduler.submit($0) }
            Task {
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for st in streams { group.addTask { for try await _ in st {} } }
                        try await group.waitForAll()
                    }
                } catch { outcome.set("\(error)") }
                done.signal()
            }
            done.wait()
            if let e = outcome.message { throw CLIError(e) }
            return Double(DispatchTime.now().uptimeNanoseconds - t0)
        }
        var tests: [Test] = []
        do {
            if nPrompt > 0 {
                _ = try timePrompt()  // warm-up
                tests.append(Test(name: "pp\(nPrompt)", nPrompt: nPrompt, nGen: 0,
                                  samplesNs: try (0..<repetitions).map { _ in try timePrompt() }))
            }
            if nGen > 0 && parallel > 0 {
                // tgN and tgNxP repetitions alternate, so the two are measured side by side on a machine whose
                // speed drifts (this one's by ±10 % within minutes).
                _ = try timeGen()
                _ = try timeParallel()
                var single: [Double] = [], batched: [Double] = []
                for _ in 0..<repetitions {
                    single.append(try timeGen())
                    batched.append(try timeParallel())
                }
                tests.append(Test(name: "tg\(nGen)", nPrompt: 0, nGen: nGen, samplesNs: single))
                tests.append(Test(name: "tg\(nGen)x\(parallel)", nPrompt: 0, nGen: nGen * parallel, samplesNs: batched))
            } else if nGen > 0 {
                _ = try timeGen()
                tests.append(Test(name: "tg\(nGen)", nPrompt: 0, nGen: nGen,
                                  samplesNs: try (0..<repetitions).map { _ in try timeGen() }))
            }
        } catch { throw CLIError("\(error)") }

        let size = Double(loaded.file.tensors.reduce(0) { $0 + $1.byteCount })
        let params = m.info.parameterCount
        let desc = modelDescription(loaded)
        let nThreads = loaded.pool.threadCount
        switch output {
        case "json":
            let objs = tests.map { t in
                """
                  {
                    "build_commit": "hearth", "cpu_info": \(jsonString(cpuName())), "backends": "CPU",
                    "kernel_path": \(jsonString(KernelISA.selected.rawValue)),
                    "model_filename": \(jsonString(model)), "model_type": \(jsonString(desc)),
                    "model_size": \(Int(size)), "model_n_params": \(params), "n_batch": \(max(nPrompt, 1)),
                    "n_threads": \(nThreads), "n_prompt": \(t.nPrompt), "n_gen": \(t.nGen),
                    "test_time": \(jsonString(ISO8601DateFormatter().string(from: Date()))),
                    "avg_ns": \(Int(t.avgNs)), "stddev_ns": \(Int(stddev(t.samplesNs))),
                    "avg_ts": \(t.avgTs), "stddev_ts": \(t.sdTs),
                    "samples_ns": [\(t.samplesNs.map { String(Int($0)) }.joined(separator: ", "))],
                    "samples_ts": [\(t.ts.map { String($0) }.joined(separator: ", "))]
                  }
                """
            }
            writeOut("[\n" + objs.joined(separator: ",\n") + "\n]\n")
        case "csv":
            writeOut("model_filename,model_type,model_size,model_n_params,n_threads,n_prompt,n_gen,avg_ns,stddev_ns,avg_ts,stddev_ts\n")
            for t in tests {
                writeOut("\"\(model)\",\"\(desc)\",\(Int(size)),\(params),\(nThreads),\(t.nPrompt),\(t.nGen),"
                    + "\(Int(t.avgNs)),\(Int(stddev(t.samplesNs))),\(t.avgTs),\(t.sdTs)\n")
            }
        default:
            let sizeText = String(format: "%.2f MiB", size / 1024 / 1024)
            let paramText = Double(params) >= 1e9 ? String(format: "%.2f B", Double(params) / 1e9)
                : String(format: "%.2f M", Double(params) / 1e6)
            let header = ["model", "size", "params", "threads", "test", "t/s"]
            var rows = [header]
            for t in tests {
                rows.append([desc, sizeText, paramText, "\(nThreads)", t.name,
                             String(format: "%.2f ± %.2f", t.avgTs, t.sdTs)])
            }
            let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
            func line(_ r: [String]) -> String {
                "| " + r.enumerated().map { c, s in
                    c < 2 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[c] - s.count) + s
                }.joined(separator: " | ") + " |\n"
            }
            writeOut(line(header))
            writeOut("| " + widths.enumerated().map { c, w in
                c < 2 ? String(repeating: "-", count: w) : String(repeating: "-", count: w - 1) + ":"
            }.joined(separator: " | ") + " |\n")
            for r in rows.dropFirst() { writeOut(line(r)) }
        }
    }

    /// "llama 135M Q4_1", as llama-bench's model_type: architecture, size label, and the file type as
    /// llama.cpp names it (`llama_ftype_name`, src/llama-model-loader.cpp: "Q4_K - Medium"), or, when the file
    /// does not say (`general.file_type`), its dominant weight type.
    func modelDescription(_ loaded: LoadedModel) -> String {
        let names: [Int: String] = [0: "all F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
                                    10: "Q2_K - Medium", 11: "Q3_K - Small", 12: "Q3_K - Medium", 13: "Q3_K - Large",
                                    14: "Q4_K - Small", 15: "Q4_K - Medium", 16: "Q5_K - Small", 17: "Q5_K - Medium",
                                    18: "Q6_K", 21: "Q2_K - Small", 32: "BF16"]
        var counts: [String: Int] = [:]
        for t in loaded.file.tensors where t.shape.count >= 2 { counts[t.type.description, default: 0] += t.byteCount }
        let dominant = counts.max { $0.value < $1.value }?.key ?? "?"
        let type = (loaded.file.metadata("general.file_type")?.intValue).flatMap { names[$0] } ?? dominant
        let p = Double(loaded.model.info.parameterCount)
        let label = loaded.file.metadata("general.size_label")?.stringValue
            ?? (p >= 1e9 ? String(format: "%.1fB", p / 1e9) : String(format: "%.0fM", p / 1e6))
        return "\(loaded.model.info.architecture) \(label) \(type)"
    }

    func cpuName() -> String {
        guard let s = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        let line = s.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
}

func stddev(_ x: [Double]) -> Double {
    guard x.count > 1 else { return 0 }
    let m = x.reduce(0, +) / Double(x.count)
    return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count - 1)).squareRoot()
}

/// The benchmark task's error, handed to the blocked main thread.
private final class BenchOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: String?
    func set(_ m: String) { lock.lock(); stored = m; lock.unlock() }
    var message: String? { lock.lock(); defer { lock.unlock() }; return stored }
}
