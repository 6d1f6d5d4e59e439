/// What every llama.cpp vocabulary type shares, built as `llama_vocab::impl::load` does once the type-specific
/// defaults are set: token texts and attributes, the special-token ids (with EOT/EOM/FIM found by text), the
/// end-of-generation set, and the special tokens that text is partitioned on before the model's own algorithm
/// (`tokenizer_st_partition`). `BPETokenizer` and `SPMTokenizer` each hold one.
struct Vocabulary: Sendable {
    let texts: [String]
    let attrs: [TokenAttributes]
    /// Text → id by exact bytes.
    let lookup: ByteKeyTable
    let bosId: Int32?
    let eosId: Int32?
    let eotId: Int32?
    let eomId: Int32?
    let padId: Int32?
    let unkId: Int32?
    let endOfGenerationIds: Set<Int32>
    /// Control, user-defined and unknown tokens, longest text first: what text is partitioned on.
    let specialTokens: [SpecialToken]

    struct SpecialToken: Sendable {
        let id: Int32
        let bytes: [UInt8]
        let attrs: TokenAttributes
    }

    /// FIM token ids given by metadata (those left nil are found by text).
    struct FIMIds {
        var pad: Int32?
        var rep: Int32?
        var sep: Int32?
    }

    init(tokens: [String], tokenTypes: [Int32], bosId: Int32?, eosId: Int32?, eotId: Int32?, eomId: Int32?,
         padId: Int32?, unkId: Int32? = nil, fim: FIMIds) throws {
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
                          ("tokenizer.ggml.padding_token_id", padId), ("tokenizer.ggml.unknown_token_id", unkId)] {
            if let id, id < 0 || Int(id) >= n {
                throw TokenizerError.invalidValue(key: key, expected: "a token id below \(n)", found: "\(id)")
            }
        }

