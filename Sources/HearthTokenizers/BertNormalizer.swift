import Foundation
import HearthFormats

/// BERT's text normalizer, as Hugging Face tokenizers' `BertNormalizer` (tokenizers/src/normalizers/bert.rs) runs
/// it, in its order: clean the text (drop NUL, U+FFFD and "other" characters — categories Cc, Cf, Cs, Co, Cn —
/// except tab/newline/return; turn every White_Space character into a space), put spaces around CJK ideographs,
/// strip accents (NFD, then drop nonspacing marks, category Mn), lowercase (full Unicode lowercase mapping).
/// `strip_accents: null` follows `lowercase`, as in the original BERT.
public struct BertNormalizer: Sendable, Equatable {
    public var cleanText = true
    public var handleChineseChars = true
    public var stripAccents = true
    public var lowercase = true

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    /// From tokenizer.json's `normalizer` object (`{"type": "BertNormalizer", "clean_text", "handle_chinese_chars",
    /// "strip_accents", "lowercase"}`).
    init(json: [String: JSONValue], path: String) throws {
        func flag(_ key: String, _ d: Bool) throws -> Bool {
            guard let v = json[key], !v.isNull else { return d }
            guard let b = v.boolValue else {
                throw TokenizerJSONError(path: path, field: "normalizer.\(key)", message: "expected a boolean, found \(v.kindName)")
            }
            return b
        }
        let lower = try flag("lowercase", true)
        self.init(cleanText: try flag("clean_text", true), handleChineseChars: try flag("handle_chinese_chars", true),
                  stripAccents: json["strip_accents"].flatMap { $0.isNull ? nil : $0.boolValue }, lowercase: lower)
        if let v = json["strip_accents"], !v.isNull, v.boolValue == nil {
            throw TokenizerJSONError(path: path, field: "normalizer.strip_accents", message: "expected a boolean or null, found \(v.kindName)")
        }
    }

    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars {
            if cleanText {
                if u.value == 0 || u.value == 0xFFFD || BertNormalizer.isControl(u) { continue }
                if BertNormalizer.isWhitespace(u) { out.append(" "); continue }
            }
            if handleChineseChars && BertNormalizer.isChineseChar(u) {
                out.append(" "); out.append(u); out.append(" ")
            } else {
                out.append(u)
            }
        }
        var s = String(out)
        if stripAccents {
            let decomposed = s.decomposedStringWithCanonicalMapping
            var kept = String.UnicodeScalarView()
            for u in decomposed.unicodeScalars where u.properties.generalCategory != .nonspacingMark { kept.append(u) }
            s = String(kept)
        }
        if lowercase {
            var lowered = String.UnicodeScalarView()
            for u in s.unicodeScalars {
                if u.properties.changesWhenLowercased {
                    lowered.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars)
                } else {
                    lowered.append(u)
                }
            }
            s = String(lowered)
        }
        return s
    }

    /// bert.rs `is_whitespace`: tab, newline, return, or Unicode White_Space.
    static func isWhitespace(_ u: Unicode.Scalar) -> Bool {
        u == "\t" || u == "\n" || u == "\r" || u.properties.isWhitespace
    }

    /// bert.rs `is_control`: category C* ("other") except tab, newline, return.
    static func isControl(_ u: Unicode.Scalar) -> Bool {
        if u == "\t" || u == "\n" || u == "\r" { return false }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// bert.rs `is_chinese_char`: the CJK Unified Ideographs blocks (and extensions, compatibility ideographs).
    static func isChineseChar(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

/// BERT's pre-tokenizer, as Hugging Face tokenizers' `BertPreTokenizer` (pre_tokenizers/bert.rs): split on
/// whitespace (dropped) and make every punctuation character its own word (ASCII punctuation, which includes
/// symbols such as `$+<=>^|~`, or Unicode categories Pc Pd Ps Pe Pi Pf Po).
public enum BertPreTokenizer {
    public static func split(_ text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for u in text.unicodeScalars {
            if u.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if isPunctuation(u) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([u])
            } else {
                current.append(u)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func isPunctuation(_ u: Unicode.Scalar) -> Bool {
        if u.isASCII {
            let v = u.value
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
        }
        switch u.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
