/// Token ids → bytes and text, as llama.cpp's `llama_vocab::impl::token_to_piece` and `detokenize`
/// (`src/llama-vocab.cpp`) do for BPE vocabularies.
extension BPETokenizer {
    /// The bytes a token stands for.
    ///
    /// Normal tokens: their byte-level text decoded back to bytes (a character outside the byte alphabet gives
    /// `[UNK_BYTE_0x…]`, as llama.cpp). Control and unknown tokens: empty unless `special` is true, then their text.
    /// User-defined tokens: their text. Other types (unused, undefined) and ids outside the vocabulary: empty.
    public func piece(_ id: Int32, special: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < texts.count else { return [] }
        let attr = attrs[Int(id)]
        let text = texts[Int(id)]
        if attr.contains(.control) || attr.contains(.unknown) {
            return special ? Array(text.utf8) : []
        }
        if attr.contains(.userDefined) { return Array(text.utf8) }
        if attr.contains(.normal) { return Self.byteDecode(text) }
        if attr.contains(.byte) {
            // "<0xAB>" (SPM-style byte tokens in a BPE vocabulary)
            let u = Array(text.utf8)
            if u.count >= 6, let v = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) { return [v] }
            return []
        }
        return []
    }

    /// Decodes byte-level text to the bytes it encodes (llama.cpp `llama_decode_text`).
    static func byteDecode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let b = ByteLevel.byte(for: scalar.value) {
                out.append(b)
            } else {
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for u in String(scalar).utf8 {
                    let hex = String(u, radix: 16)
                    out.append(contentsOf: Array((hex.count == 1 ? "0" + hex : hex).utf8))
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
        return out
    }

    /// The concatenated bytes of `ids` (`llama_detokenize` with remove_special off; `special` renders control
    /// tokens). Applies llama.cpp's `clean_spaces` when the pre-tokenizer asks for it (gpt-2, llama3, default…).
    public func decodeBytes(_ ids: [Int32], special: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { out.append(contentsOf: piece(id, special: special)) }
        return preTokenizer.cleanSpaces ? Self.cleanSpaces(out) : out
    }

    /// llama.cpp's three clean-up passes, done in place as llama.cpp does them (pass 2 blanks the space after
    /// " ' " with a NUL that later comparisons see): drop the space before `?!.,`; turn " ' " into "'"; drop the
    /// space before the contractions 's 'm 're 've.
    static func cleanSpaces(_ input: [UInt8]) -> [UInt8] {
        var t = input
        let sp = UInt8(ascii: " "), ap = UInt8(ascii: "'")
        // pass 1: " ?", " !", " .", " ,"
        var total = t.isEmpty ? 0 : 1
        let total1 = t.count
        if total1 > 1 {
            for i in 1..<total1 {
                let x = t[i]
                if t[i - 1] == sp && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".")
                                      || x == UInt8(ascii: ",")) {
                    total -= 1
                }
                t[total] = x
                total += 1
            }
        }
        // pass 2: " ' " → "'"
        let total2 = total
        total = total2 > 0 ? 1 : 0
        var i = 1
        while i < total2 {
            let x = t[i]
            if x == ap && i + 1 < total2 && t[i - 1] == sp && t[i + 1] == sp {
                total -= 1
                i += 1
                t[i] = 0
            }
            t[total] = x
            total += 1
            i += 1
        }
        // pass 3: " 's", " 'm", " 're", " 've"
        let total3 = total
        total = total3 > 0 ? 1 : 0
        if total3 > 1 {
            for i in 1..<total3 {
                let x = t[i]
                if t[i - 1] == sp && x == ap && i + 1 < total3 {
                    let x1 = t[i + 1]
                    if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                        total -= 1
                    } else if i + 2 < total3 {
                        let x2 = t[i + 2]
                        if (x1 == UInt8(ascii: "r") || x1 == UInt8(ascii: "v")) && x2 == UInt8(ascii: "e") { total -= 1 }
                    }
                }
                t[total] = x
                total += 1
            }
        }
        return Array(t[0..<total])
    }
}