        var texts = tokens
        for i in 0..<n where texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }  // as llama.cpp
        let lookup = ByteKeyTable(texts)
        func id(_ text: String) -> Int32? { lookup.find(text) }
        var attrs = tokenTypes.isEmpty ? [TokenAttributes](repeating: .normal, count: n)
                                       : tokenTypes[0..<n].map(TokenAttributes.init(tokenType:))

        // Tokens found by text (llama.cpp "auto-detect special tokens by text"); each is made a control token.
        func find(_ candidates: [String]) -> Int32? {
            var best: Int32?
            for c in candidates { if let i = id(c), best == nil || i < best! { best = i } }
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
                     "<|code_prefix|>", "<|prefix|>"] { if let i = id(name) { markControl(i); break } }
        for name in ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                     "<|code_suffix|>", "<|suffix|>"] { if let i = id(name) { markControl(i); break } }
        for name in ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                     "<|code_middle|>", "<|middle|>"] { if let i = id(name) { markControl(i); break } }

        // Control tokens named "unused…" are unused.
        for i in 0..<n where attrs[i].contains(.control) && texts[i].contains("unused") {
            attrs[i].insert(.unused)
        }

        // End-of-generation tokens.
        var eog = Set<Int32>([fimPad, fimRep, fimSep].compactMap { $0 })
        let eogTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                     "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                     "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                     "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["]
        for t in eogTexts { if let i = id(t) { eog.insert(i); attrs[Int(i)].insert(.control) } }
        for t in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let i = id(t) { attrs[Int(i)] = .userDefined }  // gpt-oss: always rendered
        }
        for i in [eosId, eot, eom].compactMap({ $0 }) { eog.insert(i) }
        // o200k_harmony / solar-open: "<|end|>" is not EOG when "<|return|>"+"<|call|>" or "<|calls|>"+"<|flush|>".
        let eogText = Set(eog.map { texts[Int($0)] })
        if let endId = id("<|end|>"), eog.contains(endId),
           (eogText.contains("<|return|>") && eogText.contains("<|call|>"))
            || ((eogText.contains("<|call|>") || eogText.contains("<|calls|>")) && eogText.contains("<|flush|>")) {
            eog.remove(endId)
            attrs[Int(endId)] = .userDefined
        }
        // gemma4 / plamo: "</s>" is a normal token there.
        if let sId = id("</s>"), eog.contains(sId),
           eogText.contains("<|tool_response>") || eogText.contains("<|plamo:eos|>") {
            eog.remove(sId)
            attrs[Int(sId)] = .normal
        }

        // Special tokens, longest text first (ties by id, for determinism).
        let specialAttrs: TokenAttributes = [.control, .userDefined, .unknown]
        let special = (0..<n).filter { !attrs[$0].isDisjoint(with: specialAttrs) }
            .map { SpecialToken(id: Int32($0), bytes: Array(texts[$0].utf8), attrs: attrs[$0]) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }

        self.texts = texts
        self.attrs = attrs
        self.lookup = lookup
        self.bosId = bosId
        self.eosId = eosId
        self.eotId = eot
        self.eomId = eom
        self.padId = padId
        self.unkId = unkId
        self.endOfGenerationIds = eog
        self.specialTokens = special
    }

    var count: Int { texts.count }

    func text(_ id: Int32) -> String? { id >= 0 && Int(id) < texts.count ? texts[Int(id)] : nil }

    func attributes(of id: Int32) -> TokenAttributes {
        id >= 0 && Int(id) < attrs.count ? attrs[Int(id)] : .undefined
    }

    // MARK: special-token partitioning

    enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Splits text on special tokens as llama.cpp's `tokenizer_st_partition`: longest token first; each token's
    /// occurrences are found left to right in the fragments the longer tokens left. Control and unknown tokens are
    /// matched only when `parseSpecial`; user-defined tokens always.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0..<text.count)]
        // Which bytes and byte pairs occur, to skip tokens that cannot match.
        var seenByte = [Bool](repeating: false, count: 256)
        var seenPair = [UInt64](repeating: 0, count: 65536 / 64)
        for i in 0..<text.count {
            seenByte[Int(text[i])] = true
            if i + 1 < text.count {
                let p = Int(text[i]) << 8 | Int(text[i + 1])
                seenPair[p >> 6] |= 1 << UInt64(p & 63)
            }
        }
        for special in specialTokens {
            if !parseSpecial && !special.attrs.isDisjoint(with: [.control, .unknown]) { continue }
            let pattern = special.bytes
            guard !pattern.isEmpty, seenByte[Int(pattern[0])] else { continue }
            if pattern.count > 1 {
                let p = Int(pattern[0]) << 8 | Int(pattern[1])
                if seenPair[p >> 6] & (1 << UInt64(p & 63)) == 0 { continue }
            }
            var next: [Fragment] = []
            var changed = false
            for fragment in fragments {
                guard case .text(let range) = fragment else { next.append(fragment); continue }
                var start = range.lowerBound
                var end = range.upperBound
                while let match = Self.find(pattern, in: text, from: start, to: end) {
                    changed = true
                    var leftEnd = match
                    if special.attrs.contains(.lstrip) {
                        while leftEnd > start && Self.isCSpace(text[leftEnd - 1]) { leftEnd -= 1 }
                    }
                    if leftEnd > start { next.append(.text(start..<leftEnd)) }
                    next.append(.token(special.id))
                    start = match + pattern.count
                    if special.attrs.contains(.rstrip) {
                        while start < end && Self.isCSpace(text[start]) { start += 1 }
                    }
                    if start >= end { end = start; break }
                }
                if start < end { next.append(.text(start..<end)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    private static func isCSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private static func find(_ pattern: [UInt8], in text: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        let m = pattern.count
        guard to - from >= m else { return nil }
        let first = pattern[0]
        var i = from
        let last = to - m
        while i <= last {
            if text[i] == first {
                var k = 1
                while k < m && text[i + k] == pattern[k] { k += 1 }
                if k == m { return i }
            }
            i += 1
        }
        return nil
    }
}
