import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
@testable import HearthServer
import HearthStore
import HearthTemplates

/// libFuzzer harness for the typed request bodies of both APIs (Sources/HearthServer/OllamaBodies.swift,
/// OpenAIBodies.swift, EmbedBodies.swift, RequestOptions.swift, OpenAIOptions.swift, KeepAlive.swift). Each input
/// is decoded with Foundation's `JSONDecoder` as every body the server reads, and each body that decodes goes
/// through the steps its route takes before and after it has a model: `format` / `response_format` / `grammar` /
/// tools to a grammar, messages and tools to what the chat template reads, `options` and the OpenAI sampling fields
/// over a Modelfile's parameters to `GenerationRequest`, stop lists, `keep_alive`, embedding inputs, `/api/create`'s
/// Modelfile, parameters, messages and names.
///
/// What counts as a bug besides a crash: an error that is not one the server answers as a 4xx with a message
/// (`ServerError`, or `DecodingError`, which `classify` turns into a 400; anything else would be a 500 for bad
/// input), and options that passed validation but hold a value the engine must never get (a NaN temperature, a
/// top_p over 1, more than 4 OpenAI stop strings…).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(UnsafeBufferPointer(start: data, count: size))
    // keep_alive as the environment variable and the string form take it.
    expectClean("keep_alive text") { check(try KeepAlive(parsing: String(decoding: body, as: UTF8.self))) }

    // Ollama
    route(GenerateBody.self, body) { b in
        let grammar = try b.checkedGrammar(body)
        try ollamaOptions(b.options, grammar: grammar, truncate: b.truncate, logprobs: b.logprobs, top: b.top_logprobs)
        _ = b.think?.templateVariables
        if let k = b.keep_alive { check(k) }
    }
    route(ChatBody.self, body) { b in
        let (grammar, messages, tools) = try b.checked(body)
        guard messages.count == (b.messages ?? []).count else { fatalError("chat: \(messages.count) messages of \(b.messages ?? [])") }
        for format in ToolCallFormat.allCases {
            _ = ChatOutputParser(format: format, tools: tools, think: b.think?.enabled)
        }
        try ollamaOptions(b.options, grammar: grammar, truncate: b.truncate, logprobs: b.logprobs, top: b.top_logprobs)
        if let k = b.keep_alive { check(k) }
    }
    route(CreateBody.self, body) { b in
        // /api/create's checks in its order, less those that need the store (files, an existing base model).
        guard let nameText = b.model ?? b.name else { throw ServerError.badRequest("field 'model' is required") }
        _ = try storeName(nameText, field: "model")
        var modelfile = Modelfile(from: "")
        if let text = b.modelfile {
            do { modelfile = try Modelfile.parse(text, file: "field 'modelfile'") } catch let e as StoreError { throw serverError(e) }
        }
        if let from = b.from {
            do { _ = try ModelName(parsing: from) } catch { throw ServerError.badRequest("FROM '\(from)': \(error)") }
        }
        if let l = b.license { modelfile.licenses = l.values }
        if let m = try b.modelfileMessages() { modelfile.messages = m }
        if b.parameters != nil, let members = try orderedBody(body)["parameters"]?.members {
            for m in members { try setParameter(&modelfile.parameters, m.key, m.value) }
        }
        // The created model's parameters become a request's defaults.
        var gen = GenerationRequest(prompt: [1])
        modelfile.parameters.apply(to: &gen)
        applyModelParameters(modelfile.parameters, to: &gen)
    }
    route(PullBody.self, body) { _ in }
    route(ModelNameBody.self, body) { b in _ = try storeName(try b.required(), field: "model") }
    route(CopyBody.self, body) { b in
        _ = try storeName(b.source, field: "source")
        _ = try storeName(b.destination, field: "destination")
    }
    route(EmbedBody.self, body) { b in
        let (_, dimensions, limit) = try b.checked()
        guard (dimensions ?? 1) >= 1, (limit ?? 2) >= 2 else { fatalError("embed: dimensions \(dimensions as Any), num_ctx \(limit as Any)") }
    }
    route(LegacyEmbeddingsBody.self, body) { b in _ = try checkedLimit(b.options?.num_ctx) }

    // OpenAI
    route(ChatCompletionBody.self, body) { b in
        let ordered = try orderedJSON(body)
        let (_, tools, n, grammar) = try b.checked(ordered)
        guard (1...maxChoices).contains(n) else { fatalError("chat completions: n = \(n)") }
        try b.checkLogitBias(vocabSize: 49152)
        var gen = GenerationRequest(prompt: [1])
        try b.apply(to: &gen, defaults: ModelParameters())
        check(gen)
        checkStop(b.stop, gen)
        for format in ToolCallFormat.allCases {
            let parser = ChatOutputParser(format: format, tools: tools.renderedTools ?? [])
            _ = try outputGrammar(tools, parser: parser, otherwise: grammar)
        }
        for (_, v) in b.chat_template_kwargs ?? [:] { _ = v.templateValue }
    }
    route(CompletionBody.self, body) { b in
        let (prompt, n, grammar) = try b.checked(try orderedJSON(body))
        try b.checkLogitBias(vocabSize: 49152)
        try CompletionBody.checkPromptCount(prompt, n: n)
        var gen = GenerationRequest(prompt: [1])
        try b.apply(to: &gen, defaults: ModelParameters(), grammar: grammar)
        check(gen)
        checkStop(b.stop, gen)
    }
    route(OpenAIEmbeddingsBody.self, body) { b in
        let (inputs, _, _) = try b.checked()
        guard !inputs.isEmpty, inputs.count <= 2048 else { fatalError("embeddings: \(inputs.count) inputs") }
    }
    route(TokenizeBody.self, body) { _ in }
    route(DetokenizeBody.self, body) { _ in }
    return 0
}

