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
        let modelKey = "tokenizer.ggml.model"
        guard let modelValue = metadata(modelKey) else { throw TokenizerError.missingKey(modelKey) }
        guard let model = modelValue.stringValue else {
            throw TokenizerError.invalidValue(key: modelKey, expected: "a string", found: Self.describe(modelValue))
        }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }

        let preKey = "tokenizer.ggml.pre"
        var preName = ""
        if let v = metadata(preKey) {
            guard let s = v.stringValue else {
                throw TokenizerError.invalidValue(key: preKey, expected: "a string", found: Self.describe(v))
            }
            preName = s
        }
        guard let pre = BPEPreTokenizer(name: preName) else { throw TokenizerError.unknownPreTokenizer(preName) }

        let tokens = try Self.stringArray(metadata, "tokenizer.ggml.tokens", required: true)!
        let merges = try Self.stringArray(metadata, "tokenizer.ggml.merges", required: true)!
        var types: [Int32] = []
        let typeKey = "tokenizer.ggml.token_type"
        if let v = metadata(typeKey) {
            guard let arr = v.arrayValue else {
                throw TokenizerError.invalidValue(key: typeKey, expected: "an int32 array", found: Self.describe(v))
            }
            types.reserveCapacity(arr.count)
            for (i, e) in arr.enumerated() {
                guard let t = e.intValue, let t32 = Int32(exactly: t) else {
                    throw TokenizerError.invalidValue(key: "\(typeKey)[\(i)]", expected: "an int32",
                                                      found: Self.describe(e))
                }
                types.append(t32)
            }
            guard types.count >= tokens.count else {
                throw TokenizerError.invalidValue(key: typeKey, expected: "\(tokens.count) entries (one per token)",
                                                  found: "\(types.count)")
            }
        }

        let n = tokens.count
        func id(_ key: String, default def: Int32?) throws -> Int32? {
            var value = def.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil }
            if let v = metadata(key) {
                var isBool = false
                if case .bool = v { isBool = true }
                guard let i = v.intValue, !isBool else {
                    throw TokenizerError.invalidValue(key: key, expected: "an integer token id", found: Self.describe(v))
                }
                if i >= 0 && i < n { value = Int32(i) }  // out of range: llama.cpp keeps the default
            }
            return value
        }
        func flag(_ key: String, default def: Bool) throws -> Bool {
            guard let v = metadata(key) else { return def }
            if case .bool(let b) = v { return b }
            guard let i = v.intValue else {
                throw TokenizerError.invalidValue(key: key, expected: "a bool", found: Self.describe(v))
            }
            return i != 0
        }
        let bos = try id("tokenizer.ggml.bos_token_id", default: 11)
        let eos = try id("tokenizer.ggml.eos_token_id", default: 11)
        let eot = try id("tokenizer.ggml.eot_token_id", default: nil)
        let eom = try id("tokenizer.ggml.eom_token_id", default: nil)
        let pad = try id("tokenizer.ggml.padding_token_id", default: nil)
        let fim = FIMIds(pad: try id("tokenizer.ggml.fim_pad_token_id", default: nil),
                         rep: try id("tokenizer.ggml.fim_rep_token_id", default: nil),
                         sep: try id("tokenizer.ggml.fim_sep_token_id", default: nil))
        let addBOS = try flag("tokenizer.ggml.add_bos_token", default: pre.defaultAddBOS)
        let addEOS = try flag("tokenizer.ggml.add_eos_token", default: false)
        try self.init(tokens: tokens, tokenTypes: types, merges: merges, bosId: bos, eosId: eos, eotId: eot,
                      eomId: eom, padId: pad, addBOS: addBOS && bos != nil, addEOS: addEOS && eos != nil,
                      pre: pre, fim: fim)
    }

    /// Reads the vocabulary of a model file (`GGUFFile` or another `WeightSource`).
    public init(source: WeightSource) throws {
        try self.init(metadata: { source.metadata($0) })
    }

    private static func stringArray(_ metadata: (String) -> MetadataValue?, _ key: String,
                                    required: Bool) throws -> [String]? {
        guard let v = metadata(key) else {
            if required { throw TokenizerError.missingKey(key) }
            return nil
        }
        guard let arr = v.arrayValue else {
            throw TokenizerError.invalidValue(key: key, expected: "a string array", found: describe(v))
        }
        var out: [String] = []
        out.reserveCapacity(arr.count)
        for (i, e) in arr.enumerated() {
            guard let s = e.stringValue else {
                throw TokenizerError.invalidValue(key: "\(key)[\(i)]", expected: "a string", found: describe(e))
            }
            out.append(s)
        }
        return out
    }

    static func describe(_ v: MetadataValue) -> String {
        switch v {
        case .string(let s): return "string \"\(s.prefix(40))\""
        case .array(let a): return "array of \(a.count)"
        case .bool(let b): return "bool \(b)"
        case .float32(let f): return "float \(f)"
        case .float64(let f): return "double \(f)"
        default: return "integer \(v.intValue.map(String.init) ?? "?")"
        }
    }
}
