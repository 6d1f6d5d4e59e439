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

    let texts: [String]
    let attrs: [TokenAttributes]
    let textToId: [String: Int32]
    /// Key: left symbol id << 32 | right symbol id.
    let merges: [UInt64: Merge]
    /// Texts of symbols past the vocabulary (strings that merges name but the vocabulary lacks).
    let extraTexts: [String]
    /// The symbol of each byte's byte-level character.
    let byteSymbols: [Int32]
    /// Tokens for one-byte texts (ASCII), used when a final symbol is not a token (llama.cpp's byte fallback).
    let asciiTokens: [Int32]
    /// Control, user-defined and unknown tokens, longest text first: what text is partitioned on.
    let specialTokens: [SpecialToken]

    struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    struct SpecialToken: Sendable {
        let id: Int32
        let bytes: [UInt8]
        let attrs: TokenAttributes
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

    /// FIM token ids given by metadata (those left nil are found by text).
    struct FIMIds {
        var pad: Int32?
        var rep: Int32?
        var sep: Int32?
    }

    init(tokens: [String], tokenTypes: [Int32], merges mergeList: [String],
         bosId: Int32?, eosId: Int32?, eotId: Int32?, eomId: Int32?, padId: Int32?,
         addBOS: Bool, addEOS: Bool, pre: BPEPreTokenizer, fim: FIMIds) throws {
        let n = tokens.count
        guard n > 0 else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", expected: "a non-empty array", found: "0 tokens")
        }
        guard n < Int(Int32.max) else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", expected: "fewer than 2^31 tokens", found: "\(n)")
        }
        guard tokenTypes.isEmpty || tokenTypes.count >= n else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type", expected: "\(n) entries",
                                              found: "\(tokenTypes.count)")
        }
        for (key, id) in [("tokenizer.ggml.bos_token_id", bosId), ("tokenizer.ggml.eos_token_id", eosId),
                          ("tokenizer.ggml.eot_token_id", eotId), ("tokenizer.ggml.eom_token_id", eomId),
                          ("tokenizer.ggml.padding_token_id", padId)] {
            if let id, id < 0 || Int(id) >= n {
                throw TokenizerError.invalidValue(key: key, expected: "a token id below \(n)", found: "\(id)")
            }
        }
        if addBOS && bosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_bos_token", expected: "a BOS token id when true",
                                              found: "no BOS token")
        }
        if addEOS && eosId == nil {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_eos_token", expected: "an EOS token id when true",
                                              found: "no EOS token")
        }

        var texts = tokens
        var textToId: [String: Int32] = [:]
        textToId.reserveCapacity(n)
        for i in 0..<n {
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }  // as llama.cpp
            textToId[texts[i]] = Int32(i)  // a repeated text maps to its last id, as llama.cpp's token_to_id
        }
        var attrs = tokenTypes.isEmpty ? [TokenAttributes](repeating: .normal, count: n)
                                       : tokenTypes[0..<n].map(TokenAttributes.init(tokenType:))

        // Tokens found by text (llama.cpp "auto-detect special tokens by text"); each is made a control token.
        func find(_ candidates: [String]) -> Int32? {
            var best: Int32?
            for c in candidates { if let id = textToId[c], best == nil || id < best! { best = id } }
            return best
        }
        func markControl(_ id: Int32?) { if let id { attrs[Int(id)].insert(.control) } }
        let eot = eotId ?? find(["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                 "<end_of_utterance>"])
        if eotId == nil { markControl(eot) }
        let eom = eomId ?? find(["<|eom_id|>"])
        if eomId == nil { markControl(eom) }
        let fimPad = fim.pad ?? find(["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"])
        if fim.pad == nil { markControl(fimPad) }
        let fimRep = fim.rep ?? find(["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"])
        if fim.rep == nil { markControl(fimRep) }
        let fimSep = fim.sep ?? find(["<|file_sep|>"])
        if fim.sep == nil { markControl(fimSep) }
        for name in ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                     "<|code_prefix|>", "<|prefix|>"] { if let id = textToId[name] { markControl(id); break } }
        for name in ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                     "<|code_suffix|>", "<|suffix|>"] { if let id = textToId[name] { markControl(id); break } }
        for name in ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                     "<|code_middle|>", "<|middle|>"] { if let id = textToId[name] { markControl(id); break } }

        // Control tokens named "unused…" are unused.
        for i in 0..<n where attrs[i].contains(.control) && texts[i].contains("unused") { attrs[i].insert(.unused) }

        // End-of-generation tokens.
        var eog = Set<Int32>([fimPad, fimRep, fimSep].compactMap { $0 })
        let eogTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                     "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                     "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                     "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["]
        for t in eogTexts { if let id = textToId[t] { eog.insert(id); attrs[Int(id)].insert(.control) } }
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let id = textToId[t] { attrs[Int(id)] = .userDefined }  // gpt-oss: always rendered
        }
        for id in [eosId, eot, eom].compactMap({ $0 }) { eog.insert(id) }
        // o200k_harmony / solar-open: "<|end|>" is not EOG when "<|return|>"+"<|call|>" or "<|calls|>"+"<|flush|>".
        let eogText = Set(eog.map { texts[Int($0)] })
        if let endId = textToId["<|end|>"], eog.contains(endId),
           (eogText.contains("<|return|>") && eogText.contains("<|call|>"))
            || ((eogText.contains("<|call|>") || eogText.contains("<|calls|>")) && eogText.contains("<|flush|>")) {
            eog.remove(endId)
            attrs[Int(endId)] = .userDefined
        }
        // gemma4 / plamo: "</s>" is a normal token there.
        if let sId = textToId["</s>"], eog.contains(sId),
           eogText.contains("<|tool_response>") || eogText.contains("<|plamo:eos|>") {
            eog.remove(sId)
            attrs[Int(sId)] = .normal
        }

        // Special tokens, longest text first (ties by id, for determinism).
        let specialAttrs: TokenAttributes = [.control, .userDefined, .unknown]
        let special = (0..<n).filter { !attrs[$0].isDisjoint(with: specialAttrs) }
            .map { SpecialToken(id: Int32($0), bytes: Array(texts[$0].utf8), attrs: attrs[$0]) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }

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
        self.eotId = eot
        self.eomId = eom
        self.padId = padId
        self.addBOS = addBOS && !pre.clearsBOS
        self.addEOS = addEOS
        self.endOfGenerationIds = eog
        self.texts = texts
        self.attrs = attrs
        self.textToId = textToId
        self.merges = merges
        self.extraTexts = extra
        self.byteSymbols = byteSymbols
        self.asciiTokens = (0..<128).map { textToId[String(UnicodeScalar(UInt8($0)))] ?? -1 }
        self.specialTokens = special
    }

    /// Number of tokens in the vocabulary.
    public var vocabSize: Int { texts.count }

    /// The stored text of a token (byte-level form for normal tokens), or nil for an id outside the vocabulary.
    public func tokenText(_ id: Int32) -> String? {
        id >= 0 && Int(id) < texts.count ? texts[Int(id)] : nil
    }

    /// The id of the token whose stored text is exactly `text`.
    public func tokenId(for text: String) -> Int32? { textToId[text] }

    /// A token's attributes (empty for an id outside the vocabulary).
    public func attributes(of id: Int32) -> TokenAttributes {
        id >= 0 && Int(id) < attrs.count ? attrs[Int(id)] : .undefined
    }

    /// Whether generating this token ends generation (EOS, EOT, EOM and the tokens llama.cpp adds by text).
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGenerationIds.contains(id) }

    /// Whether a token is a control token (`<|im_start|>`…).
    public func isControl(_ id: Int32) -> Bool { attributes(of: id).contains(.control) }
}
