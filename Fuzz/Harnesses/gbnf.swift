import HearthGrammar

/// libFuzzer harness: the input up to its first NUL byte is a GBNF grammar (`Grammar(gbnf:)`, llama.cpp's
/// syntax), the rest a text fed byte by byte to a `GrammarMatcher` of the grammar (as constrained sampling does:
/// `accepts` before `accept`, `isComplete`/`mustEnd` after each). Errors are fine; crashes, leaks, hangs and
/// memory growth (the matcher's stacks must stay bounded) are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? size
    let source = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<split]), as: UTF8.self)
    guard let grammar = try? Grammar(gbnf: source) else { return 0 }
    let matcher = GrammarMatcher(grammar)
    let text = split < size ? Array(bytes[(split + 1)...]) : []
    for b in text.prefix(512) {
        let ok = matcher.accepts([b])
        if matcher.accept([b]) != ok { fatalError("accepts and accept disagree on byte \(b)") }
        if !ok { break }
        _ = matcher.isComplete
        _ = matcher.mustEnd
    }
    return 0
}
