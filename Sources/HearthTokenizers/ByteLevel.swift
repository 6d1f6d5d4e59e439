/// GPT-2's byte-level encoding (OpenAI `bytes_to_unicode`, llama.cpp `unicode_byte_to_utf8_map` in `src/unicode.cpp`):
/// every byte maps to one printable code point, so BPE vocabularies can store arbitrary bytes as text. Bytes
/// `!`…`~`, `¡`…`¬` and `®`…`ÿ` map to themselves; the other 68 bytes map, in increasing order, to U+0100, U+0101….
enum ByteLevel {
    /// The code point each byte is written as.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte a code point stands for, or nil when the code point is not one of the 256 byte characters.
    @inline(__always)
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            let b = Int(scalar)
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) { return UInt8(b) }
            return nil
        }
        guard scalar < 256 + 68 else { return nil }
        return reverseHigh[Int(scalar - 256)]
    }

    private static let reverseHigh: [UInt8] = {
        var out = [UInt8](repeating: 0, count: 68)
        for b in 0..<256 where byteToScalar[b] >= 256 { out[Int(byteToScalar[b] - 256)] = UInt8(b) }
        return out
    }()

    /// The text of one byte as a vocabulary stores it.
    static func text(of byte: UInt8) -> String {
        String(Unicode.Scalar(byteToScalar[Int(byte)])!)
    }

    /// Encodes raw bytes as byte-level text (what the vocabulary's token strings look like).
    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }
}
