/// A compiled grammar: rules as alternatives of terminal/non-terminal sequences, flattened into one array so a
/// parser position is a single integer (the layout llama.cpp's `llama_grammar_rules` uses, in its own encoding).
///
/// `elements[p]` is a character class index (≥ 0), `Grammar.end` (-1, the end of an alternative) or a rule
/// reference (`-2 - rule`). `alternatives[r]` lists where each alternative of rule `r` starts.
public struct Grammar: Sendable, Equatable {
    public static let end: Int32 = -1
    public let classes: [CharClass]
    public let elements: [Int32]
    public let alternatives: [[Int32]]
    /// Rule names; groups and repetitions get synthesized names (`move-3`) based on the rule they appear in.
    public let ruleNames: [String]
    public let root: Int

    init(classes: [CharClass], elements: [Int32], alternatives: [[Int32]], ruleNames: [String], root: Int) {
        self.classes = classes
        self.elements = elements
        self.alternatives = alternatives
        self.ruleNames = ruleNames
        self.root = root
    }

    /// Parses GBNF text (llama.cpp's syntax; see `GBNFParser`) whose start rule is `root`.
    public init(gbnf: String) throws {
        var parser = try GBNFParser(gbnf)
        self = try parser.parse()
    }

    static func ruleIndex(_ element: Int32) -> Int { Int(-2 - element) }
}

/// Collects rules while parsing and lowers them into a `Grammar`, checking what a parser alone cannot: every
/// referenced rule is defined, the start rule exists, and no rule is left-recursive (a top-down recognizer would
/// loop forever on it; llama.cpp rejects these too).
struct GrammarBuilder {
    enum Element: Equatable {
        case chars(CharClass)
        case ref(Int)
    }

    static let maxElements = 1 << 20
    static let maxRules = 1 << 16

    private(set) var names: [String] = []
    private var ids: [String: Int] = [:]
    private var bodies: [[[Element]]?] = []
    private var firstReference: [Int: Int] = [:]
    private var synthesized: [String: Int] = [:]
    private var elementCount = 0

    mutating func ruleId(_ name: String, referencedAt offset: Int? = nil) -> Int {
        let id: Int
        if let existing = ids[name] {
            id = existing
        } else {
            id = names.count
            ids[name] = id
            names.append(name)
            bodies.append(nil)
        }
        if let offset, firstReference[id] == nil { firstReference[id] = offset }
        return id
    }

    /// A fresh rule for a group or repetition inside `base` (`base-1`, `base-2`…).
    mutating func newRule(basedOn base: String) -> Int {
        var n = synthesized[base, default: 0]
        var name: String
        repeat { n += 1; name = "\(base)-\(n)" } while ids[name] != nil
        synthesized[base] = n
        return ruleId(name)
    }

    mutating func define(_ id: Int, _ alternatives: [[Element]], at offset: Int?, duplicate: GrammarError) throws {
        guard bodies[id] == nil else { throw duplicate }
        elementCount += alternatives.reduce(0) { $0 + $1.count + 1 }
        guard elementCount <= GrammarBuilder.maxElements, names.count <= GrammarBuilder.maxRules else {
            throw GrammarError.tooComplex("more than \(GrammarBuilder.maxElements) grammar elements or \(GrammarBuilder.maxRules) rules")
        }
        bodies[id] = alternatives
        if let offset { definedAt[id] = offset }
    }
    private var definedAt: [Int: Int] = [:]

    /// `symbol{min,max}` (max nil = unbounded), rewritten as llama.cpp does: `min` copies, then either a
    /// right-recursive rule `R ::= symbol R |` or a chain of `max - min` nested optional rules.
    mutating func repetition(_ symbol: [Element], min: Int, max: Int?, ruleName: String) throws -> [Element] {
        let copies = min + (max.map { $0 - min } ?? 1)
        guard symbol.count * copies <= GrammarBuilder.maxElements else {
            throw GrammarError.tooComplex("a repetition expands to \(symbol.count * copies) elements")
        }
        var out: [Element] = []
        for _ in 0..<min { out += symbol }
        if let max {
            var last: Int? = nil
            for _ in 0..<(max - min) {
                let r = newRule(basedOn: ruleName)
                try define(r, [symbol + (last.map { [.ref($0)] } ?? []), []], at: nil, duplicate: .invalid("internal: repetition rule defined twice"))
                last = r
            }
            if let last { out.append(.ref(last)) }
        } else {
            let r = newRule(basedOn: ruleName)
            try define(r, [symbol + [.ref(r)], []], at: nil, duplicate: .invalid("internal: repetition rule defined twice"))
            out.append(.ref(r))
        }
        return out
    }

