import HearthTensors

/// What the engine needs from a tokenizer, whatever the vocabulary type: `BPETokenizer` (`tokenizer.ggml.model =
/// gpt2`) and `SPMTokenizer` (`llama`). `makeTokenizer(metadata:)` picks one from a model's metadata.
public protocol Tokenizer: Sendable {
    /// Number of tokens in the vocabulary.
    var vocabSize: Int { get }
    var bosId: Int32? { get }
    var eosId: Int32? { get }
    /// Whether `encode(addSpecial: true)` starts with BOS / ends with EOS.
    var addBOS: Bool { get }
    var addEOS: Bool { get }
    /// Every token that ends generation, as llama.cpp's `special_eog_ids`.
    var endOfGenerationIds: Set<Int32> { get }

    /// Tokenizes `text` as `llama_tokenize(vocab, text, addSpecial, parseSpecial)` does.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS / EOS as the model asks (`addBOS`, `addEOS`).
    ///   - parseSpecial: match control tokens (`<|im_start|>`, `<start_of_turn>`…) in the text; user-defined tokens
    ///     are always matched.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32]

    /// The bytes a token stands for (`llama_token_to_piece`); control and unknown tokens are empty unless `special`.
    func piece(_ id: Int32, special: Bool) -> [UInt8]

    /// The concatenated bytes of `ids` (`llama_detokenize` with remove_special off; `special` renders control
    /// tokens).
    func decodeBytes(_ ids: [Int32], special: Bool) -> [UInt8]

    /// The stored text of a token, or nil for an id outside the vocabulary.
    func tokenText(_ id: Int32) -> String?

    /// The id of the token whose stored text is exactly `text`.
    func tokenId(for text: String) -> Int32?

    /// A token's attributes (empty for an id outside the vocabulary).
    func attributes(of id: Int32) -> TokenAttributes
}

extension Tokenizer {
    /// The bytes a token stands for, control tokens rendered empty.
    public func piece(_ id: Int32) -> [UInt8] { piece(id, special: false) }

    /// The concatenated bytes of `ids`, control tokens rendered empty.
    public func decodeBytes(_ ids: [Int32]) -> [UInt8] { decodeBytes(ids, special: false) }

    /// The text of `ids`; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int32], special: Bool = false) -> String {
        String(decoding: decodeBytes(ids, special: special), as: UTF8.self)
    }

    /// A streaming decoder over this vocabulary.
    public func makeDetokenizer(special: Bool = false) -> Detokenizer {
        Detokenizer(tokenizer: self, special: special)
    }

    /// Whether generating this token ends generation (EOS, EOT, EOM and the tokens llama.cpp adds by text).
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGenerationIds.contains(id) }

    /// Whether a token is a control token (`<|im_start|>`, `<start_of_turn>`…).
    public func isControl(_ id: Int32) -> Bool { attributes(of: id).contains(.control) }
}

/// Builds the tokenizer a model's metadata describes, by `tokenizer.ggml.model`: `gpt2` → `BPETokenizer`,
/// `llama` → `SPMTokenizer`. Any other value throws `TokenizerError.unsupportedModel` naming it.
public func makeTokenizer(metadata: (String) -> MetadataValue?) throws -> any Tokenizer {
    let key = "tokenizer.ggml.model"
    guard let model = try withoutActuallyEscaping(metadata, do: { try MetadataReader(metadata: $0).string(key) }) else {
        throw TokenizerError.missingKey(key)
    }
    switch model {
    case "gpt2": return try BPETokenizer(metadata: metadata)
    case "llama": return try SPMTokenizer(metadata: metadata)
    default: throw TokenizerError.unsupportedModel(model)
    }
}

/// The tokenizer of a model file (`GGUFFile` or another `WeightSource`).
public func makeTokenizer(source: WeightSource) throws -> any Tokenizer {
    try makeTokenizer(metadata: { source.metadata($0) })
}

extension BPETokenizer: Tokenizer {}