/// Decodes `data` as `T` as the routes do, then runs `steps`; every error must be one the server answers as a 400
/// (or a 404/501-style `ServerError`) with a message.
func route<T: Decodable>(_ type: T.Type, _ data: Data, _ steps: (T) throws -> Void) {
    expectClean("\(T.self)") { try steps(try JSONDecoder().decode(T.self, from: data)) }
}

func expectClean(_ what: String, _ work: () throws -> Void) {
    do {
        try work()
    } catch let e as ServerError {
        if e.description.isEmpty { fatalError("\(what): ServerError without a message: \(e)") }
    } catch let e as DecodingError {
        if describe(e).isEmpty { fatalError("\(what): DecodingError without a message: \(e)") }
    } catch let e as KeepAliveError {
        // Only KeepAlive(parsing:) throws it directly; inside a body it is wrapped in a DecodingError.
        guard what == "keep_alive text", !e.description.isEmpty else { fatalError("\(what): \(e)") }
    } catch {
        fatalError("\(what): \(type(of: error)) is not an error the server answers as bad input (it would be a 500): \(error)")
    }
}

/// Ollama's options over the engine's defaults, as `/api/generate` and `/api/chat` apply them.
func ollamaOptions(_ options: OllamaOptions?, grammar: Grammar?, truncate: Bool?, logprobs: Bool?, top: Int?) throws {
    var gen = GenerationRequest(prompt: [1])
    try applyOllamaOptions(to: &gen, parameters: ModelParameters(), options: options, grammar: grammar,
                           truncate: truncate, logprobs: logprobs, topLogprobs: top)
    check(gen)
}

/// What validation promises the engine about a request it let through.
func check(_ gen: GenerationRequest) {
    let s = gen.options.sampling
    func fail(_ m: String) -> Never { fatalError("validated request holds \(m): \(s), ctx \(gen.contextSize as Any)") }
    if !(s.temperature.isFinite && s.temperature >= 0) { fail("temperature \(s.temperature)") }
    if !(s.topP >= 0 && s.topP <= 1) { fail("top_p \(s.topP)") }
    if !(s.minP >= 0 && s.minP <= 1) { fail("min_p \(s.minP)") }
    if !(s.typicalP > 0 && s.typicalP <= 1) { fail("typical_p \(s.typicalP)") }
    if s.topK < 0 { fail("top_k \(s.topK)") }
    if s.repeatLastN < -1 { fail("repeat_last_n \(s.repeatLastN)") }
    if !(s.repeatPenalty.isFinite && s.repeatPenalty >= 0) { fail("repeat_penalty \(s.repeatPenalty)") }
    if !s.presencePenalty.isFinite || !s.frequencyPenalty.isFinite { fail("a penalty that is not finite") }
    if !(0...2).contains(s.mirostat) { fail("mirostat \(s.mirostat)") }
    if !(s.mirostatTau.isFinite && s.mirostatTau > 0 && s.mirostatEta.isFinite && s.mirostatEta > 0) { fail("mirostat tau/eta") }
    if s.logitBias.contains(where: { $0.key < 0 || !($0.value >= -100 && $0.value <= 100) }) { fail("logit_bias \(s.logitBias)") }
    if let c = gen.contextSize, c < 2 { fail("num_ctx \(c)") }
    if let n = gen.options.numPredict, n < -2 { fail("num_predict \(n)") }
    if !(0...20).contains(gen.options.topLogprobs) { fail("top_logprobs \(gen.options.topLogprobs)") }
}

/// OpenAI's `stop` (applied after `options.stop`, which it replaces) is at most 4 strings, empty ones dropped.
func checkStop(_ stop: StopField?, _ gen: GenerationRequest) {
    guard stop != nil else { return }
    if gen.stop.count > 4 || gen.stop.contains("") { fatalError("stop validated to \(gen.stop)") }
}

/// A keep-alive that parsed is a finite, non-negative duration or forever.
func check(_ k: KeepAlive) {
    if case .seconds(let s) = k, !(s.isFinite && s >= 0) { fatalError("keep_alive parsed to \(s) seconds") }
}
