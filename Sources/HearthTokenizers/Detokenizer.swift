/// Streaming detokenization: feed token ids one at a time, get text back only in whole UTF-8 characters.
///
/// A token can end in the middle of a multi-byte character (byte-level BPE splits emoji and CJK across tokens), so
/// the bytes of an incomplete trailing sequence are held until the tokens that complete it arrive, as llama.cpp's
/// server does before streaming (`validate_utf8` in tools/server). Bytes that can never form a character are passed
/// on as U+FFFD rather than held. Pieces are those of `Tokenizer.piece(_:special:)`, without `clean_spaces`
/// (llama.cpp streams raw pieces too).
public struct Detokenizer: Sendable {
    public let tokenizer: any Tokenizer
    /// Whether control tokens are rendered as their text.
    public let special: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// Adds one token; returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        append(bytes: tokenizer.piece(id, special: special))
    }

    /// Adds raw bytes; returns the text that is now complete (possibly empty).
    public mutating func append(bytes: [UInt8]) -> String {
        pending.append(contentsOf: bytes)
        let cut = Detokenizer.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[0..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Bytes held back because they end in an incomplete character.
    public var pendingBytes: [UInt8] { pending }

    /// Returns whatever is held (an incomplete character becomes U+FFFD) and empties the buffer.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a UTF-8 sequence that could still be completed.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // Look back at most 3 bytes for the lead byte of the last sequence.
        var k = n - 1
        var back = 0
        while k >= 0 && back < 3 && b[k] & 0xC0 == 0x80 {
            k -= 1
            back += 1
        }
        guard k >= 0 else { return n }  // only continuation bytes: never completable
        let lead = b[k]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return n  // ASCII or an invalid lead: nothing to wait for
        }
        let have = n - k
        if have >= need { return n }
        // Hold the partial sequence only if its bytes so far can still be valid.
        if have >= 2 {
            let second = b[k + 1]
            if lead == 0xE0 && second < 0xA0 { return n }
            if lead == 0xED && second > 0x9F { return n }
            if lead == 0xF0 && second < 0x90 { return n }
            if lead == 0xF4 && second > 0x8F { return n }
        }
        return k
    }
}
