import Foundation
import Hearth
import HearthStore

/// Turns a conversation into prompt tokens for `hearth run`: the model's chat template (the Modelfile's TEMPLATE,
/// else the GGUF's `tokenizer.chat_template`) rendered as Hugging Face's `apply_chat_template` does, with the
/// generation prompt, then tokenized with special tokens parsed. A model without a template runs raw (the text
/// as it is), and says so once on stderr.
struct ChatPrompt {
    let source: String?
    let template: ChatTemplate?
    private let loaded: LoadedModel
    private let modelMessages: [ChatMessage]
    private let bos: String
    private let eos: String

    init(resolved: ResolvedModel, loaded: LoadedModel) throws {
        self.loaded = loaded
        modelMessages = resolved.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        source = resolved.template ?? loaded.file.metadata("tokenizer.chat_template")?.stringValue
        if let source {
            do { template = try ChatTemplate(source: source) } catch {
                let origin = resolved.template != nil ? "the Modelfile's TEMPLATE" : "\(resolved.path): tokenizer.chat_template"
                throw CLIError("\(origin): \(error)")
            }
        } else {
            template = nil
            writeErr("hearth: the model has no chat template; prompts go to it raw\n")
        }
        let tok = loaded.tokenizer
        bos = tok.bosId.map { tok.pieceText($0) } ?? ""
        eos = tok.eosId.map { tok.pieceText($0) } ?? ""
    }

    /// SYSTEM first, then the Modelfile's MESSAGEs: what every conversation starts with.
    func baseMessages(system: String?) -> [ChatMessage] {
        var m: [ChatMessage] = []
        if let s = system, !s.isEmpty { m.append(ChatMessage(role: "system", content: s)) }
        return m + modelMessages
    }

    /// The prompt tokens for a conversation that ends with the user's turn.
    func tokens(_ messages: [ChatMessage]) throws -> [Int32] {
        guard let template else {
            return loaded.tokenize(messages.last?.content ?? "", addSpecial: true, parseSpecial: false)
        }
        let values = messages.map {
            TemplateValue.object(TemplateValue.TemplateObject([("role", .string($0.role)), ("content", .string($0.content))]))
        }
        let text: String
        do {
            text = try template.render(messages: values, addGenerationPrompt: true, bosToken: bos, eosToken: eos)
        } catch {
            throw CLIError("the chat template failed: \(error)")
        }
        var ids = loaded.tokenize(text, addSpecial: true, parseSpecial: true)
        // Templates that write bos_token themselves would otherwise get a second one from the tokenizer.
        if ids.count >= 2, let b = loaded.tokenizer.bosId, ids[0] == b, ids[1] == b { ids.removeFirst() }
        return ids
    }
}
