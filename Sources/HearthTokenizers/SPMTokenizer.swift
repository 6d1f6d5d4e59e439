import HearthTensors

/// A SentencePiece tokenizer (`tokenizer.ggml.model = llama`, llama.cpp's "SPM" vocabulary type, used by Gemma and
/// Llama 1/2) that produces the same token ids as llama.cpp's `llama_tokenize` and the same bytes as its
/// `llama_token_to_piece` / `llama_detokenize`.
///
/// It follows `src/llama-vocab.cpp`: special-token partitioning is shared with `BPETokenizer` (`Vocabulary`); each
/// text fragment gets a leading space if `add_space_prefix` is on and it starts the text or follows a special token,
/// has its spaces replaced by U+2581 "▁", and is split into UTF-8 characters; then adjacent symbols are merged,
/// highest-scoring result first (leftmost on ties), as long as the concatenation is a vocabulary entry
/// (`llm_tokenizer_spm_session`). A final symbol that is not a token is emitted byte by byte as `<0xNN>` tokens
/// (byte fallback). Decoding turns "▁" back into spaces and byte tokens into their byte.
public struct SPMTokenizer: Tokenizer {
    public let bosId: Int32?
    public let eosId: Int32?
    public let eotId: Int32?
    public let eomId: Int32?
    public let padId: Int32?
    public let unknownId: Int32?
    public let addBOS: Bool
    public let addEOS: Bool
    /// Whether a space is put before the text and after each special token (`tokenizer.ggml.add_space_prefix`;
    /// false for Gemma 3). Decoding then drops the first token's leading space.
    public let addSpacePrefix: Bool
    public let endOfGenerationIds: Set<Int32>

    let vocab: Vocabulary
    /// Per token, its merge score (`tokenizer.ggml.scores`).
    let scores: [Float]
    /// Per byte, the token `<0xNN>` (else the one-byte text, else the unknown token, else -1).
    let byteTokens: [Int32]

    /// Builds a tokenizer from plain arrays, as a GGUF file stores them.
    ///
    /// - Parameters:
    ///   - tokens: token texts, spaces written as "▁" (`tokenizer.ggml.tokens`).
    ///   - scores: one score per token (`tokenizer.ggml.scores`); empty means all zero.
    ///   - tokenTypes: one GGUF token type per token (`tokenizer.ggml.token_type`); empty means all normal.
    ///   - eotId, eomId: nil lets the tokenizer find them by text, as llama.cpp does.
    public init(tokens: [String], scores: [Float], tokenTypes: [Int32], bosId: Int32?, eosId: Int32?,
                unknownId: Int32?, eotId: Int32? = nil, eomId: Int32? = nil, padId: Int32? = nil,
                addBOS: Bool, addEOS: Bool, addSpacePrefix: Bool) throws {
        try self.init(tokens: tokens, scores: scores, tokenTypes: tokenTypes, bosId: bosId, eosId: eosId,
                      unknownId: unknownId, eotId: eotId, eomId: eomId, padId: padId, addBOS: addBOS, addEOS: addEOS,
                      addSpacePrefix: addSpacePrefix, fim: Vocabulary.FIMIds())
    }

