/// Unicode code point classes as llama.cpp's pre-tokenizers see them (llama.cpp `src/unicode.h`,
/// `unicode_cpt_flags`, and the table `unicode_ranges_flags` in `src/unicode-data.cpp`).
///
/// llama.cpp ships a table generated from UnicodeData.txt of Unicode 15.1 (`scripts/gen-unicode-data.py`): one
/// category bit per code point (N, L, Z, M, P, S, C, or UNDEFINED for unassigned `Cn`) plus a whitespace bit from
/// the White_Space property. We derive the same bits from `Unicode.Scalar.Properties`; code points that Swift's
/// newer Unicode data assigns but that were unassigned in 15.1 (age > 15.1) are reported as UNDEFINED, as
/// llama.cpp's table has them. Checked against the table for all 0x110000 code points: identical.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 0x0001)
    static let number = CodepointFlags(rawValue: 0x0002)       // \p{N}
    static let letter = CodepointFlags(rawValue: 0x0004)       // \p{L}
    static let separator = CodepointFlags(rawValue: 0x0008)    // \p{Z}
    static let mark = CodepointFlags(rawValue: 0x0010)         // \p{M}
    static let punctuation = CodepointFlags(rawValue: 0x0020)  // \p{P}
    static let symbol = CodepointFlags(rawValue: 0x0040)       // \p{S}
    static let control = CodepointFlags(rawValue: 0x0080)      // \p{C}
    static let whitespace = CodepointFlags(rawValue: 0x0100)   // \s (White_Space)

    /// Flags of a position outside the fragment being split (llama.cpp returns an all-zero value there).
    static let outOfRange = CodepointFlags([])

    var isNumber: Bool { contains(.number) }
    var isLetter: Bool { contains(.letter) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isPunctuation: Bool { contains(.punctuation) }
    /// True for any code point inside the fragment (llama.cpp's `flags.as_uint() != 0`).
    var isDefined: Bool { rawValue != 0 }

    /// The flags of one code point.
    @inline(__always)
    static func of(_ cp: UInt32) -> CodepointFlags {
        if cp < 128 { return asciiTable[Int(cp)] }
        return computed(cp)
    }

    private static let asciiTable: [CodepointFlags] = (0..<128).map { computed(UInt32($0)) }

    private static func computed(_ cp: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(cp) else { return .control }  // surrogates: Cs
        let props = scalar.properties
        var flags: CodepointFlags
        switch props.generalCategory {
        case .unassigned: flags = .undefined
        case .decimalNumber, .letterNumber, .otherNumber: flags = .number
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: flags = .letter
        case .spaceSeparator, .lineSeparator, .paragraphSeparator: flags = .separator
        case .nonspacingMark, .spacingMark, .enclosingMark: flags = .mark
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: flags = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: flags = .symbol
        case .control, .format, .surrogate, .privateUse: flags = .control
        @unknown default: flags = .undefined
        }
        if flags != .undefined, let age = props.age, age.major > 15 || (age.major == 15 && age.minor > 1) {
            flags = .undefined  // assigned after Unicode 15.1: unknown to llama.cpp's table
        }
        if props.isWhitespace { flags.insert(.whitespace) }
        return flags
    }
}

/// Simple lowercase mapping, used only for llama3/qwen2 contraction matching (`'S`, `'LL`...), where llama.cpp calls
/// `unicode_tolower` and compares with ASCII letters. Only ASCII capitals lowercase to ASCII letters (KELVIN SIGN
/// lowercases to `k`, which no contraction uses), so an ASCII mapping is exact here.
@inline(__always)
func asciiLower(_ cp: UInt32) -> UInt32 {
    (cp >= 0x41 && cp <= 0x5A) ? cp + 32 : cp
}
