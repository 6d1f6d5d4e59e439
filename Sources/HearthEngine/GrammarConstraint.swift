import Foundation
import HearthGrammar
import HearthTokenizers

/// A grammar applied to one generation: the matcher's state plus the vocabulary it masks. The sampler asks
/// `allows` for the token it drew and `mask` only when that token is rejected (see `Sampler`); the generator calls
/// `accept` with every token it emits.
public final class GrammarConstraint {
    public let matcher: GrammarMatcher
    public let trie: TokenTrie
    private let piece: (Int32) -> [UInt8]
    private let isEnd: (Int32) -> Bool

    /// - Parameters:
    ///   - piece: a token's bytes (empty for control tokens, which a grammar never allows).
    ///   - isEnd: whether a token ends generation.
    public init(matcher: GrammarMatcher, trie: TokenTrie, piece: @escaping (Int32) -> [UInt8], isEnd: @escaping (Int32) -> Bool) {
        self.matcher = matcher
        self.trie = trie
        self.piece = piece
        self.isEnd = isEnd
    }

    public convenience init(matcher: GrammarMatcher, trie: TokenTrie, tokenizer: any Tokenizer) {
        self.init(matcher: matcher, trie: trie, piece: { tokenizer.piece($0) }, isEnd: { tokenizer.isEndOfGeneration($0) })
    }

    public convenience init(grammar: Grammar, loaded: LoadedModel) {
        self.init(matcher: GrammarMatcher(grammar), trie: loaded.tokenTrie, tokenizer: loaded.tokenizer)
    }

    /// Whether `id` may come next: an end-of-generation token only where the output is complete.
    public func allows(_ id: Int32) -> Bool {
        matcher.allows(token: id, piece: piece(id), isEnd: isEnd(id))
    }

    /// How many times `mask` ran (the sampler's first draw was rejected).
    public private(set) var masksComputed = 0

    /// Every token that may come next, as a bitset over ids.
    public func mask() throws -> [UInt64] {
        masksComputed += 1
        let bits = matcher.allowedTokens(trie)
        if let failure = matcher.failure { throw EngineError.grammar("\(failure)") }
        return bits
    }

    /// Advances past an emitted token.
    public func accept(_ id: Int32) throws {
        if isEnd(id) { return }
        let bytes = piece(id)
        guard !bytes.isEmpty, matcher.accept(bytes) else {
            throw EngineError.grammar("token \(id) (\(String(decoding: bytes, as: UTF8.self).debugDescription)) does not fit the grammar")
        }
        if let failure = matcher.failure { throw EngineError.grammar("\(failure)") }
    }

    /// Whether the grammar is complete and nothing may follow (generation can stop without another step).
    public var mustEnd: Bool { matcher.mustEnd }

    func noTokenError() -> EngineError {
        if let failure = matcher.failure { return .grammar("\(failure)") }
        return .grammar("no token of the vocabulary can continue the grammar here")
    }
}
