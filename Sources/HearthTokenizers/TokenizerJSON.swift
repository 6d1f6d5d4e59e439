import Foundation
import HearthFormats

/// An error in a tokenizer.json file: the file, the JSON field and what was expected.
public struct TokenizerJSONError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let field: String
    public let message: String
    public var description: String { "tokenizer '\(path)': \(field): \(message)" }
}

/// The model stage of a tokenizer.json pipeline: one word (after normalization and pre-tokenization) to ids.
/// One type per file, chosen by the JSON's `model.type` in `TokenizerJSON.makeModel`; `WordPieceModel` is the one
/// there is. BPE and Unigram models go beside it.
public protocol TokenizerJSONModel: Sendable {
    func tokenize(word: [Unicode.Scalar], into ids: inout [Int32])
}

/// A Hugging Face tokenizers pipeline loaded from tokenizer.json (the format `tokenizers.Tokenizer.save` writes):
/// added tokens → normalizer → pre-tokenizer → model → post-processor, with truncation. Supported stages: the
/// `BertNormalizer`, the `BertPreTokenizer` (and `Whitespace` splitting the same way), the `WordPiece` model, and
/// `TemplateProcessing` / `BertProcessing` / `RobertaProcessing` post-processors. Anything else is a clear error
/// naming the field, not a silently different tokenization.
public final class TokenizerJSON: Sendable {
    public let path: String
    public let normalizer: BertNormalizer?
    public let model: any TokenizerJSONModel
    /// Ids put before and after the sequence by the post-processor (`[CLS]` … `[SEP]` for BERT).
    public let prefixIds: [Int32]
    public let suffixIds: [Int32]
    /// Added tokens matched in the raw text before normalization, longest first.
    let addedTokens: [(text: [Unicode.Scalar], id: Int32)]
    /// Token text by id (vocabulary and added tokens).
    let texts: [Int32: String]
    /// The pad token id (`padding.pad_id`, else the id of `[PAD]`, else 0).
    public let padId: Int32

    public var vocabSize: Int { (texts.keys.max().map { Int($0) + 1 }) ?? 0 }

