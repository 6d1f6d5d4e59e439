/// An error reading or writing a GGUF file.
///
/// Design decision 6 ("errors are values"): the message names the file, the field (key, tensor, header field),
/// the byte offset where that field starts, and what was expected, so a user can tell a truncated download
/// from a corrupt or unsupported file without a debugger. `kind` lets callers (the server, tests) branch
/// without parsing text.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be opened, mapped or written.
        case io
        /// The first four bytes are not "GGUF".
        case badMagic
        /// A version other than 2 or 3.
        case unsupportedVersion
        /// The file ends before a field that must be there.
        case truncated
        /// A count or length that the rest of the file could not possibly hold.
        case tooLarge
        /// A value of the right size but wrong content (unknown metadata type, bad alignment…).
        case invalidValue
        /// A string (key, value or tensor name) that is not valid UTF-8.
        case invalidUTF8
        /// Arrays nested deeper than `GGUFFile.maxArrayDepth`.
        case nestingTooDeep
        case duplicateKey
        case duplicateTensor
        /// A ggml type id this build has no kernels for (or that ggml does not define).
        case unsupportedTensorType
        /// n_dims outside 1...4, a dim ≤ 0, an element count that overflows, or a row that is not whole blocks.
        case invalidShape
        /// A tensor offset that is not a multiple of the file's alignment.
        case misalignedTensor
        /// A tensor's bytes reach past the end of the file.
        case tensorOutOfBounds
        /// Two tensors' byte ranges share bytes.
        case overlappingTensors
        /// A typed getter asked for a key the file does not have.
        case missingKey
        /// A typed getter found a value of another type.
        case typeMismatch
    }

    public let kind: Kind
    /// The file path (or buffer name).
    public let path: String
    /// Byte offset in the file where the offending field starts, when there is one.
    public let offset: Int?
    /// What was being read: "header magic", "metadata key 'general.name' value", "tensor 'blk.0.attn_q.weight' dims".
    public let field: String
    /// What went wrong and what was expected.
    public let message: String

    public init(_ kind: Kind, path: String, offset: Int?, field: String, message: String) {
        self.kind = kind
        self.path = path
        self.offset = offset
        self.field = field
        self.message = message
    }

    public var description: String {
        let at = offset.map { " at byte \($0)" } ?? ""
        return "GGUF file '\(path)'\(at): \(field): \(message)"
    }
}