    init(tokens: [String], scores: [Float], tokenTypes: [Int32], bosId: Int32?, eosId: Int32?, unknownId: Int32?,
         eotId: Int32?, eomId: Int32?, padId: Int32?, addBOS: Bool, addEOS: Bool, addSpacePrefix: Bool,
         fim: Vocabulary.FIMIds) throws {
        guard scores.isEmpty || scores.count >= tokens.count else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.scores", expected: "\(tokens.count) entries",
                                              found: "\(scores.count)")
        }
        let vocab = try Vocabulary(tokens: tokens, tokenTypes: tokenTypes, bosId: bosId, eosId: eosId, eotId: eotId,
                                   eomId: eomId, padId: padId, unkId: unknownId, fim: fim)
        if addBOS && bosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_bos_token", expected: "a BOS token id when true",
                                              found: "no BOS token")
        }
        if addEOS && eosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_eos_token", expected: "an EOS token id when true",
                                              found: "no EOS token")
        }
        let hex = Array("0123456789ABCDEF".utf8)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[b >> 4],
                                         hex[b & 15], UInt8(ascii: ">")], as: UTF8.self)
            var one = [UInt8(b)]
            let single = one.withUnsafeMutableBufferPointer { vocab.lookup.find(UnsafeBufferPointer($0)) }
            byteTokens[b] = vocab.lookup.find(name) ?? (single >= 0 ? single : (unknownId ?? -1))
        }
        self.bosId = bosId
        self.eosId = eosId
        self.eotId = vocab.eotId
        self.eomId = vocab.eomId
        self.padId = padId
        self.unknownId = unknownId
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.endOfGenerationIds = vocab.endOfGenerationIds
        self.vocab = vocab
        self.scores = scores.isEmpty ? [Float](repeating: 0, count: tokens.count) : Array(scores[0..<tokens.count])
        self.byteTokens = byteTokens
    }

    /// Reads the vocabulary from metadata keys (`tokenizer.ggml.*`), e.g. `GGUFFile.metadata(_:)`, with llama.cpp's
    /// SPM defaults: BOS 1, EOS 2, unknown 0, `add_bos_token` true, `add_eos_token` false, `add_space_prefix` true.
    ///
    /// Required: `tokenizer.ggml.model` (= `llama`), `.tokens`. Optional: `.scores` (absent: all zero),
    /// `.token_type` (absent: all normal), `.bos_token_id`, `.eos_token_id`, `.unknown_token_id`, `.eot_token_id`,
    /// `.eom_token_id`, `.padding_token_id`, `.fim_*_token_id`, `.add_bos_token`, `.add_eos_token`,
    /// `.add_space_prefix`. A special-token id outside the vocabulary is ignored, as llama.cpp does.
    public init(metadata: (String) -> MetadataValue?) throws {
        self = try withoutActuallyEscaping(metadata) { try Self(reader: MetadataReader(metadata: $0)) }
    }

    init(reader: MetadataReader) throws {
        let modelKey = "tokenizer.ggml.model"
        guard let model = try reader.string(modelKey) else { throw TokenizerError.missingKey(modelKey) }
        guard model == "llama" else { throw TokenizerError.unsupportedModel(model) }
        let tokens = try reader.stringArray("tokenizer.ggml.tokens")
        let n = tokens.count
        let scores = try reader.scores(count: n)
        let types = try reader.tokenTypes(count: n)
        func id(_ key: String, default def: Int32?) throws -> Int32? {
            try reader.tokenId(key, default: def, vocabSize: n)
        }
        let bos = try id("tokenizer.ggml.bos_token_id", default: 1)
        let eos = try id("tokenizer.ggml.eos_token_id", default: 2)
        let unk = try id("tokenizer.ggml.unknown_token_id", default: 0)
        let eot = try id("tokenizer.ggml.eot_token_id", default: nil)
        let eom = try id("tokenizer.ggml.eom_token_id", default: nil)
        let pad = try id("tokenizer.ggml.padding_token_id", default: nil)
        let fim = Vocabulary.FIMIds(pad: try id("tokenizer.ggml.fim_pad_token_id", default: nil),
                                    rep: try id("tokenizer.ggml.fim_rep_token_id", default: nil),
                                    sep: try id("tokenizer.ggml.fim_sep_token_id", default: nil))
        let addBOS = try reader.flag("tokenizer.ggml.add_bos_token", default: true)
        let addEOS = try reader.flag("tokenizer.ggml.add_eos_token", default: false)
        let addSpacePrefix = try reader.flag("tokenizer.ggml.add_space_prefix", default: true)
        try self.init(tokens: tokens, scores: scores, tokenTypes: types, bosId: bos, eosId: eos, unknownId: unk,
                      eotId: eot, eomId: eom, padId: pad, addBOS: addBOS && bos != nil, addEOS: addEOS && eos != nil,
                      addSpacePrefix: addSpacePrefix, fim: fim)
    }

    /// Reads the vocabulary of a model file (`GGUFFile` or another `WeightSource`).
    public init(source: WeightSource) throws {
        try self.init(metadata: { source.metadata($0) })
    }

    public var vocabSize: Int { vocab.count }

    /// The stored text of a token ("▁" for spaces in normal tokens), or nil for an id outside the vocabulary.
    public func tokenText(_ id: Int32) -> String? { vocab.text(id) }

    public func tokenId(for text: String) -> Int32? { vocab.lookup.find(text) }

    public func attributes(of id: Int32) -> TokenAttributes { vocab.attributes(of: id) }

    /// A token's merge score, or nil for an id outside the vocabulary.
    public func score(of id: Int32) -> Float? { id >= 0 && Int(id) < scores.count ? scores[Int(id)] : nil }
}
