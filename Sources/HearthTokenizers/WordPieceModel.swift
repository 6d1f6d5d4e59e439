import HearthFormats

/// The WordPiece model of a tokenizer.json (`"model": {"type": "WordPiece", "vocab", "unk_token",
/// "continuing_subword_prefix", "max_input_chars_per_word"}`), as Hugging Face tokenizers' models/wordpiece runs
/// it: greedy longest-match-first from the start of each word, pieces after the first carry the `##` prefix; a
/// word longer than `max_input_chars_per_word` characters, or one with a part no vocabulary entry matches, becomes
/// the single unknown token (Schuster & Nakajima 2012; Devlin et al. 2019).
public struct WordPieceModel: TokenizerJSONModel {
    public let vocab: [String: Int32]
    public let unkId: Int32
    public let prefix: String
    public let maxInputCharsPerWord: Int

    init(json: [String: JSONValue], path: String) throws {
        guard let v = json["vocab"]?.objectValue else {
            throw TokenizerJSONError(path: path, field: "model.vocab", message: "expected an object mapping tokens to ids")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(v.count)
        for (token, idValue) in v {
            guard let id = idValue.intValue, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerJSONError(path: path, field: "model.vocab '\(token)'", message: "expected a non-negative integer id, found \(idValue.kindName)")
            }
            vocab[token] = Int32(id)
        }
        let unk = json["unk_token"]?.stringValue ?? "[UNK]"
        guard let unkId = vocab[unk] else {
            throw TokenizerJSONError(path: path, field: "model.unk_token", message: "'\(unk)' is not in the vocabulary")
        }
        let maxChars = json["max_input_chars_per_word"]?.intValue ?? 100
        guard maxChars > 0 else {
            throw TokenizerJSONError(path: path, field: "model.max_input_chars_per_word", message: "expected a positive integer")
        }
        self.vocab = vocab
        self.unkId = unkId
        prefix = json["continuing_subword_prefix"]?.stringValue ?? "##"
        maxInputCharsPerWord = maxChars
    }

    public func tokenize(word: [Unicode.Scalar], into ids: inout [Int32]) {
        if word.count > maxInputCharsPerWord { ids.append(unkId); return }
        let mark = ids.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32?
            while start < end {
                var piece = start > 0 ? prefix : ""
                piece.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocab[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(unkId)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
