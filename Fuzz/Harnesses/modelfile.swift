import HearthStore

/// libFuzzer harness: the input (UTF-8, invalid sequences repaired) as a Modelfile (`Modelfile.parse`), and,
/// when it parses, the round trip `render` → `parse`, which must give the same Modelfile (`hearth show
/// --modelfile` output is meant to be a valid Modelfile). Errors are fine; crashes, leaks, hangs and a failed
/// round trip are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let modelfile = try? Modelfile.parse(text, file: "fuzz.Modelfile") else { return 0 }
    let rendered = modelfile.render()
    do {
        let again = try Modelfile.parse(rendered, file: "rendered.Modelfile")
        if again != modelfile {
            fatalError("render/parse round trip changed the Modelfile:\n\(modelfile)\n---\n\(again)\n---\n\(rendered)")
        }
    } catch {
        fatalError("a rendered Modelfile does not parse: \(error)\n---\n\(rendered)")
    }
    return 0
}
