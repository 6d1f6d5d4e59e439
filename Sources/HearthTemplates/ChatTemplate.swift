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
        nodes = try Self.onLargeStack { try Parser.parse(source) }
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
        let interpreter = TemplateInterpreter(context: context, clock: clock, limits: limits)
        let nodes = self.nodes
        return try Self.onLargeStack { try interpreter.render(nodes) }
    }

    /// Parsing and rendering recurse with the template's nesting (bounded by `Parser.maxDepth` and
    /// `TemplateLimits.maxCallDepth`); a thread with a known, large stack keeps those bounds safe whatever thread
    /// the caller is on (secondary threads may have as little as 512 KiB).
    ///
    /// On Linux the thread is a joined pthread: when this returns, the thread is gone and has released all it
    /// held, so memory checks (LeakSanitizer in the fuzz harnesses, docs/SECURITY.md) see a settled heap. A
    /// Foundation `Thread` signalled by a semaphore was still tearing down when the caller went on.
    static func onLargeStack<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>(body)
        #if canImport(Glibc)
        let job = LargeStackJob { box.result = Result { try box.body() } }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, stackSize)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(job).toOpaque()
        let rc = pthread_create(&thread, &attr, { raw in
            guard let raw else { return nil }
            Unmanaged<LargeStackJob>.fromOpaque(raw).takeRetainedValue().work()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<LargeStackJob>.fromOpaque(context).release()
            throw TemplateError(.runtime, "cannot start the render thread (pthread_create error \(rc))")
        }
        pthread_join(thread, nil)
        #else
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try box.body() }
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        #endif
        guard let result = box.result else { throw TemplateError(.runtime, "the render thread produced no result") }
        return try result.get()
    }

    /// Stack size of the parse and render thread.
    static let stackSize = 64 << 20
}

/// Hands the work to the render thread and the result back (the join or semaphore orders the accesses).
private final class ResultBox<T>: @unchecked Sendable {
    let body: () throws -> T
    var result: Result<T, Error>?
    init(_ body: @escaping () throws -> T) { self.body = body }
}

/// The non-generic work a pthread entry point (a C function pointer, which cannot capture a generic context) runs.
private final class LargeStackJob {
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
}
