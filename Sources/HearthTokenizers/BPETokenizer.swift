/// A byte-level BPE tokenizer (`tokenizer.ggml.model = gpt2`) that produces the same token ids as llama.cpp's
/// `llama_tokenize` and the same bytes as its `llama_token_to_piece` / `llama_detokenize`.
///
/// It follows llama.cpp `src/llama-vocab.cpp`: vocabulary loading (`llama_vocab::impl::load`, including its
/// auto-detection of EOT/EOM/FIM tokens by text and of end-of-generation tokens), special-token partitioning
/// (`tokenizer_st_partition`), the BPE merge loop (`llm_tokenizer_bpe_session::tokenize`) and piece decoding
/// (`token_to_piece`). Pre-tokenizers: `BPEPreTokenizer`.
///
/// Merges are kept as a dictionary from a pair of symbol ids to (rank, merged id); a string that a merge names but
/// the vocabulary lacks gets a private symbol id past the vocabulary, so merging stays id-based and still matches
/// llama.cpp's string-based rules (such symbols are emitted byte by byte, as llama.cpp does for unknown text).
public struct BPETokenizer: Sendable {
    public let preTokenizer: BPEPreTokenizer
    public let bosId: Int32?
    public let eosId: Int32?
    /// End-of-turn token (from metadata, else found by text as llama.cpp does: `<|eot_id|>`, `<|im_end|>`…).
    public let eotId: Int32?
    /// End-of-message token (`<|eom_id|>`).
    public let eomId: Int32?
    public let padId: Int32?
    /// Whether `encode(addSpecial: true)` starts with BOS / ends with EOS.
    public let addBOS: Bool
    public let addEOS: Bool
    /// Every token that ends generation, as llama.cpp's `special_eog_ids`.
    public let endOfGenerationIds: Set<Int32>

    /// Texts, attributes, special ids and the special tokens text is partitioned on.
    let vocab: Vocabulary
    /// Text → id (String keys, as the merge rules are looked up).
    let textToId: [String: Int32]
    /// Key: left symbol id << 32 | right symbol id.
    let merges: [UInt64: Merge]
    /// Texts of symbols past the vocabulary (strings that merges name but the vocabulary lacks).
    let extraTexts: [String]
    /// The symbol of each byte's byte-level character.
    let byteSymbols: [Int32]
    /// Tokens for one-byte texts (ASCII), used when a final symbol is not a token (llama.cpp's byte fallback).
    let asciiTokens: [Int32]

    var texts: [String] { vocab.texts }
    var attrs: [TokenAttributes] { vocab.attrs }

    struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    /// Builds a tokenizer from plain arrays, as a GGUF file stores them.
    ///
    /// - Parameters:
    ///   - tokens: token texts in byte-level form (`tokenizer.ggml.tokens`).
    ///   - tokenTypes: one GGUF token type per token (`tokenizer.ggml.token_type`); empty means all normal.
    ///   - merges: `"left right"` strings, highest priority first (`tokenizer.ggml.merges`).
    ///   - eotId, eomId: nil lets the tokenizer find them by text, as llama.cpp does.
    ///   - preTokenizer: a `tokenizer.ggml.pre` value (`smollm`, `gpt-2`, `qwen2`, `llama-bpe`, `default`…).
    public init(tokens: [String], tokenTypes: [Int32], merges: [String],
                bosId: Int32?, eosId: Int32?, eotId: Int32? = nil, eomId: Int32? = nil, padId: Int32? = nil,
                addBOS: Bool, addEOS: Bool, preTokenizer: String) throws {
        guard let pre = BPEPreTokenizer(name: preTokenizer) else {
            throw TokenizerError.unknownPreTokenizer(preTokenizer)
        }
        try self.init(tokens: tokens, tokenTypes: tokenTypes, merges: merges, bosId: bosId, eosId: eosId,
                      eotId: eotId, eomId: eomId, padId: padId, addBOS: addBOS, addEOS: addEOS, pre: pre,
                      fim: FIMIds())
    }

    typealias FIMIds = Vocabulary.FIMIds

    init(tokens: [String], tokenTypes: [Int32], merges mergeList: [String],
         bosId: Int32?, eosId: Int32?, eotId: Int32?, eomId: Int32?, padId: Int32?,
         addBOS: Bool, addEOS: Bool, pre: BPEPreTokenizer, fim: FIMIds) throws {
        let vocab = try Vocabulary(tokens: tokens, tokenTypes: tokenTypes, bosId: bosId, eosId: eosId, eotId: eotId,
                                   eomId: eomId, padId: padId, fim: fim)
        if addBOS && bosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_bos_token", expected: "a BOS token id when true",
                                              found: "no BOS token")
        }
        if addEOS && eosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_eos_token", expected: "an EOS token id when true",
                                              found: "no EOS token")
        }
        let n = vocab.count
        var textToId: [String: Int32] = [:]
        textToId.reserveCapacity(n)
        for i in 0..<n { textToId[vocab.texts[i]] = Int32(i) }  // a repeated text maps to its last id

        // Symbols: vocabulary ids, then private ids for strings the merges or byte alphabet need.
        var extra: [String] = []
        var extraIds: [String: Int32] = [:]
        func symbol(_ s: String) -> Int32 {
            if let id = textToId[s] { return id }
            if let id = extraIds[s] { return id }
            let id = Int32(n + extra.count)
            extra.append(s)
            extraIds[s] = id
            return id
        }
        let byteSymbols = (0..<256).map { symbol(ByteLevel.text(of: UInt8($0))) }
        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, line) in mergeList.enumerated() {
            let utf8 = Array(line.utf8)
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else { continue }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            let l = symbol(left), r = symbol(right)
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if merges[key] == nil {  // the first (best) rank wins, as llama.cpp's bpe_ranks.emplace
                merges[key] = Merge(rank: Int32(clamping: rank), result: symbol(left + right))
            }
        }

        self.preTokenizer = pre
        self.bosId = pre.clearsBOS ? nil : bosId
        self.eosId = eosId
        self.eotId = vocab.eotId
        self.eomId = vocab.eomId
        self.padId = padId
        self.addBOS = addBOS && !pre.clearsBOS
        self.addEOS = addEOS
        self.endOfGenerationIds = vocab.endOfGenerationIds
        self.vocab = vocab
        self.textToId = textToId
        self.merges = merges
        self.extraTexts = extra
        self.byteSymbols = byteSymbols
        self.asciiTokens = (0..<128).map { textToId[String(UnicodeScalar(UInt8($0)))] ?? -1 }
    }

    /// Number of tokens in the vocabulary.
    public var vocabSize: Int { texts.count }

    /// The stored text of a token (byte-level form for normal tokens), or nil for an id outside the vocabulary.
    public func tokenText(_ id: Int32) -> String? {
        id >= 0 && Int(id) < texts.count ? texts[Int(id)] : nil
    }

    /// The id of the token whose stored text is exactly `text`.
    public func tokenId(for text: String) -> Int32? { vocab.lookup.find(text) }

    /// A token's attributes (empty for an id outside the vocabulary).
    public func attributes(of id: Int32) -> TokenAttributes {
        id >= 0 && Int(id) < attrs.count ? attrs[Int(id)] : .undefined
    }
}
