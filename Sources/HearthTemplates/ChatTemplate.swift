import Foundation

/// A parsed chat template, rendered the way Hugging Face's `apply_chat_template` renders it: jinja2's
/// `ImmutableSandboxedEnvironment` with `trim_blocks`, `lstrip_blocks`, the `loopcontrols` extension,
/// `{% generation %}` as its body, `raise_exception`, `strftime_now`, and `tojson` as `json.dumps(ensure_ascii=False)`.
///
/// Parse errors are thrown by `init(source:)` with the template line; render errors (the template's own
/// `raise_exception`, undefined values used, sandbox limits) by `render`.
public struct ChatTemplate: @unchecked Sendable {
    public let source: String
    private let nodes: [Node]

    public init(source: String) throws {
        self.source = source
        nodes = try Parser.parse(source)
    }

    /// Renders a conversation. `messages` and `tools` are JSON-like values (see `TemplateValue(json:)`); `tools`
    /// is passed as None when nil, as transformers does, and so is `documents` unless `extra` sets it. `extra`
    /// adds or overrides template variables (e.g. `enable_thinking`). `clock` is what `strftime_now` reads
    /// (default: the local wall clock now).
    public func render(messages: [TemplateValue], tools: [TemplateValue]? = nil, addGenerationPrompt: Bool = true,
                       bosToken: String = "", eosToken: String = "", clock: TemplateClock = .now(),
                       extra: [String: TemplateValue] = [:], limits: TemplateLimits = .default) throws -> String
    {
        var context: [String: TemplateValue] = [
            "messages": .array(messages),
            "tools": tools.map { .array($0) } ?? .none,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ]
        for (k, v) in extra { context[k] = v }
        return try render(context: context, clock: clock, limits: limits)
    }

    /// Renders with exactly the given variables.
    public func render(context: [String: TemplateValue], clock: TemplateClock, limits: TemplateLimits = .default)
        throws -> String
    {
        try Interpreter(context: context, clock: clock, limits: limits).render(nodes)
    }
}
