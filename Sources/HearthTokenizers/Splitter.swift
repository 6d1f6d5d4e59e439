/// The word splitters behind `BPEPreTokenizer`. Each takes the segments an earlier stage produced and splits them
/// further, never across a segment boundary, the way llama.cpp's `unicode_regex_split` applies a list of regexes
/// (`src/unicode.cpp`). Positions are code point indices.
enum Splitter {
    /// Reads code points and flags inside one segment; outside it, llama.cpp's OUT_OF_RANGE / all-zero flags.
    private struct Cursor {
        let cps: UnsafeBufferPointer<UInt32>
        let flags: UnsafeBufferPointer<CodepointFlags>
        let start: Int
        let end: Int
        static let outOfRange: UInt32 = 0xFFFF_FFFF

        @inline(__always) func cpt(_ pos: Int) -> UInt32 { pos >= start && pos < end ? cps[pos] : Cursor.outOfRange }
        @inline(__always) func flag(_ pos: Int) -> CodepointFlags { pos >= start && pos < end ? flags[pos] : .outOfRange }
    }

    /// Collects word boundaries; empty words are dropped.
    private struct Words {
        var out: [Range<Int>] = []
        var prevEnd = 0
        /// Ends the current word at `end`; returns its length.
        @discardableResult @inline(__always)
        mutating func add(_ end: Int) -> Int {
            let len = end - prevEnd
            if len > 0 { out.append(prevEnd..<end) }
            prevEnd = end
            return len
        }
    }

