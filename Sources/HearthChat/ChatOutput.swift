import HearthTemplates

/// A piece of a chat answer as the APIs report it: visible content, reasoning ("thinking") text, or a tool call.
public enum ChatDelta: Sendable, Equatable {
    case content(String)
    case thinking(String)
    case toolCall(ToolCall)
}

/// Splits a model's streamed output into content, thinking and tool calls, as the model's chat template marks
/// them. Both server APIs feed every generated text piece through one of these and report what comes out, so
/// streaming and non-streaming answers agree (any split of the same text gives the same deltas, merged).
///
/// What it recognizes (see `ToolCallFormat`, `ThinkingTags`):
/// - thinking: `<think>…</think>` at the start of the answer (or from the first word when the prompt opened the
///   block), reported as `.thinking`, unless `think` is false;
/// - tool calls, when tools were offered: the format's start marker (`<tool_call>…</tool_call>` blocks, text
///   after `[TOOL_CALLS]` or `<|python_tag|>`), and an answer that is wholly a JSON call object or array of them
///   naming an offered tool (Llama 3 and Mistral write exactly that once their marker token, a control token, is
///   left out of the text). Whitespace around calls is dropped.
///
/// Streaming holds back only text that may still become a marker (or a JSON answer that may still be a call),
/// plus trailing whitespace. A call whose JSON does not parse is reported as the content it was, never dropped.
public struct ChatOutputParser: Sendable {
    /// The tools the request offered (OpenAI shape); empty when none (or `tool_choice` is `none`).
    public let tools: [TemplateValue]
    /// Whether reasoning is separated from content (Ollama `think`); nil = the model's default.
    public let think: Bool?
    /// How this model writes tool calls.
    public let format: ToolCallFormat
    /// The thinking tags being separated out; nil when thinking is not separated.
    public let thinkingTags: ThinkingTags?
    /// Whether the prompt opened the thinking block, so output starts inside it.
    public let startsInThinking: Bool
    let toolNames: Set<String>

    enum State: Sendable, Equatable {
        /// Nothing but whitespace seen since the start (or since the end of thinking).
        case start
        case content
        case thinking
        /// Inside a call opened by this marker.
        case call(String)
        /// The answer opened with `{` or `[`: held until it is known whether it is a call.
        case whole
    }

    private var state: State
    private var buffer: [UInt8] = []
    private var afterThinking = false
    private var madeCall = false
    /// Whitespace dropped before a call marker, given back if the call turns out not to be one.
    private var spaceBeforeCall: [UInt8] = []

    /// A parser for a known format (tests, or callers without a `ChatFormatter`). `think == false` turns thinking
    /// separation off whatever `thinkingTags` says.
    public init(format: ToolCallFormat, tools: [TemplateValue] = [], think: Bool? = nil,
                thinkingTags: ThinkingTags? = nil, startsInThinking: Bool = false) {
        self.tools = tools
        self.think = think
        self.format = format
        self.thinkingTags = think == false ? nil : thinkingTags
        toolNames = Set(tools.compactMap(ChatTools.name(of:)))
        self.startsInThinking = startsInThinking && self.thinkingTags != nil
        state = self.startsInThinking ? .thinking : .start
    }

    /// Takes the next piece of generated text; returns what can be reported now (text that might still be the
    /// start of a tool call or a tag is held back until it is decided).
    public mutating func feed(_ text: String) -> [ChatDelta] {
        buffer += text.utf8
        var out = DeltaList()
        process(&out, final: false)
        return out.items
    }

    /// The end of generation: whatever was held back, decided.
    public mutating func finish() -> [ChatDelta] {
        var out = DeltaList()
        process(&out, final: true)
        return out.items
    }

    /// Markers that open a call inside content.
    private var callMarkers: [[UInt8]] {
        guard !tools.isEmpty, let m = format.startMarker else { return [] }
        return [Array(m.utf8)]
    }

