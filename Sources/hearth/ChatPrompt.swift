import Foundation
import Hearth
import HearthStore

/// `hearth run`'s view of a conversation: the shared `ChatFormatter` with the Modelfile's TEMPLATE (else the
/// GGUF's), SYSTEM and MESSAGEs. A model without a template runs raw (the text as it is), and says so once on
/// stderr.
struct ChatPrompt {
    let formatter: ChatFormatter
    private let modelMessages: [ChatMessage]

    var source: String? { formatter.source }
    var template: ChatTemplate? { formatter.template }

    init(resolved: ResolvedModel, loaded: LoadedModel) throws {
        modelMessages = resolved.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        do {
            formatter = try ChatFormatter(loaded: loaded, templateOverride: resolved.template,
                                          origin: resolved.template != nil ? "the Modelfile's TEMPLATE" : nil)
        } catch {
            throw CLIError("\(error)")
        }
        if formatter.template == nil { writeErr("hearth: the model has no chat template; prompts go to it raw\n") }
    }

    /// SYSTEM first, then the Modelfile's MESSAGEs: what every conversation starts with.
    func baseMessages(system: String?) -> [ChatMessage] {
        var m: [ChatMessage] = []
        if let s = system, !s.isEmpty { m.append(ChatMessage(role: "system", content: s)) }
        return m + modelMessages
    }

    /// The prompt tokens for a conversation that ends with the user's turn.
    func tokens(_ messages: [ChatMessage]) throws -> [Int32] {
        do { return try formatter.tokens(messages) } catch { throw CLIError("\(error)") }
    }
}
