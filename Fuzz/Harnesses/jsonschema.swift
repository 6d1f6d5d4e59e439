import HearthGrammar

/// libFuzzer harness: the input as a JSON Schema (`JSONSchemaGrammar.gbnf(schema:)`, llama.cpp's
/// json-schema-to-grammar semantics). A schema the compiler accepts must give GBNF that the grammar parser
/// accepts and that a matcher can start on (a compiler that emits a broken grammar is a bug, not an error).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let gbnf = try? JSONSchemaGrammar.gbnf(schema: text) else { return 0 }
    do {
        let matcher = GrammarMatcher(try Grammar(gbnf: gbnf))
        for b in Array(#"{"a": [1, "x"], "b": null, "c": true, "d": -1.5e3}"#.utf8) where !matcher.accept([b]) { break }
    } catch {
        fatalError("schema compiled to GBNF the parser rejects: \(error)\nschema: \(text)\ngbnf:\n\(gbnf)")
    }
    return 0
}