    public convenience init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerJSONError(path: path, field: "file", message: "cannot be read")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        func fail(_ field: String, _ message: String) -> TokenizerJSONError { TokenizerJSONError(path: path, field: field, message: message) }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw fail("JSON", "not valid JSON: \(JSONValue.describe(error))")
        }
        guard let root = json.objectValue else { throw fail("JSON", "expected an object, found \(json.kindName)") }
        guard let modelJSON = root["model"]?.objectValue else { throw fail("model", "expected an object with a \"type\"") }
        model = try TokenizerJSON.makeModel(modelJSON, path: path)

        switch root["normalizer"] {
        case nil, .null?: normalizer = nil
        case .object(let n)?:
            guard n["type"]?.stringValue == "BertNormalizer" else {
                throw fail("normalizer.type", "'\(n["type"]?.stringValue ?? "?")' is not supported (supported: BertNormalizer)")
            }
            normalizer = try BertNormalizer(json: n, path: path)
        case let other?: throw fail("normalizer", "expected an object or null, found \(other.kindName)")
        }
        if let pre = root["pre_tokenizer"], !pre.isNull {
            let type = pre["type"]?.stringValue ?? "?"
            guard type == "BertPreTokenizer" else {
                throw fail("pre_tokenizer.type", "'\(type)' is not supported (supported: BertPreTokenizer)")
            }
        }

        var texts: [Int32: String] = [:]
        if let wp = model as? WordPieceModel { for (t, id) in wp.vocab { texts[id] = t } }
        var added: [(text: [Unicode.Scalar], id: Int32)] = []
        if let list = root["added_tokens"], !list.isNull {
            guard let items = list.arrayValue else { throw fail("added_tokens", "expected an array, found \(list.kindName)") }
            for (i, item) in items.enumerated() {
                guard let content = item["content"]?.stringValue, !content.isEmpty, let id = item["id"]?.intValue,
                      id >= 0, id <= Int(Int32.max) else {
                    throw fail("added_tokens[\(i)]", "expected {\"id\": non-negative integer, \"content\": non-empty string}")
                }
                added.append((Array(content.unicodeScalars), Int32(id)))
                texts[Int32(id)] = content
            }
        }
        addedTokens = added.sorted { $0.text.count > $1.text.count }
        self.texts = texts
        let byText = Dictionary(texts.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        padId = root["padding"]?["pad_id"]?.intValue.map { Int32(clamping: $0) } ?? byText["[PAD]"] ?? 0
        (prefixIds, suffixIds) = try TokenizerJSON.postProcessor(root["post_processor"], byText: byText, fail: fail)
    }

    /// The model named by `model.type`: the one place a new tokenizer.json model type is added.
    static func makeModel(_ json: [String: JSONValue], path: String) throws -> any TokenizerJSONModel {
        let type = json["type"]?.stringValue ?? (json["continuing_subword_prefix"] != nil ? "WordPiece" : "?")
        switch type {
        case "WordPiece": return try WordPieceModel(json: json, path: path)
        default:
            throw TokenizerJSONError(path: path, field: "model.type",
                                     message: "'\(type)' is not supported (supported: WordPiece; BPE and Unigram tokenizer.json models are not implemented yet)")
        }
    }

    /// The special tokens a post-processor puts around a single sequence.
    static func postProcessor(_ json: JSONValue?, byText: [String: Int32],
                              fail: (String, String) -> TokenizerJSONError) throws -> ([Int32], [Int32]) {
        guard let json, !json.isNull else { return ([], []) }
        let type = json["type"]?.stringValue ?? "?"
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.arrayValue else { throw fail("post_processor.single", "expected an array") }
            let specials = json["special_tokens"]?.objectValue ?? [:]
            var before: [Int32] = [], after: [Int32] = [], seenSequence = false
            for piece in single {
                if piece["Sequence"] != nil { seenSequence = true; continue }
                guard let name = piece["SpecialToken"]?["id"]?.stringValue else {
                    throw fail("post_processor.single", "expected SpecialToken or Sequence items")
                }
                let ids = specials[name]?["ids"]?.arrayValue?.compactMap(\.intValue).map { Int32(clamping: $0) }
                    ?? byText[name].map { [$0] }
                guard let ids, !ids.isEmpty else { throw fail("post_processor.special_tokens", "no ids for '\(name)'") }
                if seenSequence { after += ids } else { before += ids }
            }
            return (before, after)
        case "BertProcessing", "RobertaProcessing":
            func pair(_ key: String) throws -> Int32 {
                guard let p = json[key]?.arrayValue, p.count == 2, let id = p[1].intValue, id >= 0 else {
                    throw fail("post_processor.\(key)", "expected [token, id]")
                }
                return Int32(clamping: id)
            }
            return ([try pair("cls")], [try pair("sep")])
        default:
            throw fail("post_processor.type", "'\(type)' is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing)")
        }
    }

    /// Token ids of `text`: added tokens split out of the raw text, the rest normalized, pre-tokenized and run
    /// through the model; with `addSpecial`, the post-processor's tokens around it. With `maxLength`, the text's
    /// tokens are cut so that the whole result (special tokens included) is at most `maxLength` long, as
    /// `truncation=True, max_length=N` does.
    public func encode(_ text: String, addSpecial: Bool = true, maxLength: Int? = nil) -> [Int32] {
        var ids: [Int32] = []
        var pending = String.UnicodeScalarView()
        func flush() {
            if pending.isEmpty { return }
            let normalized = normalizer?.normalize(String(pending)) ?? String(pending)
            for word in BertPreTokenizer.split(normalized) { model.tokenize(word: word, into: &ids) }
            pending = String.UnicodeScalarView()
        }
        let scalars = Array(text.unicodeScalars)
        var i = 0
        outer: while i < scalars.count {
            for added in addedTokens where i + added.text.count <= scalars.count
                && scalars[i..<(i + added.text.count)].elementsEqual(added.text) {
                flush()
                ids.append(added.id)
                i += added.text.count
                continue outer
            }
            pending.append(scalars[i])
            i += 1
        }
        flush()
        if !addSpecial {
            if let maxLength, ids.count > maxLength { ids.removeSubrange(max(0, maxLength)...) }
            return ids
        }
        if let maxLength {
            let room = max(0, maxLength - prefixIds.count - suffixIds.count)
            if ids.count > room { ids.removeSubrange(room...) }
        }
        return prefixIds + ids + suffixIds
    }

    /// The text of a token id (nil outside the vocabulary).
    public func tokenText(_ id: Int32) -> String? { texts[id] }
}
