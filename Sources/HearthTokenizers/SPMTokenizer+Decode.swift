/// Token ids → bytes for SentencePiece vocabularies, as llama.cpp's `token_to_piece` (case SPM) and `detokenize`.
extension SPMTokenizer {
    /// The bytes a token stands for.
    ///
    /// Normal tokens: their text with "▁" turned back into spaces. Byte tokens `<0xNN>`: that byte. Control and
    /// unknown tokens: empty unless `special` is true, then their text. User-defined tokens: their text. Other
    /// types (unused, undefined) and ids outside the vocabulary: empty.
    public func piece(_ id: Int32, special: Bool = false) -> [UInt8] {
        guard id >= 0, Int(id) < vocab.count else { return [] }
        let attr = vocab.attrs[Int(id)]
        let text = vocab.texts[Int(id)]
        if !attr.isDisjoint(with: [.control, .unknown]) { return special ? Array(text.utf8) : [] }
        if attr.contains(.userDefined) { return Array(text.utf8) }
        if attr.contains(.normal) { return Self.unescape(text) }
        if attr.contains(.byte) {
            let u = Array(text.utf8)
            if u.count >= 5, let v = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) { return [v] }
            return []
        }
        return []
    }

    /// The concatenated bytes of `ids` (`llama_detokenize` with remove_special off; `special` renders control
    /// tokens). With `add_space_prefix`, one leading space of the first token is dropped, as llama.cpp does.
    public func decodeBytes(_ ids: [Int32], special: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var removeSpace = addSpacePrefix
        for id in ids {
            let p = piece(id, special: special)
            if removeSpace, p.first == 0x20 { out.append(contentsOf: p.dropFirst()) } else { out.append(contentsOf: p) }
            removeSpace = false
        }
        return out
    }

    /// "▁" (E2 96 81) → " ".
    static func unescape(_ text: String) -> [UInt8] {
        let u = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            if u[i] == 0xE2 && i + 2 < u.count && u[i + 1] == 0x96 && u[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return out
    }
}
