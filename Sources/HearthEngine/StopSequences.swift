/// Stop strings over streamed text, as Ollama and llama.cpp apply them: a stop string may span token boundaries,
/// is never emitted itself (nor anything after it), and only the tail that could still grow into a stop string is
/// held back from the stream.
public struct StopSequences: Sendable {
    public let stops: [String]
    private var pending = ""
    public private(set) var stopped = false

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds newly generated text; returns what can be shown now. After a stop string is seen, `stopped` is true
    /// and the result holds only the text before it.
    public mutating func append(_ text: String) -> String {
        guard !stopped else { return "" }
        guard !stops.isEmpty else { return text }
        pending += text
        // The earliest complete stop string ends generation.
        var cut: String.Index? = nil
        for s in stops {
            if let r = pending.range(of: s), cut.map({ r.lowerBound < $0 }) ?? true { cut = r.lowerBound }
        }
        if let cut {
            stopped = true
            let out = String(pending[..<cut])
            pending = ""
            return out
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        var hold = 0
        for s in stops {
            var n = min(s.count - 1, pending.count)
            while n > hold {
                if pending.hasSuffix(s.prefix(n)) { hold = n; break }
                n -= 1
            }
        }
        let emitEnd = pending.index(pending.endIndex, offsetBy: -hold)
        let out = String(pending[..<emitEnd])
        pending = String(pending[emitEnd...])
        return out
    }

    /// The held-back text, released when generation ends without a stop string.
    public mutating func flush() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }
}
