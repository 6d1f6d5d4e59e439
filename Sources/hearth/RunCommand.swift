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
    @Option(name: .customLong("typical-p"), help: "Locally typical sampling threshold (1 = off).") var typicalP: Float = 1.0
    @Option(name: .customLong("presence-penalty"), help: "Subtracted from the logit of tokens already in the window.") var presencePenalty: Float = 0
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per occurrence in the window.") var frequencyPenalty: Float = 0
    @Option(name: .customLong("logit-bias"), help: "TOKEN_ID:BIAS added to a token's logit (repeatable; -inf bans).") var logitBias: [String] = []
    @Option(help: "Mirostat sampling: 0 = off, 1, or 2 (Mirostat 2.0).") var mirostat: Int = 0
    @Option(name: .customLong("mirostat-tau"), help: "Mirostat target surprise.") var mirostatTau: Float = 5.0
    @Option(name: .customLong("mirostat-eta"), help: "Mirostat learning rate.") var mirostatEta: Float = 0.1
    @Option(help: "Constrain the output: `json` (any JSON object or array), or a JSON Schema file (or inline schema).") var format: String?
    @Option(name: .customLong("grammar-file"), help: "Constrain the output to a GBNF grammar (llama.cpp syntax) read from this file.") var grammarFile: String?
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
        guard typicalP > 0 && typicalP <= 1 else { throw ValidationError("--typical-p must be in (0, 1]") }
        guard [0, 1, 2].contains(mirostat) else { throw ValidationError("--mirostat must be 0, 1 or 2") }
        guard mirostatTau > 0, mirostatEta > 0 else { throw ValidationError("--mirostat-tau and --mirostat-eta must be positive") }
        guard format == nil || grammarFile == nil else { throw ValidationError("use either --format or --grammar-file, not both") }
        _ = try parsedLogitBias()
    }

    func run() throws {
        // A bad grammar or schema fails before the model loads.
        let grammar = try outputGrammar()
        let text: String
        if let p = prompt {
            text = p
        } else if isatty(0) == 0 {
            text = readStdin()
        } else {
            return try runInteractive(grammar: grammar)
        }
        let resolved = try modelOptions.resolve()
        let loaded = try modelOptions.load(resolved)
        let tokens: [Int32]
        if raw {
            tokens = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        } else {
            // The chat template (the Modelfile's, else the GGUF's) with the model's SYSTEM and MESSAGEs.
            let chat = try ChatPrompt(resolved: resolved, loaded: loaded)
            var messages = chat.baseMessages(system: resolved.system)
            messages.append(ChatMessage(role: "user", content: text))
            tokens = try chat.tokens(messages)
        }
        guard !tokens.isEmpty else { throw CLIError("the prompt is empty") }

        let ctx = contextSize(loaded, resolved.parameters)
        var options = generateOptions(resolved.parameters, contextSize: ctx)
        options.grammar = grammar
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
            if options.grammar != nil {
                writeErr("grammar duration:     \(f(stats.grammarDuration * 1000))ms (\(f(100 * stats.grammarDuration / max(stats.generateDuration, 1e-9)))% of eval, \(stats.grammarMasks) vocabulary mask(s))\n")
            }
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
        options.sampling.typicalP = typicalP
        options.sampling.presencePenalty = presencePenalty
        options.sampling.frequencyPenalty = frequencyPenalty
        options.sampling.logitBias = (try? parsedLogitBias()) ?? [:]
        options.sampling.mirostat = mirostat
        options.sampling.mirostatTau = mirostatTau
        options.sampling.mirostatEta = mirostatEta
        options.logprobs = json
        options.topLogprobs = topLogprobs
        return options
    }

    /// --stop strings when given, else the Modelfile's.
    func stopStrings(_ params: ModelParameters) -> [String] { stop.isEmpty ? params.stop ?? [] : stop }

    /// `--logit-bias ID:BIAS` values (BIAS may be `-inf`).
    func parsedLogitBias() throws -> [Int32: Float] {
        var bias: [Int32: Float] = [:]
        for item in logitBias {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let id = Int32(parts[0]), id >= 0,
                  let b = parts[1] == "-inf" ? -Float.infinity : Float(parts[1]), !b.isNaN else {
                throw ValidationError("--logit-bias '\(item)': expected TOKEN_ID:BIAS, e.g. 1234:-5 or 1234:-inf")
            }
            bias[id] = b
        }
        return bias
    }

    /// The grammar `--format` or `--grammar-file` asks for (nil without either).
    func outputGrammar() throws -> Grammar? {
        do {
            if let path = grammarFile {
                return try Grammar(gbnf: try readTextFile(path, what: "--grammar-file"))
            }
            guard let format else { return nil }
            if format == "json" { return try Grammar(gbnf: try JSONSchemaGrammar.anyJSON) }
            let schema = format.hasPrefix("{") ? format : try readTextFile(format, what: "--format")
            return try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: schema))
        } catch let e as GrammarError {
            let source = grammarFile ?? (format.map { $0.hasPrefix("{") ? "--format" : $0 } ?? "")
            throw CLIError("\(source): \(e)")
        }
    }

    func readTextFile(_ path: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(what) \(path): no such file (expected `json`, a JSON Schema file or a GBNF file)")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw CLIError("\(what) \(path): not UTF-8 text") }
        return text
    }

    /// No prompt and a terminal on stdin: the interactive chat, with the model's SYSTEM, MESSAGEs and PARAMETERs.
    func runInteractive(grammar: Grammar?) throws {
        let resolved = try modelOptions.resolve()
        let loaded = try modelOptions.load(resolved)
        let ctx = contextSize(loaded, resolved.parameters)
        var options = generateOptions(resolved.parameters, contextSize: ctx)
        options.grammar = grammar
        var setup = ChatSetup(name: modelOptions.model, options: options, contextSize: ctx)
        setup.system = resolved.system
        setup.messages = resolved.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        if !raw {
            let chat = try ChatPrompt(resolved: resolved, loaded: loaded)
            setup.templateSource = chat.source
            if chat.template != nil { setup.render = { try chat.tokens($0) } }
        }
        setup.stops = stopStrings(resolved.parameters)
        setup.parameters = resolved.parameters.pairs.map { ($0.0, $0.0 == "stop" ? jsonString($0.1) : $0.1) }
        InteractiveChat(loaded: loaded, setup: setup).run()
    }
}
