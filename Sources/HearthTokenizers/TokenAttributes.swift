/// Per-token attributes, numbered as llama.cpp's `enum llama_token_attr` (include/llama.h). GGUF files store a
/// token *type* per token (`tokenizer.ggml.token_type`, `enum llama_token_type`: 0 undefined, 1 normal, 2 unknown,
/// 3 control, 4 user-defined, 5 unused, 6 byte); `init(tokenType:)` maps it as `llama_vocab::impl::load` does.
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let undefined = TokenAttributes([])
    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    /// Control tokens (`<|im_start|>`…): only matched in text when special tokens are parsed; decoded as empty
    /// unless asked for.
    public static let control = TokenAttributes(rawValue: 1 << 3)
    /// User-defined tokens: always matched in text before BPE, decoded as their text.
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)
    public static let normalized = TokenAttributes(rawValue: 1 << 6)
    public static let lstrip = TokenAttributes(rawValue: 1 << 7)
    public static let rstrip = TokenAttributes(rawValue: 1 << 8)
    public static let singleWord = TokenAttributes(rawValue: 1 << 9)

    /// The attributes of a GGUF token type (unknown values give `undefined`, as in llama.cpp).
    public init(tokenType: Int32) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = .undefined
        }
    }
}
