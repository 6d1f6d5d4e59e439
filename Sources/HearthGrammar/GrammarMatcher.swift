/// A recognizer for a `Grammar` that consumes UTF-8 bytes: the set of parse stacks llama.cpp's grammar sampler keeps
/// (src/llama-grammar.cpp, `llama_grammar_accept`), with each stack hash-consed into a node table so that
///
/// - a stack is one integer (a node is "match the element at `pos`, then continue with `parent`"), equal stacks
///   are equal integers, and a state is a small sorted set of them;
/// - the stacks that follow a matched terminal depend only on the stack, not on the character, so they are
///   computed once per stack and memoized (`successors`); after warm-up a byte costs a class test and a lookup.
///
/// A tail call (a rule reference ending its alternative) does not push a node, so `x*` (`R ::= x R |`) keeps the
/// stack flat. A token may end inside a multi-byte character: the decoded prefix is kept in `Partial` and a stack
/// survives while some code point starting with those bytes could match its terminal.
///
/// Not thread-safe: one matcher per sequence. `reset()` returns to the start but keeps the memo tables and the mask
/// cache, so reusing a matcher for many generations under one grammar gets faster.
public final class GrammarMatcher {
    /// Bytes of a UTF-8 character seen so far (`remaining` continuation bytes still to come; 0 = none pending).
    /// `minimum` is the smallest code point a sequence of this length may encode (RFC 3629 §3: overlong forms such
    /// as C1 B4 for "t" are invalid and must not let a token smuggle a character past a literal).
    public struct Partial: Hashable, Sendable {
        var value: UInt32 = 0
        var remaining: UInt8 = 0
        var minimum: UInt32 = 0
    }

    public let grammar: Grammar
    /// Parser-state limits: beyond them the matcher stops with `failure` set rather than grow without bound.
    public static let maxNodes = 1 << 21
    public static let maxStacks = 1 << 14
    static let maxExpandDepth = 4096

    static let accept: Int32 = 0
    private var nodePos: [Int32] = [-1]
    private var nodeParent: [Int32] = [-1]
    private var nodeIndex: [UInt64: Int32] = [:]
    private var expandMemo: [[Int32]?] = [nil]
    private var successorMemo: [[Int32]?] = [nil]
    private var seen: [UInt32] = [0]
    private var stamp: UInt32 = 0
    private var expandDepth = 0

    /// The current parse stacks (sorted node ids; `accept` (0) among them means the input so far is complete).
    public private(set) var stacks: [Int32] = []
    public private(set) var partial = Partial()
    private var initial: [Int32] = []
    /// Set when a safety limit was hit; the matcher then rejects everything.
    public private(set) var failure: GrammarError?

    var maskCache: [MaskKey: [UInt64]] = [:]
    static let maskCacheLimit = 512
    struct MaskKey: Hashable {
        var stacks: [Int32]
        var partial: Partial
    }

    public init(_ grammar: Grammar) {
        self.grammar = grammar
        var start: [Int32] = []
        for alt in grammar.alternatives[grammar.root] { start += expand(alt, parent: -1) }
        initial = unique(start)
        stacks = initial
    }

    /// Back to the start of the grammar (memo tables and mask cache are kept).
    public func reset() {
        stacks = initial
        partial = Partial()
    }

    /// Whether the input so far is a complete sentence of the grammar (generation may end here).
    public var isComplete: Bool { partial.remaining == 0 && stacks.first == GrammarMatcher.accept }

    /// Whether nothing can follow: the only way on is to end.
    public var mustEnd: Bool { isComplete && stacks.count == 1 }

