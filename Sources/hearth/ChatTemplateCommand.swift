import ArgumentParser
import Foundation
import HearthStore
import Hearth

/// `hearth chat-template`: renders a conversation with a Jinja chat template exactly as Hugging Face's
/// `apply_chat_template` does, and prints the prompt with nothing added. Input (a file or stdin) is JSON:
/// `{"messages": [...], "tools": [...]?, "add_generation_prompt": bool?}` (default true); any other top-level key
/// becomes a template variable too (e.g. `"enable_thinking": false`).
struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation with a model's Jinja chat template (as Hugging Face's apply_chat_template).")

    @Argument(help: "A model (store name or .gguf file): its chat template and BOS/EOS tokens are used.")
    var model: String?

    @Option(name: .long, help: "A Jinja chat template file (instead of the model's).")
    var template: String?

    @Option(name: .customLong("bos-token"), help: "The bos_token text (default: the model's BOS token, else empty).")
    var bosToken: String?

    @Option(name: .customLong("eos-token"), help: "The eos_token text (default: the model's EOS token, else empty).")
    var eosToken: String?

    @Option(name: .long, help: "The time strftime_now sees, ISO 8601 (e.g. 2026-11-26T12:00:00; default: now).")
    var now: String?

    @Option(name: .long, help: "The JSON input file (default: stdin).")
    var input: String?

    func run() throws {
        let clock: TemplateClock
        do { clock = try now.map { try TemplateClock(iso8601: $0) } ?? .now() } catch {
            throw CLIError("--now: \(error)")
        }
        var source: String? = nil
        var bos = bosToken, eos = eosToken
        if let template {
            guard let data = FileManager.default.contents(atPath: template) else {
                throw CLIError("cannot read template file \(template)")
            }
            source = String(decoding: data, as: UTF8.self)
        }
        if let model {
            // A store name or a .gguf path; a Modelfile TEMPLATE replaces the GGUF's.
            let resolved = try resolveModel(model)
            let fromModel = try Self.modelTemplate(resolved.path, needTemplate: source == nil && resolved.template == nil,
                                                   needBos: bos == nil, needEos: eos == nil)
            source = source ?? resolved.template ?? fromModel.template
            bos = bos ?? fromModel.bos
            eos = eos ?? fromModel.eos
        }
        guard let source else {
            throw CLIError(model == nil ? "give a MODEL or --template FILE"
                           : "\(model ?? "") has no tokenizer.chat_template; give one with --template FILE")
        }
        let inputData: Data
        if let input {
            guard let d = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read input file \(input)") }
            inputData = d
        } else {
            inputData = FileHandle.standardInput.readDataToEndOfFile()
        }
        let request = try Self.parseInput(inputData, name: input ?? "stdin")
        let parsed: ChatTemplate
        do { parsed = try ChatTemplate(source: source) } catch { throw CLIError("template: \(error)") }
        do {
            let text = try parsed.render(messages: request.messages, tools: request.tools,
                                         addGenerationPrompt: request.addGenerationPrompt, bosToken: bos ?? "",
                                         eosToken: eos ?? "", clock: clock, extra: request.extra)
            writeOut(text)
        } catch {
            throw CLIError("template: \(error)")
        }
    }

    struct Request {
        var messages: [TemplateValue]
        var tools: [TemplateValue]?
        var addGenerationPrompt = true
        var extra: [String: TemplateValue] = [:]
    }

    static func parseInput(_ data: Data, name: String) throws -> Request {
        let value: TemplateValue
        do { value = try TemplateValue(json: data) } catch { throw CLIError("\(name): \(error)") }
        guard case .object(let o) = value else { throw CLIError("\(name): expected a JSON object with \"messages\"") }
        guard case .array(let messages)? = o["messages"] else {
            throw CLIError("\(name): \"messages\" must be an array of messages")
        }
        var request = Request(messages: messages)
        switch o["tools"] {
        case nil, .none?: break
        case .array(let t)?: request.tools = t
        default: throw CLIError("\(name): \"tools\" must be an array or null")
        }
        switch o["add_generation_prompt"] {
        case nil: break
        case .bool(let b)?: request.addGenerationPrompt = b
        default: throw CLIError("\(name): \"add_generation_prompt\" must be true or false")
        }
        for (k, v) in o.pairs where !["messages", "tools", "add_generation_prompt"].contains(k) { request.extra[k] = v }
        return request
    }

    /// The GGUF's `tokenizer.chat_template` and the texts of its BOS/EOS tokens (`tokenizer.ggml.bos_token_id`,
    /// `eos_token_id` indexing `tokenizer.ggml.tokens`).
    static func modelTemplate(_ path: String, needTemplate: Bool, needBos: Bool, needEos: Bool) throws
        -> (template: String?, bos: String?, eos: String?)
    {
        do {
            let file = try GGUFFile(path: path)
            let template = needTemplate ? try file.stringIfPresent("tokenizer.chat_template") : nil
            guard needBos || needEos else { return (template, nil, nil) }
            let tokens = try file.stringArrayIfPresent("tokenizer.ggml.tokens") ?? []
            func token(_ key: String) throws -> String? {
                guard let id = try file.intIfPresent(key) else { return nil }
                guard id >= 0 && id < tokens.count else {
                    throw CLIError("\(path): \(key) = \(id) is not a token id (the vocabulary has \(tokens.count))")
                }
                return tokens[id]
            }
            return (template, needBos ? try token("tokenizer.ggml.bos_token_id") : nil,
                    needEos ? try token("tokenizer.ggml.eos_token_id") : nil)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("\(error)")
        }
    }
}