    private mutating func process(_ out: inout DeltaList, final: Bool) {
        while true {
            switch state {
            case .start:
                guard let first = buffer.firstIndex(where: { !ToolCallDecoding.isSpace($0) }) else {
                    if final {
                        if !afterThinking && !madeCall { out.content(buffer) }
                        buffer = []
                    }
                    return
                }
                let rest = buffer[first...]
                if let tags = thinkingTags, !afterThinking {
                    let open = Array(tags.open.utf8)
                    if rest.starts(with: open) {
                        buffer = Array(rest.dropFirst(open.count))
                        state = .thinking
                        continue
                    }
                    if !final && open.starts(with: rest) { return }
                }
                if !tools.isEmpty, rest.first == UInt8(ascii: "{") || rest.first == UInt8(ascii: "[") {
                    buffer = Array(rest)
                    state = .whole
                    continue
                }
                if afterThinking { buffer = Array(rest) }
                state = .content

            case .thinking:
                let close = Array(thinkingTags?.close.utf8 ?? "</think>".utf8)
                if let at = ChatOutputParser.find(close, in: buffer) {
                    out.thinking(buffer[..<at])
                    buffer.removeFirst(at + close.count)
                    afterThinking = true
                    state = .start
                    continue
                }
                let keep = final ? buffer.count : ChatOutputParser.heldSuffixStart(buffer, markers: [close])
                out.thinking(buffer[..<keep])
                buffer.removeFirst(keep)
                return

            case .content:
                let markers = callMarkers
                if let (at, marker) = ChatOutputParser.earliest(markers, in: buffer) {
                    var end = at
                    while end > 0, ToolCallDecoding.isSpace(buffer[end - 1]) { end -= 1 }
                    out.content(buffer[..<end])
                    spaceBeforeCall = Array(buffer[end..<at])
                    buffer.removeFirst(at + marker.count)
                    state = .call(String(decoding: marker, as: UTF8.self))
                    continue
                }
                if final {
                    if !(madeCall && buffer.allSatisfy(ToolCallDecoding.isSpace)) { out.content(buffer) }
                    buffer = []
                    return
                }
                var keep = ChatOutputParser.heldSuffixStart(buffer, markers: markers)
                while keep > 0, ToolCallDecoding.isSpace(buffer[keep - 1]) { keep -= 1 }
                out.content(buffer[..<keep])
                buffer.removeFirst(keep)
                return

            case .call(let marker):
                let close: [UInt8]? = marker == "<tool_call>" ? Array("</tool_call>".utf8) : nil
                if let close, let at = ChatOutputParser.find(close, in: buffer) {
                    let body = String(decoding: buffer[..<at], as: UTF8.self)
                    if let calls = decode(body, marker: marker) {
                        calls.forEach { out.call($0) }
                        madeCall = true
                    } else {
                        out.content(spaceBeforeCall + Array(marker.utf8) + buffer[..<(at + close.count)])
                    }
                    buffer.removeFirst(at + close.count)
                    state = .content
                    continue
                }
                guard final else { return }
                let body = String(decoding: buffer, as: UTF8.self)
                if let calls = decode(body, marker: marker) {
                    calls.forEach { out.call($0) }
                    madeCall = true
                } else {
                    out.content(spaceBeforeCall + Array(marker.utf8) + buffer)
                }
                buffer = []
                return

            case .whole:
                switch ToolCallDecoding.jsonExtent(buffer, from: 0) {
                case .complete(let end):
                    let more = buffer[end...].contains { !ToolCallDecoding.isSpace($0) }
                    if !final && !more { return }
                    let text = String(decoding: buffer[..<end], as: UTF8.self)
                    if let calls = ToolCallDecoding.calls(json: text, names: toolNames) {
                        calls.forEach { out.call($0) }
                        madeCall = true
                        buffer.removeFirst(end)
                        // Another call may follow on the next line (parallel calls as JSON lines).
                        afterThinking = true
                        state = .start
                        continue
                    }
                    state = .content
                case .incomplete:
                    guard final else { return }
                    state = .content
                case .invalid:
                    state = .content
                }
            }
        }
    }

    /// The calls in a marked block, or nil when it is not one (the caller reports it as content).
    private func decode(_ body: String, marker: String) -> [ToolCall]? {
        switch marker {
        case "[TOOL_CALLS]": return ToolCallDecoding.mistralCalls(body, names: nil)
        default: return ToolCallDecoding.callSequence(body, names: nil)
        }
    }

    // MARK: byte search

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count else { return nil }
        let first = needle[0]
        var i = 0
        while i <= hay.count - needle.count {
            if hay[i] == first && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func earliest(_ needles: [[UInt8]], in hay: [UInt8]) -> (Int, [UInt8])? {
        var best: (Int, [UInt8])?
        for n in needles {
            if let at = find(n, in: hay), best.map({ at < $0.0 }) ?? true { best = (at, n) }
        }
        return best
    }

    /// Where the longest tail of `hay` that is a proper prefix of one of `markers` starts (hay.count if none):
    /// the text from there on may still become a marker.
    static func heldSuffixStart(_ hay: [UInt8], markers: [[UInt8]]) -> Int {
        var start = hay.count
        for m in markers {
            var len = min(m.count - 1, hay.count)
            while len > 0 {
                if hay[(hay.count - len)...].elementsEqual(m[..<len]) {
                    start = min(start, hay.count - len)
                    break
                }
                len -= 1
            }
        }
        return start
    }
}

/// Deltas in order, adjacent pieces of the same kind merged.
struct DeltaList {
    var items: [ChatDelta] = []

    mutating func content<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard !bytes.isEmpty else { return }
        let text = String(decoding: Array(bytes), as: UTF8.self)
        if case .content(let prev)? = items.last { items[items.count - 1] = .content(prev + text) } else { items.append(.content(text)) }
    }

    mutating func thinking<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard !bytes.isEmpty else { return }
        let text = String(decoding: Array(bytes), as: UTF8.self)
        if case .thinking(let prev)? = items.last { items[items.count - 1] = .thinking(prev + text) } else { items.append(.thinking(text)) }
    }

    mutating func call(_ c: ToolCall) { items.append(.toolCall(c)) }
}
