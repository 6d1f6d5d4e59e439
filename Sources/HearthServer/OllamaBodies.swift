import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthStore
import HearthTemplates

// No Hummingbird (or NIO) here, on purpose: the request bodies and the pure validation that turns them into
// engine options live in RequestErrors.swift, OllamaBodies.swift, OpenAIBodies.swift, EmbedBodies.swift,
// RequestOptions.swift, OpenAIOptions.swift and KeepAlive.swift, so that scripts/fuzz can compile them alone with
// coverage instrumentation for the `server-request` harness (Fuzz/Harnesses/server-request.swift). The routes
// call them.

/// Ollama's `POST /api/generate` (docs/api.md "Generate a completion"). The prompt goes through the model's chat
/// template as one user turn, after `system` (else the Modelfile's SYSTEM) and, without `context`, the Modelfile's
/// MESSAGEs, as Ollama's GenerateHandler builds it; `raw: true` sends the prompt as it is; `template` replaces the
/// model's template for this request (a Jinja chat template; Ollama's Go-template `{{ .Prompt }}` means raw).
/// `context` (the token ids a previous answer returned) continues a conversation and is returned, extended, in
/// the closing object. An empty prompt only loads the model; with `keep_alive: 0` it unloads it.
struct GenerateBody: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var suffix: String?
    var system: String?
    var template: String?
    var raw: Bool?
    var stream: Bool?
    var format: JSONValue?
    var images: [String]?
    var options: OllamaOptions?
    var keep_alive: KeepAlive?
    var context: [Int32]?
    var think: ThinkField?
    var logprobs: Bool?
    var top_logprobs: Int?
    /// Cut a prompt longer than num_ctx instead of refusing it (400 naming both token counts).
    var truncate: Bool?
}

/// Ollama's `think`: true/false, or a level ("low", "medium", "high") for models that take one.
struct ThinkField: Decodable, Sendable {
    var enabled: Bool
    var level: String?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { enabled = b; return }
        guard let s = try? c.decode(String.self), ["low", "medium", "high"].contains(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected true, false, \"low\", \"medium\" or \"high\"")
        }
        enabled = true
        level = s
    }

    /// Template variables the chat templates of thinking models read (Qwen3's `enable_thinking`, gpt-oss's
    /// `reasoning_effort`).
    var templateVariables: [String: TemplateValue] {
        var v: [String: TemplateValue] = ["enable_thinking": .bool(enabled)]
        if let level { v["reasoning_effort"] = .string(level) }
        return v
    }
}

/// Ollama's `POST /api/chat` (docs/api.md "Generate a chat completion"): `messages` (role, content, images,
/// tool_calls, tool_name, thinking) after the Modelfile's MESSAGEs, with the Modelfile's SYSTEM first unless the
/// conversation starts with its own system message (Ollama's ChatHandler); `tools` are rendered by the chat
/// template; every generated piece goes through `ChatOutputParser`, whose deltas become `message.content`,
/// `message.thinking` and `message.tool_calls`. An empty message list only loads the model (`keep_alive: 0`:
/// unloads it).
struct ChatBody: Decodable, Sendable {
    var model: String?
    var messages: [ChatBodyMessage]?
    var tools: [JSONValue]?
    var format: JSONValue?
    var options: OllamaOptions?
    var stream: Bool?
    var keep_alive: KeepAlive?
    var think: ThinkField?
    var logprobs: Bool?
    var top_logprobs: Int?
    var truncate: Bool?
}

struct ChatBodyMessage: Decodable, Sendable {
    var role: String
    var content: String?
    var images: [String]?
    var tool_calls: [ToolCallBody]?
    var tool_name: String?
    var tool_call_id: String?
    var thinking: String?

    struct ToolCallBody: Decodable, Sendable {
        var id: String?
        var function: Function
        struct Function: Decodable, Sendable {
            var name: String
            var arguments: JSONValue?
        }
    }
}

/// The request's messages as `ChatMessage`s. Tool-call arguments are taken from the order-preserving parse of
/// the body (a template may print them), as JSON text.
func chatMessages(_ messages: [ChatBodyMessage], ordered: HearthGrammar.JSONValue?) throws -> [ChatMessage] {
    let roles = ["system", "user", "assistant", "tool"]
    return try messages.enumerated().map { i, m in
        guard roles.contains(m.role) else {
            throw ServerError.badRequest("messages[\(i)].role must be one of \(roles.joined(separator: ", ")), got '\(m.role)'")
        }
        if let images = m.images, !images.isEmpty {
            throw ServerError.badRequest("messages[\(i)].images: the model cannot read images (no vision support)")
        }
        var calls: [ToolCall] = []
        for (j, c) in (m.tool_calls ?? []).enumerated() {
            let args = element(element(ordered, i)?["tool_calls"], j)?["function"]?["arguments"]
            let text: String
            switch args {
            case .none, .some(.null): text = "{}"
            case .some(.object(let members)): text = HearthGrammar.JSONValue.object(members).serialized
            case .some(.string(let s)): text = s
            case .some(let other):
                throw ServerError.badRequest("messages[\(i)].tool_calls[\(j)].function.arguments must be an object, "
                    + "got \(other.serialized)")
            }
            calls.append(ToolCall(id: c.id, name: c.function.name, arguments: text))
        }
        return ChatMessage(role: m.role, content: m.content ?? "", toolCalls: calls, toolCallId: m.tool_call_id,
                           name: m.tool_name, thinking: m.thinking)
    }
}

