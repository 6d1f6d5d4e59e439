/// Pre-tokenizers of byte-level BPE vocabularies, chosen by `tokenizer.ggml.pre`, as llama.cpp defines them
/// (`src/llama-vocab.cpp`: the name → `LLAMA_VOCAB_PRE_TYPE_*` table in `llama_vocab::impl::load`, and the regex list
/// per type in `llm_tokenizer_bpe`). The regexes are not run as regexes: each is a hand-written splitter with the
/// same results as llama.cpp's (its custom gpt2/llama3/qwen2 splitters in `src/unicode.cpp`, and its std::regex
/// fallback on the category-collapsed text for the others).
public struct BPEPreTokenizer: Sendable, Equatable {
    /// The splitting rules, one per family of regex lists in llama.cpp.
    public enum Kind: Sendable, Equatable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (GPT2, MPT, OLMO, JAIS…).
        case gpt2
        /// `\p{N}` isolated first, then the gpt2 rules (STARCODER, REFACT, COMMAND_R, SMOLLM, CODESHELL, EXAONE…).
        case starcoder
        /// The llama3 regex: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, … (LLAMA3,
        /// DBRX, SMAUG, CHATGLM4).
        case llama3
        /// As llama3 but single digits: `\p{N}` (QWEN2, STABLELM2, HUNYUAN, SOLAR_OPEN).
        case qwen2
        /// llama.cpp's default list: `[\p{P}\$\+<=>\^~\|]+`, the gpt2 rules, `\p{N}+`, `[0-9][0-9][0-9]`.
        case `default`
    }

    /// The `tokenizer.ggml.pre` value this came from.
    public let name: String
    public let kind: Kind
    /// A word that is itself a token is emitted whole, without merging (llama.cpp `ignore_merges`).
    public let ignoreMerges: Bool
    /// Whether BOS is added when `tokenizer.ggml.add_bos_token` is absent.
    public let defaultAddBOS: Bool
    /// Whether detokenization applies llama.cpp's `clean_spaces` (" ." → "." and the like).
    public let cleanSpaces: Bool
    /// llama.cpp clears the default BOS id for this pre-tokenizer (chatglm).
    public let clearsBOS: Bool

    public init(kind: Kind, name: String? = nil, ignoreMerges: Bool = false, defaultAddBOS: Bool = false,
                cleanSpaces: Bool = false, clearsBOS: Bool = false) {
        self.kind = kind
        self.name = name ?? "\(kind)"
        self.ignoreMerges = ignoreMerges
        self.defaultAddBOS = defaultAddBOS
        self.cleanSpaces = cleanSpaces
        self.clearsBOS = clearsBOS
    }

    /// The pre-tokenizer llama.cpp selects for a `tokenizer.ggml.pre` value; nil for names it does not support here.
    /// A missing or empty name is `default` (llama.cpp warns that quality will be degraded). `gpt2` is accepted as an
    /// alias of llama.cpp's `gpt-2`.
    public init?(name: String) {
        let n = name
        switch n {
        case "", "default":
            self.init(kind: .default, name: n, cleanSpaces: true)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            self.init(kind: .llama3, name: n, ignoreMerges: true, defaultAddBOS: true, cleanSpaces: true)
        case "dbrx", "smaug-bpe":
            self.init(kind: .llama3, name: n, cleanSpaces: true)
        case "chatglm-bpe":
            self.init(kind: .llama3, name: n, cleanSpaces: true, clearsBOS: true)
        case "glm4", "glm5":
            self.init(kind: .llama3, name: n, ignoreMerges: true, cleanSpaces: true, clearsBOS: true)
        case "gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
             "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4":
            self.init(kind: .gpt2, name: n, cleanSpaces: true)
        case "trillion", "granite-docling":
            self.init(kind: .gpt2, name: n, cleanSpaces: false)
        case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
            self.init(kind: .starcoder, name: n, cleanSpaces: true)
        case "smollm", "command-r":
            self.init(kind: .starcoder, name: n, cleanSpaces: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "hunyuan", "solar-open":
            self.init(kind: .qwen2, name: n, cleanSpaces: false)
        case "stablelm2":
            self.init(kind: .qwen2, name: n, cleanSpaces: true)
        default:
            return nil
        }
    }

    /// Splits `cps` (code points with their flags) into words; returns each word's code point range, in order.
    func split(_ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<CodepointFlags>) -> [Range<Int>] {
        let whole = cps.isEmpty ? [] : [0..<cps.count]
        switch kind {
        case .gpt2:
            return Splitter.gpt2(cps, flags, whole)
        case .starcoder:
            return Splitter.gpt2(cps, flags, Splitter.isolateEach(flags, whole) { $0.isNumber })
        case .llama3:
            return Splitter.llama3(cps, flags, whole, maxDigits: 3)
        case .qwen2:
            return Splitter.llama3(cps, flags, whole, maxDigits: 1)
        case .default:
            // [\p{P}\$\+<=>\^~\|]+ — on llama.cpp's collapsed text, \p{P} is any punctuation code point
            var segs = Splitter.isolateRuns(cps, flags, whole) { cp, f in
                f.isPunctuation || cp == 0x24 || cp == 0x2B || cp == 0x3C || cp == 0x3D || cp == 0x3E
                    || cp == 0x5E || cp == 0x7E || cp == 0x7C
            }
            segs = Splitter.gpt2(cps, flags, segs)
            segs = Splitter.isolateRuns(cps, flags, segs) { _, f in f.isNumber }
            return Splitter.isolateASCIIDigitTriples(cps, segs)
        }
    }
}
