import ArgumentParser
import Foundation
import Hearth

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Generate text from a prompt.")

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "The prompt (default: read from stdin when it is not a terminal).")
    var prompt: String?

    @Flag(help: "Send the prompt to the model as-is (special tokens parsed, BOS added if the model asks).")
    var raw = false

    @Option(help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = all).") var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold.") var topP: Float = 0.9
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the top probability.") var minP: Float = 0.0
    @Option(name: .customLong("repeat-penalty"), help: "Penalty for recently seen tokens.") var repeatPenalty: Float = 1.1
    @Option(name: .customLong("repeat-last-n"), help: "How many recent tokens the penalty looks at.") var repeatLastN: Int = 64
    @Option(help: "Random seed (default: random).") var seed: UInt64?
    @Option(name: .customLong("num-predict"), help: "Tokens to generate (-1 = until end or full context).") var numPredict: Int = -1
    @Option(name: .customLong("ctx-size"), help: "Context window in tokens.") var ctxSize: Int = 4096
    @Flag(help: "Print timing statistics after the text.") var verbose = false
    @Flag(help: "Print one JSON object per generated token, then a summary line.") var json = false
    @Option(name: .customLong("top-logprobs"), help: "Alternatives per token in --json output.") var topLogprobs: Int = 0

    func validate() throws {
        guard ctxSize >= 1 else { throw ValidationError("--ctx-size must be positive") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be ≥ 0") }
        guard topLogprobs >= 0 && topLogprobs <= 100 else { throw ValidationError("--top-logprobs must be 0…100") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard minP >= 0 && minP <= 1 else { throw ValidationError("--min-p must be in [0, 1]") }
    }

    func run() throws {
        let text: String
        if let p = prompt {
            text = p
        } else if isatty(0) == 0 {
            text = readStdin()
        } else {
            return try runInteractive()
        }
        let loaded = try modelOptions.load()
        // Until chat templates exist, every prompt goes to the model raw.
        let tokens = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        guard !tokens.isEmpty else { throw CLIError("the prompt is empty") }

        let options = generateOptions()
        let ctx = min(ctxSize, max(loaded.model.info.trainedContext, 1))
        let generator = Generator(loaded, contextSize: ctx)
        let start = Date()
        let stats: GenerationStats
        do {
            stats = try generator.generate(prompt: tokens, options: options) { tok in
                if json {
                    var line = "{\"token\": \(tok.id), \"piece\": \(jsonString(tok.piece)), \"logprob\": \(jsonNumber(tok.logprob ?? 0))"
                    if topLogprobs > 0 {
                        let tops = tok.topLogprobs.map {
                            "{\"token\": \($0.token), \"piece\": \(jsonString($0.piece)), \"logprob\": \(jsonNumber($0.logprob))}"
                        }
                        line += ", \"top_logprobs\": [\(tops.joined(separator: ", "))]"
                    }
                    writeOut(line + "}\n")
                } else {
                    writeOut(tok.text)
                }
                return true
            }
        } catch {
            throw CLIError("\(error)")
        }
        let total = Date().timeIntervalSince(start) + loaded.loadDuration
        if json {
            writeOut("{\"done\": true, \"done_reason\": \(jsonString(stats.doneReason)), "
                + "\"prompt_eval_count\": \(stats.promptTokens), \"prompt_eval_duration\": \(Int(stats.promptDuration * 1e9)), "
                + "\"eval_count\": \(stats.generatedTokens), \"eval_duration\": \(Int(stats.generateDuration * 1e9)), "
                + "\"load_duration\": \(Int(loaded.loadDuration * 1e9)), \"total_duration\": \(Int(total * 1e9))}\n")
        } else {
            writeOut("\n")
        }
        if verbose {
            let f = { (v: Double) in String(format: "%.2f", v) }
            writeErr("""
                total duration:       \(f(total))s
                load duration:        \(f(loaded.loadDuration * 1000))ms
                prompt eval count:    \(stats.promptTokens) token(s)
                prompt eval duration: \(f(stats.promptDuration * 1000))ms
                prompt eval rate:     \(f(Double(stats.promptTokens) / max(stats.promptDuration, 1e-9))) tokens/s
                eval count:           \(stats.generatedTokens) token(s)
                eval duration:        \(f(stats.generateDuration * 1000))ms
                eval rate:            \(f(Double(stats.generatedTokens) / max(stats.generateDuration, 1e-9))) tokens/s

                """)
        }
    }

    func generateOptions() -> GenerateOptions {
        var options = GenerateOptions()
        options.sampling.temperature = temperature
        options.sampling.topK = topK
        options.sampling.topP = topP
        options.sampling.minP = minP
        options.sampling.repeatPenalty = repeatPenalty
        options.sampling.repeatLastN = repeatLastN
        options.sampling.seed = seed
        options.numPredict = numPredict
        options.logprobs = json
        options.topLogprobs = topLogprobs
        return options
    }

    /// No prompt and a terminal on stdin: the interactive chat.
    func runInteractive() throws {
        let loaded = try modelOptions.load()
        let ctx = min(ctxSize, max(loaded.model.info.trainedContext, 1))
        let setup = ChatSetup(name: modelOptions.model, options: generateOptions(), contextSize: ctx)
        InteractiveChat(loaded: loaded, setup: setup).run()
    }
}