    func build(root: String, lineColumn: (Int) -> (line: Int, column: Int)) throws -> Grammar {
        for (id, body) in bodies.enumerated() where body == nil {
            if let at = firstReference[id] {
                let (l, c) = lineColumn(at)
                throw GrammarError.syntax(line: l, column: c, message: "undefined rule '\(names[id])'")
            }
        }
        guard let rootId = ids[root], bodies[rootId] != nil else {
            throw GrammarError.invalid("no '\(root)' rule: the grammar must define '\(root) ::= …'")
        }
        var classes: [CharClass] = []
        var classIndex: [CharClass: Int32] = [:]
        var elements: [Int32] = []
        var alternatives: [[Int32]] = []
        for body in bodies {
            var starts: [Int32] = []
            for alt in body ?? [] {
                starts.append(Int32(elements.count))
                for e in alt {
                    switch e {
                    case .chars(let cls):
                        if let i = classIndex[cls] {
                            elements.append(i)
                        } else {
                            classIndex[cls] = Int32(classes.count)
                            elements.append(Int32(classes.count))
                            classes.append(cls)
                        }
                    case .ref(let r): elements.append(-2 - Int32(r))
                    }
                }
                elements.append(Grammar.end)
            }
            alternatives.append(starts)
        }
        let grammar = Grammar(classes: classes, elements: elements, alternatives: alternatives, ruleNames: names, root: rootId)
        try GrammarBuilder.checkLeftRecursion(grammar) { id in
            definedAt[id].map { lineColumn($0) }
        }
        return grammar
    }

    /// Rejects a rule that can reach itself without consuming a character.
    static func checkLeftRecursion(_ g: Grammar, location: (Int) -> (line: Int, column: Int)?) throws {
        let n = g.alternatives.count
        // Nullable rules, by fixpoint.
        var nullable = [Bool](repeating: false, count: n)
        var changed = true
        while changed {
            changed = false
            for r in 0..<n where !nullable[r] {
                for start in g.alternatives[r] {
                    var p = Int(start), ok = true
                    while g.elements[p] != Grammar.end {
                        let e = g.elements[p]
                        if e >= 0 || !nullable[Grammar.ruleIndex(e)] { ok = false; break }
                        p += 1
                    }
                    if ok { nullable[r] = true; changed = true; break }
                }
            }
        }
        // Edges r → s where s can start r; then look for a cycle (iterative DFS, colors 0/1/2).
        var edges = [[Int]](repeating: [], count: n)
        for r in 0..<n {
            for start in g.alternatives[r] {
                var p = Int(start)
                while g.elements[p] < Grammar.end {
                    let s = Grammar.ruleIndex(g.elements[p])
                    edges[r].append(s)
                    if !nullable[s] { break }
                    p += 1
                }
            }
        }
        var color = [UInt8](repeating: 0, count: n)
        for start in 0..<n where color[start] == 0 {
            var stack: [(Int, Int)] = [(start, 0)]
            color[start] = 1
            while let (r, i) = stack.last {
                if i < edges[r].count {
                    stack[stack.count - 1].1 += 1
                    let s = edges[r][i]
                    if color[s] == 1 {
                        let name = g.ruleNames[s]
                        let whereText = location(s).map { " (line \($0.line))" } ?? ""
                        throw GrammarError.invalid("rule '\(name)'\(whereText) is left-recursive: it can reach itself without consuming a character (rewrite it with right recursion or repetition)")
                    }
                    if color[s] == 0 { color[s] = 1; stack.append((s, 0)) }
                } else {
                    color[r] = 2
                    stack.removeLast()
                }
            }
        }
    }
}

extension Grammar {
    /// `text` as a GBNF string literal (quotes, backslashes and control characters escaped), for code that
    /// composes GBNF text, such as the tool-call grammars.
    public static func literal(_ text: String) -> String { JSONSchemaRules.literal(text) }
}