/// `tools` as template values (OpenAI's `{type: "function", function: {name, description, parameters}}`),
/// key order kept.
func chatTools(_ tools: HearthGrammar.JSONValue?) throws -> [TemplateValue] {
    guard let tools, tools != .null else { return [] }
    guard case .array(let items) = tools else { throw ServerError.badRequest("field 'tools' must be a list of tool objects") }
    return try items.enumerated().map { i, t in
        guard case .object = t, t["function"]?["name"]?.string != nil else {
            throw ServerError.badRequest("tools[\(i)] must be {\"type\": \"function\", \"function\": {\"name\": …, "
                + "\"parameters\": {…}}}")
        }
        do { return try TemplateValue(jsonString: t.serialized) } catch {
            throw ServerError.badRequest("tools[\(i)]: \(error)")
        }
    }
}

/// The `i`th element of a JSON array, nil when absent.
func element(_ v: HearthGrammar.JSONValue?, _ i: Int) -> HearthGrammar.JSONValue? {
    guard case .array(let a)? = v, i >= 0, i < a.count else { return nil }
    return a[i]
}

/// Any JSON value, for fields that are accepted but not interpreted by the typed decoder.
struct JSONValue: Decodable, Sendable {
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { return }
        if (try? c.decode(Bool.self)) != nil || (try? c.decode(Double.self)) != nil || (try? c.decode(String.self)) != nil {
            return
        }
        if (try? c.decode([JSONValue].self)) != nil || (try? c.decode([String: JSONValue].self)) != nil { return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }
}

/// Ollama's `format`: "" or absent (free text), "json" (any JSON object or array), or a JSON Schema object, compiled
/// to a grammar the sampler follows. A schema keyword the compiler cannot enforce is a 400 naming it.
func outputGrammar(_ format: HearthGrammar.JSONValue?) throws -> Grammar? {
    guard let format else { return nil }
    do {
        switch format {
        case .null: return nil
        case .string(let s) where s.isEmpty: return nil
        case .string(let s) where s == "json": return try Grammar(gbnf: try JSONSchemaGrammar.anyJSON)
        case .object: return try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: format))
        default:
            throw ServerError.badRequest("field 'format' must be \"json\" or a JSON Schema object, got \(format.serialized)")
        }
    } catch let e as GrammarError {
        throw ServerError.badRequest("field 'format': \(e)")
    }
}

/// Ollama's `logprobs` / `top_logprobs` (0…20) as generate options.
func applyLogprobs(_ gen: inout GenerationRequest, _ logprobs: Bool?, _ top: Int?) throws {
    if let top {
        guard (0...20).contains(top) else { throw ServerError.badRequest("top_logprobs must be between 0 and 20, got \(top)") }
        gen.options.topLogprobs = top
    }
    gen.options.logprobs = logprobs == true || (top ?? 0) > 0
}

/// The body as an order-preserving JSON value (for `format` schemas and `tools`, whose key order matters).
func orderedBody(_ data: Data) throws -> HearthGrammar.JSONValue {
    do { return try HearthGrammar.JSONValue.parse(String(decoding: data, as: UTF8.self)) } catch {
        throw ServerError.badRequest("invalid request body: not valid JSON (\(error))")
    }
}

/// `POST /api/create`'s body (OllamaCreate.swift).
struct CreateBody: Decodable, Sendable {
    var model: String?
    var name: String?
    var from: String?
    var files: [String: String]?
    var adapters: [String: String]?
    var template: String?
    var license: StringOrList?
    var system: String?
    var parameters: [String: JSONValue]?
    var messages: [Message]?
    var modelfile: String?
    var quantize: String?
    var stream: Bool?

    struct Message: Decodable, Sendable {
        var role: String
        var content: String
    }

