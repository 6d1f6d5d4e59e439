import ArgumentParser
import Foundation
import Hearth
import HearthStore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Generate text from a prompt.")

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "The prompt (default: read from stdin when it is not a terminal).")
    var prompt: String?

    @Flag(help: "Send the prompt to the model as-is (special tokens parsed, BOS added if the model asks).")
    var raw = false

    // Unset options fall back to the model's Modelfile PARAMETERs, then to these defaults.
    @Option(help: "Sampling temperature; 0 = greedy (default 0.8).") var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = all; default 40).") var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (default 0.9).") var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the top probability (default 0).") var minP: Float?
    @Option(name: .customLong("repeat-penalty"), help: "Penalty for recently seen tokens (default 1.1).") var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), help: "How many recent tokens the penalty looks at (-1 = the context; default 64).") var repeatLastN: Int?
    @Option(help: "Random seed (default: random).") var seed: UInt64?
    @Option(name: .customLong("num-predict"), help: "Tokens to generate (-1 = until end or full context).") var numPredict: Int?
    @Option(name: .customLong("ctx-size"), help: "Context window in tokens (default 4096).") var ctxSize: Int?
    @Option(help: "Stop when this text appears (repeatable; replaces the model's stop parameters).") var stop: [String] = []
    @Flag(help: "Print timing statistics after the text.") var verbose = false
    @Flag(help: "Print one JSON object per generated token, then a summary line.") var json = false
    @Option(name: .customLong("top-logprobs"), help: "Alternatives per token in --json output.") var topLogprobs: Int = 0

    func validate() throws {
        if let c = ctxSize { guard c >= 1 else { throw ValidationError("--ctx-size must be positive") } }
        if let t = temperature { guard t >= 0 else { throw ValidationError("--temperature must be ≥ 0") } }
        guard topLogprobs >= 0 && topLogprobs <= 100 else { throw ValidationError("--top-logprobs must be 0…100") }
        if let p = topP { guard p > 0 && p <= 1 else { throw ValidationError("--top-p must be in (0, 1]") } }
        if let p = minP { guard p >= 0 && p <= 1 else { throw ValidationError("--min-p must be in [0, 1]") } }
        if let n = repeatLastN { guard n >= -1 else { throw ValidationError("--repeat-last-n must be ≥ -1") } }
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
        let resolved = try modelOptions.resolve()
        let loaded = try modelOptions.load(resolved)
        // Until chat templates exist, every prompt goes to the model raw.
        let tokens = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        guard !tokens.isEmpty else { throw CLIError("the prompt is empty") }

        let ctx = contextSize(loaded, resolved.parameters)
        let options = generateOptions(resolved.parameters, contextSize: ctx)
        var stops = StopSequences(stopStrings(resolved.parameters))
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
                    _ = stops.append(tok.text)
                } else {
                    writeOut(stops.append(tok.text))
                }
                return !stops.stopped
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
            writeOut(stops.flush() + "\n")
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

    /// --ctx-size, else the Modelfile's num_ctx, else 4096; never beyond what the model was trained for.
    func contextSize(_ loaded: LoadedModel, _ params: ModelParameters) -> Int {
        min(ctxSize ?? params.numCtx ?? 4096, max(loaded.model.info.trainedContext, 1))
    }

    /// Command-line options over the model's Modelfile PARAMETERs over the defaults.
    func generateOptions(_ params: ModelParameters, contextSize: Int) -> GenerateOptions {
        var options = GenerateOptions()
        options.sampling.temperature = temperature ?? params.temperature ?? options.sampling.temperature
        options.sampling.topK = topK ?? params.topK ?? options.sampling.topK
        options.sampling.topP = topP ?? params.topP ?? options.sampling.topP
        options.sampling.minP = minP ?? params.minP ?? options.sampling.minP
        options.sampling.repeatPenalty = repeatPenalty ?? params.repeatPenalty ?? options.sampling.repeatPenalty
        let lastN = repeatLastN ?? params.repeatLastN ?? options.sampling.repeatLastN
        options.sampling.repeatLastN = lastN < 0 ? contextSize : lastN  // Ollama: -1 = the whole context
        options.sampling.seed = seed ?? params.seed.flatMap { $0 < 0 ? nil : UInt64($0) }
        options.numPredict = numPredict ?? params.numPredict ?? -1
        options.logprobs = json
        options.topLogprobs = topLogprobs
        return options
    }

    /// --stop strings when given, else the Modelfile's.
    func stopStrings(_ params: ModelParameters) -> [String] { stop.isEmpty ? params.stop ?? [] : stop }

    /// No prompt and a terminal on stdin: the interactive chat, with the model's SYSTEM, MESSAGEs and PARAMETERs.
    func runInteractive() throws {
        let resolved = try modelOptions.resolve()
        let loaded = try modelOptions.load(resolved)
        let ctx = contextSize(loaded, resolved.parameters)
        var setup = ChatSetup(name: modelOptions.model, options: generateOptions(resolved.parameters, contextSize: ctx),
                              contextSize: ctx)
        setup.system = resolved.system
        setup.messages = resolved.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        setup.templateSource = resolved.template ?? loaded.file.metadata("tokenizer.chat_template")?.stringValue
        setup.stops = stopStrings(resolved.parameters)
        setup.parameters = resolved.parameters.pairs.map { ($0.0, $0.0 == "stop" ? jsonString($0.1) : $0.1) }
        InteractiveChat(loaded: loaded, setup: setup).run()
    }
}