    /// Consumes `bytes` if the grammar allows them (returns true), else leaves the state unchanged (false).
    @discardableResult
    public func accept<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        guard let (s, p) = advanced(bytes) else { return false }
        stacks = s
        partial = p
        return true
    }

    /// Whether `bytes` could be consumed now, without consuming them.
    public func accepts<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 { advanced(bytes) != nil }

    /// Consumes a string (its UTF-8 bytes).
    @discardableResult
    public func accept(_ text: String) -> Bool { accept(Array(text.utf8)) }

    private func advanced<C: Collection>(_ bytes: C) -> ([Int32], Partial)? where C.Element == UInt8 {
        var buf = stacks, p = partial
        var range = 0..<buf.count
        for b in bytes {
            guard let np = step(&buf, range, p, b), buf.count > range.upperBound else { return nil }
            buf.removeSubrange(0..<range.upperBound)
            range = 0..<buf.count
            p = np
        }
        return (unique(buf), p)
    }

    // MARK: the core step

    /// Appends to `buf` the stacks that survive byte `b` from the stacks in `buf[range]` with pending `partial`;
    /// returns the new pending partial character, or nil for a byte that is not valid UTF-8 here. Reading and
    /// appending go through one array (by index) so no copy is made.
    func step(_ buf: inout [Int32], _ range: Range<Int>, _ partial: Partial, _ b: UInt8) -> Partial? {
        var p = partial
        var complete = false
        if p.remaining == 0 {
            if b < 0x80 { p.value = UInt32(b); complete = true }
            else if b & 0xE0 == 0xC0 { p = Partial(value: UInt32(b & 0x1F), remaining: 1, minimum: 0x80) }
            else if b & 0xF0 == 0xE0 { p = Partial(value: UInt32(b & 0x0F), remaining: 2, minimum: 0x800) }
            else if b & 0xF8 == 0xF0 { p = Partial(value: UInt32(b & 0x07), remaining: 3, minimum: 0x10000) }
            else { return nil }
        } else {
            guard b & 0xC0 == 0x80 else { return nil }
            p.value = p.value << 6 | UInt32(b & 0x3F)
            p.remaining -= 1
            complete = p.remaining == 0
        }
        let classes = grammar.classes, elements = grammar.elements
        if complete {
            let c = p.value
            // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
            guard c >= p.minimum, c <= 0x10FFFF, !(0xD800...0xDFFF).contains(c) else { return nil }
            p = Partial()
            nextStamp()
            let base = buf.count
            for i in range {
                let s = buf[i]
                guard s != GrammarMatcher.accept, classes[Int(elements[Int(nodePos[Int(s)])])].matches(c) else { continue }
                let next = successors(s)
                if seen.count < nodePos.count { seen += [UInt32](repeating: 0, count: nodePos.count - seen.count) }
                for t in next where seen[Int(t)] != stamp {
                    seen[Int(t)] = stamp
                    buf.append(t)
                }
            }
            if buf.count - base > GrammarMatcher.maxStacks {
                fail(.tooComplex("more than \(GrammarMatcher.maxStacks) parse stacks at once (an ambiguous grammar)"))
                buf.removeSubrange(base...)
            }
        } else {
            let shift = UInt32(6 * p.remaining)
            let lo = max(p.value << shift, p.minimum), hi = min((p.value << shift) | ((1 << shift) - 1), 0x10FFFF)
            guard lo <= hi, !(lo >= 0xD800 && hi <= 0xDFFF) else { return nil }
            for i in range {
                let s = buf[i]
                if s != GrammarMatcher.accept, classes[Int(elements[Int(nodePos[Int(s)])])].intersects(lo, hi) { buf.append(s) }
            }
        }
        return p
    }

    private func nextStamp() {
        if seen.count < nodePos.count { seen += [UInt32](repeating: 0, count: nodePos.count - seen.count) }
        stamp &+= 1
        if stamp == 0 {
            for i in seen.indices { seen[i] = 0 }
            stamp = 1
        }
    }

    // MARK: stacks

    /// The stacks after the terminal on top of `node` matched.
    private func successors(_ node: Int32) -> [Int32] {
        if let s = successorMemo[Int(node)] { return s }
        let s = expand(nodePos[Int(node)] + 1, parent: nodeParent[Int(node)])
        successorMemo[Int(node)] = s
        return s
    }

    /// The stacks with a terminal (or `accept`) on top reachable from "at `pos`, then `parent`".
    private func expand(_ pos: Int32, parent: Int32) -> [Int32] {
        let e = grammar.elements[Int(pos)]
        if e >= 0 {
            guard let n = intern(pos, parent) else { return [] }
            return [n]
        }
        if e == Grammar.end {
            if parent < 0 { return [GrammarMatcher.accept] }
            return expandNode(parent)
        }
        guard let n = intern(pos, parent) else { return [] }
        return expandNode(n)
    }

    /// `expand` for an interned node whose element is a rule reference or the end of an alternative; memoized.
    private func expandNode(_ node: Int32) -> [Int32] {
        if let m = expandMemo[Int(node)] { return m }
        let pos = nodePos[Int(node)], parent = nodeParent[Int(node)]
        let e = grammar.elements[Int(pos)]
        if e >= 0 { return [node] }
        expandDepth += 1
        defer { expandDepth -= 1 }
        guard expandDepth < GrammarMatcher.maxExpandDepth else {
            fail(.tooComplex("rules nest more than \(GrammarMatcher.maxExpandDepth) deep without consuming a character"))
            return []
        }
        var result: [Int32]
        if e == Grammar.end {
            result = parent < 0 ? [GrammarMatcher.accept] : expandNode(parent)
        } else {
            // A reference at the end of its alternative continues straight with the parent (a tail call).
            let cont: Int32?
            if grammar.elements[Int(pos) + 1] == Grammar.end { cont = parent } else { cont = intern(pos + 1, parent) }
            guard let cont else { return [] }
            result = []
            for alt in grammar.alternatives[Grammar.ruleIndex(e)] { result += expand(alt, parent: cont) }
            result = unique(result)
        }
        expandMemo[Int(node)] = result
        return result
    }

    private func intern(_ pos: Int32, _ parent: Int32) -> Int32? {
        let key = UInt64(UInt32(bitPattern: pos)) << 32 | UInt64(UInt32(bitPattern: parent))
        if let n = nodeIndex[key] { return n }
        guard nodePos.count < GrammarMatcher.maxNodes else {
            fail(.tooComplex("more than \(GrammarMatcher.maxNodes) parser states"))
            return nil
        }
        let n = Int32(nodePos.count)
        nodePos.append(pos)
        nodeParent.append(parent)
        expandMemo.append(nil)
        successorMemo.append(nil)
        nodeIndex[key] = n
        return n
    }

    private func fail(_ e: GrammarError) {
        if failure == nil { failure = e }
    }

    func unique(_ a: [Int32]) -> [Int32] {
        var s = a.sorted()
        var w = 0
        for i in s.indices where i == 0 || s[i] != s[i - 1] { s[w] = s[i]; w += 1 }
        s.removeLast(s.count - w)
        return s
    }
}
