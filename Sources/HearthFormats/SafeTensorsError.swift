/// An error reading a SafeTensors file, its shard index or a Hugging Face model directory.
///
/// Design decision 6 ("errors are values"): the message names the file, the tensor or JSON field and what was
/// expected; `kind` lets callers (the server, tests) branch without parsing text.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// A file could not be opened or mapped, or is missing from a directory.
        case io
        /// The file is shorter than the 8-byte header length, or than the length it declares.
        case truncated
        /// The declared header length is above `SafeTensorsFile.maxHeaderBytes`.
        case headerTooLarge
        /// The header is not valid JSON, or not a JSON object.
        case badJSON
        /// A field of the wrong JSON type or a missing field.
        case invalidField
        /// A dtype string the format does not define.
        case unknownDType
        /// A negative dimension, or an element count that overflows.
        case invalidShape
        /// `data_offsets` whose byte count differs from shape × dtype size.
        case sizeMismatch
        /// `data_offsets` reaching outside the data section.
        case outOfBounds
        /// Two tensors' byte ranges share bytes.
        case overlap
        /// A tensor whose bytes are not aligned to its element size.
        case misaligned
        /// A tensor name given twice (across shards).
        case duplicateTensor
        /// A config, tokenizer or sentence-transformers file holds a value the loader cannot use.
        case invalidConfig
    }

    public let kind: Kind
    /// The file path.
    public let path: String
    /// What was being read: "header length", "tensor 'embeddings.word_embeddings.weight' data_offsets".
    public let field: String
    /// What went wrong and what was expected.
    public let message: String

    public init(_ kind: Kind, path: String, field: String, message: String) {
        self.kind = kind
        self.path = path
        self.field = field
        self.message = message
    }

    public var description: String { "'\(path)': \(field): \(message)" }
}
