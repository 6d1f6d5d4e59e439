/// Text → token ids for SentencePiece vocabularies: llama.cpp's `llama_vocab::impl::tokenize` (case SPM) and
/// `llm_tokenizer_spm_session` in `src/llama-vocab.cpp`.
extension SPMTokenizer {
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var output: [Int32] = []
        if addSpecial && addBOS, let bosId { output.append(bosId) }
        var bytes = Array(text.utf8)
        if !bytes.isEmpty {
            bytes.withUnsafeMutableBufferPointer { buf in
                let text = UnsafeBufferPointer(buf)
                var s = SPMScratch()
                var previousWasSpecial = true  // the text's start counts as following a special token
                for fragment in vocab.partition(text, parseSpecial: parseSpecial) {
                    switch fragment {
                    case .token(let id):
                        output.append(id)
                        previousWasSpecial = true
                    case .text(let range):
                        // Escape: an optional leading space, then every space as "▁" (E2 96 81).
                        s.text.removeAll(keepingCapacity: true)
                        if addSpacePrefix && previousWasSpecial { s.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
                        for i in range {
                            let b = text[i]
                            if b == 0x20 { s.text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { s.text.append(b) }
                        }
                        encodeEscaped(&s, &output)
                        previousWasSpecial = false
                    }
                }
            }
        }
        if addSpecial && addEOS, let eosId { output.append(eosId) }
        return output
    }

    /// Score-ordered merging over the UTF-8 characters of `s.text`, then the final symbols as tokens (or their
    /// bytes as byte tokens).
    func encodeEscaped(_ s: inout SPMScratch, _ output: inout [Int32]) {
        let n = s.text.count
        guard n > 0 else { return }
        s.start.removeAll(keepingCapacity: true)
        s.length.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        // One symbol per UTF-8 character (length from the lead byte, as llama.cpp's unicode_len_utf8).
        var offset = 0
        var index: Int32 = 0
        while offset < n {
            let lead = s.text[offset]
            let len = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - offset)
            s.start.append(Int32(offset))
            s.length.append(Int32(len))
            s.prev.append(index - 1)
            offset += len
            s.next.append(offset == n ? -1 : index + 1)
            index += 1
        }
        s.text.withUnsafeBufferPointer { text in
            func tryAddBigram(_ left: Int32, _ right: Int32, _ s: inout SPMScratch) {
                guard left >= 0, right >= 0 else { return }
                let start = Int(s.start[Int(left)])
                let size = Int(s.length[Int(left)] + s.length[Int(right)])
                let id = vocab.lookup.find(UnsafeBufferPointer(rebasing: text[start..<(start + size)]))
                guard id >= 0 else { return }
                s.heap.push(SPMBigram(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
            }
            for i in 1..<Int(index) { tryAddBigram(Int32(i - 1), Int32(i), &s) }
            while let top = s.heap.pop() {
                let l = Int(top.left), r = Int(top.right)
                // Skip pairs that a merge since invalidated.
                let ln = s.length[l], rn = s.length[r]
                guard ln != 0, rn != 0, ln + rn == top.size else { continue }
                s.length[l] = ln + rn
                s.length[r] = 0
                let after = s.next[r]
                s.next[l] = after
                if after >= 0 { s.prev[Int(after)] = top.left }
                tryAddBigram(s.prev[l], top.left, &s)
                tryAddBigram(top.left, after, &s)
            }
            var i: Int32 = 0
            while i >= 0 {
                let start = Int(s.start[Int(i)]), len = Int(s.length[Int(i)])
                let piece = UnsafeBufferPointer(rebasing: text[start..<(start + len)])
                let id = vocab.lookup.find(piece)
                if id >= 0 {
                    output.append(id)
                } else {
                    for b in piece {
                        let t = byteTokens[Int(b)]
                        if t >= 0 { output.append(t) }
                    }
                }
                i = s.next[Int(i)]
            }
        }
    }
}

/// Reusable buffers of the SPM merge loop.
struct SPMScratch {
    var text: [UInt8] = []
    var start: [Int32] = []
    var length: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap = PriorityHeap<SPMBigram>()
}

/// A queued merge candidate: the symbols at `left` and `right` (adjacent when queued), the score of the token
/// their concatenation forms, and that concatenation's length in bytes (which tells a stale pair).
struct SPMBigram: Prioritized {
    let score: Float
    let left: Int32
    let right: Int32
    let size: Int32

    /// llama.cpp's order: higher score first, then the leftmost pair.
    @inline(__always)
    func before(_ o: SPMBigram) -> Bool { score != o.score ? score > o.score : left < o.left }
}

