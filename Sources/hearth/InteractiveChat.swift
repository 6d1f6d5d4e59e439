import Foundation
import Hearth
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT while an answer streams; the token callback sees it and stops the answer.
let answerInterrupted = Atomic<Bool>(false)

/// What the chat needs to know about the model beyond its weights: the template, SYSTEM, MESSAGEs and
/// parameters (from the Modelfile or the GGUF), for the turns and for `/show`.
struct ChatSetup {
    var name: String
    var system: String?
    var messages: [ChatMessage] = []
    var templateSource: String?
    /// Renders the conversation into prompt tokens (the chat template with the generation prompt); nil = raw.
    var render: (([ChatMessage]) throws -> [Int32])?
    var options: GenerateOptions
    var stops: [String] = []
    var contextSize: Int
    /// Parameters as set, for `/show parameters` (name, value), in the order they were given.
    var parameters: [(String, String)] = []
}

/// `hearth run MODEL` with a terminal and no prompt: Ollama's interactive chat. History across turns (the KV
/// cache keeps the conversation, so each turn only computes its new tokens), streaming output, `"""` for
/// multi-line input, slash commands, Ctrl-C to stop an answer, Ctrl-D to leave.
final class InteractiveChat {
    private let loaded: LoadedModel
    private var setup: ChatSetup
    private var generator: Generator
    private var history: [ChatMessage] = []
    private var rawTranscript = ""
    private let editor = LineEditor()

    init(loaded: LoadedModel, setup: ChatSetup) {
        self.loaded = loaded
        self.setup = setup
        generator = Generator(loaded, contextSize: setup.contextSize)
    }

    func run() {
        while true {
            guard let input = readInput() else { return }
            let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            if text.hasPrefix("/") {
                if handleCommand(text) { continue } else { return }
            }
            answer(input)
        }
    }

    /// One user input, joining `"""` … `"""` blocks into one multi-line message; nil at end of input.
    private func readInput() -> String? {
        switch editor.readLine(prompt: ">>> ") {
        case .endOfInput: return nil
        case .interrupt:
            writeOut("Use Ctrl + d or /bye to exit.\n")
            return ""
        case .line(let line):
            guard line.hasPrefix("\"\"\"") else { return line }
            var text = String(line.dropFirst(3))
            if text.hasSuffix("\"\"\"") && !text.isEmpty { return String(text.dropLast(3)) }
            while true {
                switch editor.readLine(prompt: "... ") {
                case .endOfInput, .interrupt: return ""
                case .line(let more):
                    if more.hasSuffix("\"\"\"") {
                        text += (text.isEmpty ? "" : "\n") + more.dropLast(3)
                        return text
                    }
                    text += (text.isEmpty ? "" : "\n") + more
                }
            }
        }
    }

    private func answer(_ userText: String) {
        var turn = setup.messages + history
        if let s = setup.system, !s.isEmpty { turn.insert(ChatMessage(role: "system", content: s), at: 0) }
        turn.append(ChatMessage(role: "user", content: userText))
        let tokens: [Int32]
        var prompt = ""
        if let render = setup.render {
            do { tokens = try render(turn) } catch {
                writeErr("Error: \(error)\n")
                return
            }
        } else {
            prompt = rawTranscript + userText
            tokens = loaded.tokenize(prompt, addSpecial: true, parseSpecial: false)
        }
        var stops = StopSequences(setup.stops)
        var reply = ""
        answerInterrupted.store(false, ordering: .relaxed)
        let previous = signal(SIGINT) { _ in answerInterrupted.store(true, ordering: .relaxed) }
        defer { signal(SIGINT, previous) }
        do {
            _ = try generator.generate(prompt: tokens, options: setup.options) { tok in
                if answerInterrupted.load(ordering: .relaxed) { return false }
                let shown = stops.append(tok.text)
                reply += shown
                writeOut(shown)
                return !stops.stopped
            }
        } catch {
            writeErr("\nError: \(error)\n")
            return
        }
        if answerInterrupted.load(ordering: .relaxed) {
            // Ollama keeps no half answer; the question goes too, so roles keep alternating.
            writeOut("\n")
            return
        }
        let rest = stops.flush()
        reply += rest
        writeOut(rest + "\n\n")
        history.append(ChatMessage(role: "user", content: userText))
        history.append(ChatMessage(role: "assistant", content: reply))
        if setup.render == nil { rawTranscript = prompt + reply }
    }

