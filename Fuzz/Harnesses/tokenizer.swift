import Foundation
import HearthTokenizers

/// libFuzzer harness: arbitrary bytes as a Hugging Face tokenizer.json (`TokenizerJSON(data:path:)`: the
/// WordPiece/BERT pipeline all-MiniLM-L6-v2 uses), then, when it loads, tokenization of a few texts (with and
/// without truncation) and the token texts of the ids it gave. Errors are fine; crashes, leaks and hangs are bugs.
let texts = ["Hello, world! [CLS] [SEP] [MASK]", "ÜNÏCÖDÉ 日本語 🙂 tab\there\u{0}\u{7f}", String(repeating: "ab ", count: 40), ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let json = Data(UnsafeBufferPointer(start: data, count: size))
    guard let tokenizer = try? TokenizerJSON(data: json, path: "fuzz/tokenizer.json") else { return 0 }
    for text in texts {
        for maxLength in [nil, 0, 1, 5] as [Int?] {
            let ids = tokenizer.encode(text, addSpecial: true, maxLength: maxLength)
            for id in ids { _ = tokenizer.tokenText(id) }
        }
    }
    _ = tokenizer.vocabSize
    return 0
}
