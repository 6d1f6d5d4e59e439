import HearthTensors

/// Building a `BPETokenizer` from GGUF metadata, with llama.cpp's defaults and precedence
/// (`llama_vocab::impl::load` in `src/llama-vocab.cpp`).
extension BPETokenizer {
    /// Reads the vocabulary from metadata keys (`tokenizer.ggml.*`), e.g. `GGUFFile.metadata(_:)`.
    ///
    /// Required: `tokenizer.ggml.model` (= `gpt2`), `.tokens`, `.merges`. Optional: `.pre` (absent: `default`),
    /// `.token_type` (absent: all normal), `.bos_token_id`/`.eos_token_id` (absent: 11, llama.cpp's gpt2 default,
    /// if the vocabulary is that large), `.eot_token_id`, `.eom_token_id`, `.padding_token_id`,
    /// `.fim_pad_token_id`, `.fim_rep_token_id`, `.fim_sep_token_id`, `.add_bos_token` (absent: true for llama3
    /// pre-tokenizers, else false), `.add_eos_token` (absent: false). A special-token id outside the vocabulary is
    /// ignored, as llama.cpp does (it warns and keeps the default). Keys of the wrong type throw, naming the key.
    public init(metadata: (String) -> MetadataValue?) throws {
        self = try withoutActuallyEscaping(metadata) { try Self(reader: MetadataReader(metadata: $0)) }
    }

    init(reader: MetadataReader) throws {
        let modelKey = "tokenizer.ggml.model"
        guard let model = try reader.string(modelKey) else { throw TokenizerError.missingKey(modelKey) }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }

        let preName = try reader.string("tokenizer.ggml.pre") ?? ""
        guard let pre = BPEPreTokenizer(name: preName) else { throw TokenizerError.unknownPreTokenizer(preName) }

        let tokens = try reader.stringArray("tokenizer.ggml.tokens")
        let merges = try reader.stringArray("tokenizer.ggml.merges")
        let types = try reader.tokenTypes(count: tokens.count)

        let n = tokens.count
        func id(_ key: String, default def: Int32?) throws -> Int32? {
            try reader.tokenId(key, default: def, vocabSize: n)
        }
        let bos = try id("tokenizer.ggml.bos_token_id", default: 11)
        let eos = try id("tokenizer.ggml.eos_token_id", default: 11)
        let eot = try id("tokenizer.ggml.eot_token_id", default: nil)
        let eom = try id("tokenizer.ggml.eom_token_id", default: nil)
        let pad = try id("tokenizer.ggml.padding_token_id", default: nil)
        let fim = FIMIds(pad: try id("tokenizer.ggml.fim_pad_token_id", default: nil),
                         rep: try id("tokenizer.ggml.fim_rep_token_id", default: nil),
                         sep: try id("tokenizer.ggml.fim_sep_token_id", default: nil))
        let addBOS = try reader.flag("tokenizer.ggml.add_bos_token", default: pre.defaultAddBOS)
        let addEOS = try reader.flag("tokenizer.ggml.add_eos_token", default: false)
        try self.init(tokens: tokens, tokenTypes: types, merges: merges, bosId: bos, eosId: eos, eotId: eot,
                      eomId: eom, padId: pad, addBOS: addBOS && bos != nil, addEOS: addEOS && eos != nil,
                      pre: pre, fim: fim)
    }

    /// Reads the vocabulary of a model file (`GGUFFile` or another `WeightSource`).
    public init(source: WeightSource) throws {
        try self.init(metadata: { source.metadata($0) })
    }
}