    /// `messages` as the Modelfile's MESSAGEs (nil when absent); a role a Modelfile cannot hold is a 400.
    func modelfileMessages() throws -> [Modelfile.Message]? {
        try messages?.enumerated().map { i, msg in
            guard Modelfile.roles.contains(msg.role) else {
                throw ServerError.badRequest("messages[\(i)].role must be one of \(Modelfile.roles.joined(separator: ", ")), got '\(msg.role)'")
            }
            return Modelfile.Message(role: msg.role, content: msg.content)
        }
    }
}

/// A string or a list of strings (`license`).
struct StringOrList: Decodable, Sendable {
    var values: [String]
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { values = [s]; return }
        values = try c.decode([String].self)
    }
}

/// `POST /api/pull`'s body (OllamaCreate.swift).
struct PullBody: Decodable, Sendable {
    var model: String?
    var name: String?
    var insecure: Bool?
    var stream: Bool?
}

/// One `parameters` member: a number, string or bool as its text, a list (`stop`) one value at a time.
func setParameter(_ p: inout ModelParameters, _ name: String, _ value: HearthGrammar.JSONValue) throws {
    let texts: [String]
    switch value {
    case .array(let items): texts = items.map(parameterText)
    default: texts = [parameterText(value)]
    }
    for t in texts {
        do { try p.set(name, t) } catch { throw ServerError.badRequest("parameters.\(error.description)") }
    }
}

func parameterText(_ v: HearthGrammar.JSONValue) -> String {
    switch v {
    case .string(let s): return s
    case .number(let n): return n
    case .bool(let b): return b ? "true" : "false"
    default: return v.serialized
    }
}

/// The body of `POST /api/show` and `DELETE /api/delete` (OllamaModels.swift).
struct ModelNameBody: Decodable, Sendable {
    var model: String?
    /// The field's old name, still sent by older clients.
    var name: String?
    var verbose: Bool?

    func required() throws -> String {
        guard let n = model ?? name, !n.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ServerError.badRequest("field 'model' is required (a model name)")
        }
        return n
    }
}

/// `POST /api/copy`'s body.
struct CopyBody: Decodable, Sendable {
    var source: String
    var destination: String
}

func storeName(_ text: String, field: String) throws -> ModelName {
    do { return try ModelName(parsing: text) } catch {
        throw ServerError.badRequest("field '\(field)': \(error)")
    }
}

/// A store error as the HTTP error Ollama gives: unknown model 404, bad input 400, the rest 500.
func serverError(_ e: StoreError) -> ServerError {
    switch e {
    case .modelNotFound(let n): return .modelNotFound(n)
    case .invalidName, .modelfile, .invalidSource, .modelExists, .io: return .badRequest(e.description)
    default: return .failed(e.description)
    }
}

extension GenerateBody {
    /// What `/api/generate` checks before it needs a model: `format` as a grammar (the body is parsed again, key
    /// order kept, only when there is one), then `suffix` and `images`, which no served model can take.
    func checkedGrammar(_ data: Data) throws -> Grammar? {
        let grammar = try outputGrammar(format == nil ? nil : orderedBody(data)["format"])
        if let s = suffix, !s.isEmpty {
            throw ServerError.notSupported("suffix (fill-in-the-middle; none of the supported models' templates takes one)")
        }
        if let images, !images.isEmpty {
            throw ServerError.badRequest("images: the model cannot read images (no vision support)")
        }
        return grammar
    }
}

extension ChatBody {
    /// What `/api/chat` checks before it needs a model: `format`, `messages` and `tools` (read from the
    /// order-preserving parse of the body when any of them needs key order: schemas, tool parameters, tool-call
    /// arguments).
    func checked(_ data: Data) throws -> (grammar: Grammar?, messages: [ChatMessage], tools: [TemplateValue]) {
        let ordered = (format != nil || tools != nil || messages?.contains { $0.tool_calls != nil } == true)
            ? try orderedBody(data) : nil
        let grammar = try outputGrammar(ordered?["format"])
        let messages = try chatMessages(self.messages ?? [], ordered: ordered?["messages"])
        let tools = try chatTools(ordered?["tools"])
        return (grammar, messages, tools)
    }
}

/// The generation options of `/api/generate` and `/api/chat`, in Ollama's precedence: the engine's defaults, the
/// Modelfile's PARAMETERs, the request's `options`; then the grammar, `truncate`, `logprobs`/`top_logprobs`.
func applyOllamaOptions(to gen: inout GenerationRequest, parameters: ModelParameters, options: OllamaOptions?,
                        grammar: Grammar?, truncate: Bool?, logprobs: Bool?, topLogprobs: Int?) throws {
    parameters.apply(to: &gen)
    try options?.apply(to: &gen)
    gen.options.grammar = grammar
    gen.truncate = truncate ?? false
    try applyLogprobs(&gen, logprobs, topLogprobs)
}
