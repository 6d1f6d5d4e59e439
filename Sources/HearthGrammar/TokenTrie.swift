/// A vocabulary's token byte strings as a prefix tree in preorder, for computing grammar token masks.
///
/// Node `i` (0-based, in depth-first order) adds byte `bytes[i]` at depth `depths[i]` (1 = a first byte); its
/// subtree ends just before `skip[i]`, so a walk that finds a byte rejected jumps to `skip[i]` and never looks at
/// the tokens below it — the pruning llama.cpp gets from walking candidates' code points, done once per node
/// instead of once per token. Tokens whose text is a node's path are `tokens[tokenStart[i] ..< tokenStart[i+1]]`.
public struct TokenTrie: Sendable {
    public let vocabSize: Int
    let bytes: [UInt8]
    let depths: [Int32]
    let skip: [Int32]
    let tokenStart: [Int32]
    let tokens: [Int32]
    /// Tokens that end generation: allowed only where the grammar is complete.
    public let endTokens: [Int32]
    let maxDepth: Int

    /// - Parameters:
    ///   - pieces: each token's bytes, indexed by id; empty pieces (control tokens) are never allowed.
    ///   - endTokens: end-of-generation ids (EOS, EOT…).
    public init(pieces: [[UInt8]], endTokens: [Int32]) {
        vocabSize = pieces.count
        self.endTokens = endTokens
        let ends = Set(endTokens)
        let order = pieces.indices.filter { !pieces[$0].isEmpty && !ends.contains(Int32($0)) }
            .sorted { pieces[$0].lexicographicallyPrecedes(pieces[$1]) }
        var bytes: [UInt8] = [], depths: [Int32] = [], skip: [Int32] = [], tokenStart: [Int32] = [], tokens: [Int32] = []
        var path: [UInt8] = []        // bytes of the current node path
        var open: [Int] = []          // node index at each depth of `path`
        var maxDepth = 0
        func close(to depth: Int) {
            while open.count > depth {
                skip[open.removeLast()] = Int32(bytes.count)
                path.removeLast()
            }
        }
        for id in order {
            let piece = pieces[id]
            var common = 0
            while common < path.count, common < piece.count, path[common] == piece[common] { common += 1 }
            close(to: common)
            for k in common..<piece.count {
                open.append(bytes.count)
                path.append(piece[k])
                bytes.append(piece[k])
                depths.append(Int32(k + 1))
                skip.append(0)
                tokenStart.append(Int32(tokens.count))
            }
            maxDepth = max(maxDepth, piece.count)
            // The token belongs to the deepest open node; sorting puts a node's own tokens right after it is
            // created and before any of its descendants, so each node's tokens are contiguous.
            tokens.append(Int32(id))
        }
        close(to: 0)
        tokenStart.append(Int32(tokens.count))
        self.bytes = bytes
        self.depths = depths
        self.skip = skip
        self.tokenStart = tokenStart
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    public var nodeCount: Int { bytes.count }
}