    /// GPT-2's regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (llama.cpp `unicode_regex_split_custom_gpt2`).
    static func gpt2(_ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<CodepointFlags>,
                     _ segments: [Range<Int>]) -> [Range<Int>] {
        var words = Words()
        words.out.reserveCapacity(segments.count + cps.count / 4)
        for seg in segments {
            let c = Cursor(cps: cps, flags: flags, start: seg.lowerBound, end: seg.upperBound)
            words.prevEnd = seg.lowerBound
            var pos = seg.lowerBound
            while pos < seg.upperBound {
                let cpt = c.cpt(pos)
                let f = c.flag(pos)
                // 's|'t|'re|'ve|'m|'ll|'d
                if cpt == 0x27 && pos + 1 < seg.upperBound {
                    let n1 = c.cpt(pos + 1)
                    if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {  // s t m d
                        pos += words.add(pos + 2)
                        continue
                    }
                    if pos + 2 < seg.upperBound {
                        let n2 = c.cpt(pos + 2)
                        if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                            pos += words.add(pos + 3)
                            continue
                        }
                    }
                }
                let space = cpt == 0x20
                var f2 = space ? c.flag(pos + 1) : f
                // ' ?\p{L}+'
                if f2.isLetter {
                    if space { pos += 1 }
                    while f2.isLetter { pos += 1; f2 = c.flag(pos) }
                    words.add(pos)
                    continue
                }
                // ' ?\p{N}+'
                if f2.isNumber {
                    if space { pos += 1 }
                    while f2.isNumber { pos += 1; f2 = c.flag(pos) }
                    words.add(pos)
                    continue
                }
                // ' ?[^\s\p{L}\p{N}]+'
                if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined {
                    if space { pos += 1 }
                    while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined { pos += 1; f2 = c.flag(pos) }
                    words.add(pos)
                    continue
                }
                var nws = 0
                while c.flag(pos + nws).isWhitespace { nws += 1 }
                // '\s+(?!\S)'
                if nws > 1 && c.cpt(pos + nws) != Cursor.outOfRange {
                    pos += nws - 1
                    words.add(pos)
                    continue
                }
                // '\s+'
                if nws > 0 {
                    pos += nws
                    words.add(pos)
                    continue
                }
                pos += 1
                words.add(pos)
            }
        }
        return words.out
    }

    /// The llama3 regex `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+` (llama.cpp `unicode_regex_split_custom_llama3`); with `maxDigits` 1 it is the qwen2
    /// regex, whose digits are `\p{N}` (`unicode_regex_split_custom_qwen2`).
    static func llama3(_ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<CodepointFlags>,
                       _ segments: [Range<Int>], maxDigits: Int) -> [Range<Int>] {
        var words = Words()
        words.out.reserveCapacity(segments.count + cps.count / 4)
        for seg in segments {
            let c = Cursor(cps: cps, flags: flags, start: seg.lowerBound, end: seg.upperBound)
            words.prevEnd = seg.lowerBound
            var pos = seg.lowerBound
            while pos < seg.upperBound {
                let cpt = c.cpt(pos)
                let f = c.flag(pos)
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                if cpt == 0x27 && pos + 1 < seg.upperBound {
                    let n1 = asciiLower(c.cpt(pos + 1))
                    if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                        pos += words.add(pos + 2)
                        continue
                    }
                    if pos + 2 < seg.upperBound {
                        let n2 = asciiLower(c.cpt(pos + 2))
                        if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                            pos += words.add(pos + 3)
                            continue
                        }
                    }
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if !(cpt == 0x0D || cpt == 0x0A || f.isNumber) {
                    if f.isLetter || c.flag(pos + 1).isLetter {
                        pos += 1
                        while c.flag(pos).isLetter { pos += 1 }
                        words.add(pos)
                        continue
                    }
                }
                // \p{N}{1,3} (llama3) or \p{N} (qwen2)
                if f.isNumber {
                    var ini = pos
                    while c.flag(pos).isNumber {
                        pos += 1
                        if pos - ini >= maxDigits {
                            words.add(pos)
                            ini = pos
                        }
                    }
                    words.add(pos)
                    continue
                }
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                var f2 = cpt == 0x20 ? c.flag(pos + 1) : f
                if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f.isDefined {
                    if cpt == 0x20 { pos += 1 }
                    while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isDefined { pos += 1; f2 = c.flag(pos) }
                    var c2 = c.cpt(pos)
                    while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = c.cpt(pos) }
                    words.add(pos)
                    continue
                }
                var nws = 0
                var lastNewlineEnd = 0
                while c.flag(pos + nws).isWhitespace {
                    let c2 = c.cpt(pos + nws)
                    if c2 == 0x0D || c2 == 0x0A { lastNewlineEnd = pos + nws + 1 }
                    nws += 1
                }
                // \s*[\r\n]+
                if lastNewlineEnd > 0 {
                    pos = lastNewlineEnd
                    words.add(pos)
                    continue
                }
                // \s+(?!\S)
                if nws > 1 && c.cpt(pos + nws) != Cursor.outOfRange {
                    pos += nws - 1
                    words.add(pos)
                    continue
                }
                // \s+
                if nws > 0 {
                    pos += nws
                    words.add(pos)
                    continue
                }
                pos += 1
                words.add(pos)
            }
        }
        return words.out
    }

    /// A one-code-point class regex such as `\p{N}`: every matching code point becomes its own word, the text
    /// between matches stays whole (llama.cpp `unicode_regex_split_stl` keeps both matches and the gaps).
    static func isolateEach(_ flags: UnsafeBufferPointer<CodepointFlags>, _ segments: [Range<Int>],
                            _ match: (CodepointFlags) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(segments.count)
        for seg in segments {
            var gapStart = seg.lowerBound
            for i in seg where match(flags[i]) {
                if i > gapStart { out.append(gapStart..<i) }
                out.append(i..<(i + 1))
                gapStart = i + 1
            }
            if gapStart < seg.upperBound { out.append(gapStart..<seg.upperBound) }
        }
        return out
    }

    /// A greedy class-run regex such as `\p{N}+`: each maximal run of matching code points becomes a word.
    static func isolateRuns(_ cps: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<CodepointFlags>,
                            _ segments: [Range<Int>], _ match: (UInt32, CodepointFlags) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(segments.count)
        for seg in segments {
            var gapStart = seg.lowerBound
            var i = seg.lowerBound
            while i < seg.upperBound {
                if match(cps[i], flags[i]) {
                    var j = i + 1
                    while j < seg.upperBound && match(cps[j], flags[j]) { j += 1 }
                    if i > gapStart { out.append(gapStart..<i) }
                    out.append(i..<j)
                    gapStart = j
                    i = j
                } else {
                    i += 1
                }
            }
            if gapStart < seg.upperBound { out.append(gapStart..<seg.upperBound) }
        }
        return out
    }

    /// `[0-9][0-9][0-9]`: leftmost non-overlapping triples of ASCII digits become words.
    static func isolateASCIIDigitTriples(_ cps: UnsafeBufferPointer<UInt32>, _ segments: [Range<Int>]) -> [Range<Int>] {
        @inline(__always) func digit(_ i: Int) -> Bool { cps[i] >= 0x30 && cps[i] <= 0x39 }
        var out: [Range<Int>] = []
        out.reserveCapacity(segments.count)
        for seg in segments {
            var gapStart = seg.lowerBound
            var i = seg.lowerBound
            while i + 3 <= seg.upperBound {
                if digit(i) && digit(i + 1) && digit(i + 2) {
                    if i > gapStart { out.append(gapStart..<i) }
                    out.append(i..<(i + 3))
                    i += 3
                    gapStart = i
                } else {
                    i += 1
                }
            }
            if gapStart < seg.upperBound { out.append(gapStart..<seg.upperBound) }
        }
        return out
    }
}
