/// Token masks: which tokens of a vocabulary may come next under the grammar (llama.cpp's grammar sampler sets
/// the others' logits to -inf, `llama_grammar_apply_impl`).
extension GrammarMatcher {
    /// A bitset over token ids (`bits[id >> 6] >> (id & 63) & 1`) of the tokens that can continue a valid output
    /// from the current state; end-of-generation tokens only where the output is complete. Cached per state.
    public func allowedTokens(_ trie: TokenTrie) -> [UInt64] {
        let key = MaskKey(stacks: stacks, partial: partial)
        if let cached = maskCache[key] { return cached }
        var bits = [UInt64](repeating: 0, count: (trie.vocabSize + 63) / 64)
        // One region of `arena` per trie depth: the stacks after that many bytes of the current path.
        var arena = stacks
        arena.reserveCapacity(4096)
        var levelStart = [Int](repeating: 0, count: trie.maxDepth + 1)
        var levelEnd = [Int](repeating: 0, count: trie.maxDepth + 1)
        var levelPartial = [Partial](repeating: Partial(), count: trie.maxDepth + 1)
        levelEnd[0] = arena.count
        levelPartial[0] = partial
        var i = 0
        let n = trie.nodeCount
        while i < n {
            let d = Int(trie.depths[i])
            let start = levelEnd[d - 1]
            arena.removeSubrange(start...)
            let p = step(&arena, levelStart[d - 1]..<start, levelPartial[d - 1], trie.bytes[i])
            if p == nil || arena.count == start {
                i = Int(trie.skip[i])
                continue
            }
            levelStart[d] = start
            levelEnd[d] = arena.count
            levelPartial[d] = p ?? Partial()
            var t = Int(trie.tokenStart[i])
            let tEnd = Int(trie.tokenStart[i + 1])
            while t < tEnd {
                let id = Int(trie.tokens[t])
                bits[id >> 6] |= 1 << UInt64(id & 63)
                t += 1
            }
            i += 1
        }
        if isComplete {
            for id in trie.endTokens where id >= 0 && Int(id) < trie.vocabSize {
                bits[Int(id) >> 6] |= 1 << UInt64(id & 63)
            }
        }
        if maskCache.count >= GrammarMatcher.maskCacheLimit { maskCache.removeAll(keepingCapacity: true) }
        maskCache[key] = bits
        return bits
    }

    /// Whether one token may come next (the cheap check llama.cpp makes on the sampled token before masking).
    public func allows(token: Int32, piece: [UInt8], isEnd: Bool) -> Bool {
        if isEnd { return isComplete }
        if piece.isEmpty { return false }
        return accepts(piece)
    }
}

extension Array where Element == UInt64 {
    /// Whether bit `id` is set in a token mask.
    @inlinable public func allows(_ id: Int32) -> Bool {
        let i = Int(id)
        return i >= 0 && i >> 6 < count && (self[i >> 6] >> UInt64(i & 63)) & 1 == 1
    }
}
