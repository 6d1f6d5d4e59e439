/// Errors building a tokenizer. Each names the metadata key or argument at fault and what was expected.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A required metadata key is absent.
    case missingKey(String)
    /// A metadata key or argument holds a value of the wrong kind or out of range.
    case invalidValue(key: String, expected: String, found: String)
    /// `tokenizer.ggml.model` names a tokenizer this type (or `makeTokenizer`) does not implement.
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer llama.cpp (or this port) does not know.
    case unknownPreTokenizer(String)

    public var description: String {
        switch self {
        case .missingKey(let key):
            return "tokenizer: missing metadata key '\(key)'"
        case .invalidValue(let key, let expected, let found):
            return "tokenizer: invalid '\(key)': expected \(expected), found \(found)"
        case .unsupportedModel(let model):
            return "tokenizer: unsupported tokenizer model '\(model)' (tokenizer.ggml.model); supported: 'gpt2' (byte-level BPE), 'llama' (SentencePiece)"
        case .unknownPreTokenizer(let name):
            return "tokenizer: unknown pre-tokenizer type '\(name)' (tokenizer.ggml.pre)"
        }
    }
}