    /// Handles a slash command; false means leave.
    private func handleCommand(_ line: String) -> Bool {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch words.first ?? "" {
        case "/bye", "/exit": return false
        case "/?", "/help": writeOut(Self.help)
        case "/clear":
            history = []
            rawTranscript = ""
            generator.reset()
            writeOut("Cleared session context\n")
        case "/set":
            guard words.count >= 2 else { writeOut(Self.setHelp); break }
            switch words[1] {
            case "parameter":
                guard words.count >= 4 else { writeOut("Usage: /set parameter NAME VALUE\n"); break }
                setParameter(words[2], words[3...].joined(separator: " "))
            case "system":
                let text = line.split(separator: " ", maxSplits: 2).dropFirst(2).first.map(String.init) ?? ""
                setup.system = unquote(text)
                writeOut("Set system message.\n")
            default: writeOut(Self.setHelp)
            }
        case "/show":
            show(words.count >= 2 ? words[1] : "")
        default:
            writeOut("Unknown command '\(words.first ?? "")'. Type /? for help\n")
        }
        return true
    }

    private func setParameter(_ name: String, _ value: String) {
        var o = setup.options
        let ok: Bool
        switch name {
        case "temperature": ok = Float(value).map { o.sampling.temperature = $0; return $0 >= 0 } ?? false
        case "top_k": ok = Int(value).map { o.sampling.topK = $0; return $0 >= 0 } ?? false
        case "top_p": ok = Float(value).map { o.sampling.topP = $0; return $0 > 0 && $0 <= 1 } ?? false
        case "min_p": ok = Float(value).map { o.sampling.minP = $0; return $0 >= 0 && $0 <= 1 } ?? false
        case "repeat_penalty": ok = Float(value).map { o.sampling.repeatPenalty = $0; return $0 >= 0 } ?? false
        case "repeat_last_n": ok = Int(value).map { o.sampling.repeatLastN = $0; return $0 >= -1 } ?? false
        case "seed": ok = Int64(value).map { o.sampling.seed = UInt64(bitPattern: $0); return true } ?? false
        case "num_predict": ok = Int(value).map { o.numPredict = $0; return true } ?? false
        case "stop":
            setup.stops = value.split(separator: " ").map { unquote(String($0)) }
            ok = true
        case "num_ctx":
            guard let n = Int(value), n >= 1 else { ok = false; break }
            setup.contextSize = min(n, max(loaded.model.info.trainedContext, 1))
            generator = Generator(loaded, contextSize: setup.contextSize)
            ok = true
        default:
            writeOut("Couldn't set parameter: unknown parameter '\(name)'\n")
            return
        }
        guard ok else { writeOut("Couldn't set parameter: invalid value '\(value)' for '\(name)'\n"); return }
        setup.options = o
        setup.parameters.removeAll { $0.0 == name }
        setup.parameters.append((name, value))
        writeOut("Set parameter '\(name)' to '\(value)'\n")
    }

    private func show(_ what: String) {
        switch what {
        case "info":
            let i = loaded.model.info
            writeOut("""
                  Model
                    name                \(setup.name)
                    architecture        \(i.architecture)
                    parameters          \(String(format: "%.2fM", Double(i.parameterCount) / 1e6))
                    context length      \(i.trainedContext)
                    embedding length    \(i.embeddingSize)

                """)
        case "parameters":
            if setup.parameters.isEmpty { writeOut("No parameters were specified for this model.\n"); break }
            writeOut("Model defined parameters:\n")
            for (k, v) in setup.parameters { writeOut("\(k.padding(toLength: 30, withPad: " ", startingAt: 0)) \(v)\n") }
        case "template":
            writeOut((setup.templateSource ?? "No template was specified for this model.") + "\n")
        case "system":
            writeOut((setup.system ?? "No system message was specified for this model.") + "\n")
        default:
            writeOut("Usage: /show info|parameters|template|system\n")
        }
    }

    private func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" { return String(s.dropFirst().dropLast()) }
        return s
    }

    static let setHelp = """
        Available Commands:
          /set parameter NAME VALUE   Set a parameter (temperature, top_k, top_p, min_p, seed, num_predict,
                                      repeat_penalty, repeat_last_n, num_ctx, stop)
          /set system TEXT            Set the system message

        """

    static let help = """
        Available Commands:
          /set            Set session variables
          /show           Show model information (info, parameters, template, system)
          /clear          Clear session context
          /bye            Exit
          /?, /help       Help for a command

        Use \"\"\" to begin a multi-line message.
        Ctrl + c stops an answer; Ctrl + d or /bye exits.

        """
}
