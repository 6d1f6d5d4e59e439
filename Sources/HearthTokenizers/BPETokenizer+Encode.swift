/// Text → token ids: special-token partitioning (`Vocabulary.partition`), pre-tokenization and the BPE
/// merge loop (`llm_tokenizer_bpe_session::tokenize`), in `src/llama-vocab.cpp`.
extension BPETokenizer {
    /// Tokenizes `text` as `llama_tokenize(vocab, text, addSpecial, parseSpecial)` does.
    ///
    /// - Parameters:
    ///   - addSpecial: add BOS / EOS as the model asks (`addBOS`, `addEOS`).
    ///   - parseSpecial: match control tokens (`<|im_start|>`…) in the text; user-defined tokens are always matched.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial && addBOS, let bosId { output.append(bosId) }
        var bytes = Array(text.utf8)
        if !bytes.isEmpty {
            bytes.withUnsafeMutableBufferPointer { buf in
                let text = UnsafeBufferPointer(buf)
                var scratch = MergeScratch()
                for fragment in vocab.partition(text, parseSpecial: parseSpecial) {
                    switch fragment {
                    case .token(let id): output.append(id)
                    case .text(let range): encodeFragment(UnsafeBufferPointer(rebasing: text[range]), &output, &scratch)
                    }
                }
            }
        }
        if addSpecial && addEOS, let eosId { output.append(eosId) }
        return output
    }

    /// Pre-tokenizes one fragment of plain text and appends the BPE tokens of each word.
    func encodeFragment(_ bytes: UnsafeBufferPointer<UInt8>, _ output: inout [Int32], _ scratch: inout MergeScratch) {
        // Decode code points (the text is valid UTF-8: it came from a String and was cut at token boundaries).
        var cps: [UInt32] = []
        var offsets: [Int] = []  // byte offset of each code point, plus the end
        cps.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            offsets.append(i)
            let len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
            var cp: UInt32
            switch len {
            case 1: cp = b0
            case 2: cp = (b0 & 0x1F) << 6 | (UInt32(bytes[i + 1]) & 0x3F)
            case 3: cp = (b0 & 0x0F) << 12 | (UInt32(bytes[i + 1]) & 0x3F) << 6 | (UInt32(bytes[i + 2]) & 0x3F)
            default:
                cp = (b0 & 0x07) << 18 | (UInt32(bytes[i + 1]) & 0x3F) << 12 | (UInt32(bytes[i + 2]) & 0x3F) << 6
                    | (UInt32(bytes[i + 3]) & 0x3F)
            }
            cps.append(cp)
            i += len
        }
        offsets.append(bytes.count)
        let flags = cps.map(CodepointFlags.of)
        let words = cps.withUnsafeBufferPointer { c in flags.withUnsafeBufferPointer { f in preTokenizer.split(c, f) } }
        for w in words {
            let word = UnsafeBufferPointer(rebasing: bytes[offsets[w.lowerBound]..<offsets[w.upperBound]])
            encodeWord(word, &output, &scratch)
        }
    }

    /// Reusable buffers of the merge loop.
    struct MergeScratch {
        var ids: [Int32] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap = PriorityHeap<Bigram>()
    }

    /// BPE over one word: start from one symbol per byte, repeatedly merge the adjacent pair with the best rank
    /// (leftmost on ties), then emit the symbols.
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, _ output: inout [Int32], _ s: inout MergeScratch) {
        let n = word.count
        if n == 0 { return }
        if preTokenizer.ignoreMerges, let id = textToId[ByteLevel.encode(word)] {
            output.append(id)
            return
        }
        if n == 1 {
            emit(byteSymbols[Int(word[0])], &output)
            return
        }
        s.ids.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        for k in 0..<n {
            s.ids.append(byteSymbols[Int(word[k])])
            s.prev.append(Int32(k - 1))
            s.next.append(k + 1 < n ? Int32(k + 1) : -1)
        }
        for k in 0..<(n - 1) { pushBigram(Int32(k), Int32(k + 1), &s) }
        while let top = s.heap.pop() {
            let l = Int(top.left), r = Int(top.right)
            // Skip stale pairs: either side merged since the pair was queued.
            guard s.ids[l] == top.leftId && s.ids[r] == top.rightId else { continue }
            s.ids[l] = top.result
            s.ids[r] = -1
            let after = s.next[r]
            s.next[l] = after
            if after >= 0 { s.prev[Int(after)] = top.left }
            if s.prev[l] >= 0 { pushBigram(s.prev[l], top.left, &s) }
            if after >= 0 { pushBigram(top.left, after, &s) }
        }
        var k: Int32 = 0
        while k >= 0 {
            emit(s.ids[Int(k)], &output)
            k = s.next[Int(k)]
        }
    }

    @inline(__always)
    private func pushBigram(_ left: Int32, _ right: Int32, _ s: inout MergeScratch) {
        let l = s.ids[Int(left)], r = s.ids[Int(right)]
        guard let m = merges[UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))] else { return }
        s.heap.push(Bigram(rank: m.rank, left: left, right: right, leftId: l, rightId: r, result: m.result))
    }

    /// Appends a final symbol: its token, or, for a text the vocabulary lacks, the tokens of its one-byte pieces
    /// (llama.cpp looks up each byte of the symbol's text; only ASCII bytes can be tokens).
    @inline(__always)
    private func emit(_ symbol: Int32, _ output: inout [Int32]) {
        if Int(symbol) < texts.count {
            output.append(symbol)
            return
        }
        for b in extraTexts[Int(symbol) - texts.count].utf8 where b < 0x80 {
            let t = asciiTokens[Int(b)]
            if t >= 0 { output.append(t) }
        }
    }
}

/// A queued merge candidate.
struct Bigram: Prioritized {
    let rank: Int32
    let left: Int32
    let right: Int32
    let leftId: Int32
    let rightId: Int32
    let result: Int32

    /// llama.cpp's order: lower rank first, then the leftmost pair.
    @inline(__always)
    func before(_ o: Bigram) -> Bool { rank != o.rank ? rank < o.rank : left < o.left }
}

