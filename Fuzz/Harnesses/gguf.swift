import HearthFormats
import HearthTensors
import HearthTokenizers

/// libFuzzer harness: arbitrary bytes as a GGUF file (GGUFFile.init(bytes:)), then what a model loader does with
/// a file that parsed: read every metadata key through the typed getters, touch every tensor view's first and last
/// byte, and build the tokenizer from the GGUF vocabulary (`tokenizer.ggml.*`) and tokenize/detokenize a text.
/// Any thrown error is fine; a crash, an ASan report, a leak or a multi-GB allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? GGUFFile(bytes: bytes, name: "fuzz.gguf") else { return 0 }
    for key in file.metadataKeys {
        _ = try? file.intIfPresent(key)
        _ = try? file.floatIfPresent(key)
        _ = try? file.boolIfPresent(key)
        _ = try? file.stringIfPresent(key)
        _ = try? file.stringArrayIfPresent(key)
        _ = try? file.intArrayIfPresent(key)
        _ = try? file.floatArrayIfPresent(key)
    }
    var sum: UInt8 = 0
    for t in file.tensors where t.byteCount > 0 {
        let p = t.data.assumingMemoryBound(to: UInt8.self)
        sum &+= p[0] &+ p[t.byteCount - 1]
    }
    _ = file.architecture
    if let tok = try? makeTokenizer(source: file) {
        for text in ["Hello world! 123 <|im_start|>", "  \n\tÜnïcödé 日本語 🙂", ""] {
            let ids = tok.encode(text, addSpecial: true, parseSpecial: true)
            _ = tok.decode(ids)
            _ = tok.decode([0, 1, 2, -1, Int32.max, Int32.min], special: true)
        }
    }
    return sum == 255 ? 0 : 0
}
