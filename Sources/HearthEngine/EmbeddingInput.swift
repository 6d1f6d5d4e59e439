// Apart from Embedder.swift (which needs the models and kernels) so that the server's request validation,
// and its fuzz harness (scripts/fuzz server-request), can use it without them.

/// One input to embed: a text (tokenized by the model's tokenizer) or token ids of the model's vocabulary.
public enum EmbeddingInput: Sendable, Equatable {
    case text(String)
    case tokens([Int32])
}
