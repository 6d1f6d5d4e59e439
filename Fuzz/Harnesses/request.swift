import Foundation
import HearthGrammar
import HearthTemplates

/// libFuzzer harness for the JSON readers request bodies go through besides Foundation's `JSONDecoder`: the
/// order-preserving `JSONValue.parse` (HearthGrammar; `format`, `response_format` and `tools` are read with it),
/// whose output must survive `serialized` → `parse` unchanged, and `TemplateValue(json:)` (HearthTemplates; what
/// messages and tools become for the chat template). When the body has a `format` object or a
/// `response_format.json_schema.schema`, it is compiled to a grammar as the server does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? TemplateValue(json: Data(UnsafeBufferPointer(start: data, count: size)))
    guard let value = try? JSONValue.parse(text) else { return 0 }
    let serialized = value.serialized
    do {
        let again = try JSONValue.parse(serialized)
        if again != value { fatalError("JSONValue round trip changed the value:\n\(text)\n---\n\(serialized)") }
    } catch {
        fatalError("serialized JSONValue does not parse: \(error)\n\(serialized)")
    }
    for schema in [value["format"], value["response_format"]?["json_schema"]?["schema"]] {
        guard let schema, case .object = schema else { continue }
        if let gbnf = try? JSONSchemaGrammar.gbnf(schema: schema) { _ = try? Grammar(gbnf: gbnf) }
    }
    return 0
}
