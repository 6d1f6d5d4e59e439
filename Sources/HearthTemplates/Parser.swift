/// A recursive-descent parser following jinja2 3.x's `Parser` (jinja2/parser.py) rule for rule, so precedence,
/// tuple handling and the inline `if` behave the same. Errors are `TemplateSyntaxError`s with the line.
struct Parser {
    private let tokens: [Token]
    private var pos = 0
    private var depth = 0
    /// Enclosing `for` bodies (macro and call bodies start afresh): jinja2 compiles `break` outside a loop to a
    /// Python SyntaxError.
    private var loopDepth = 0
    /// Deeper nesting than this is refused rather than risking the stack on a hostile template.
    static let maxDepth = 200

    static func parse(_ source: String) throws -> [Node] {
        var p = Parser(tokens: try Lexer.tokenize(source))
        let nodes = try p.subparse(endTags: [])
        guard case .eof = p.current.kind else { throw p.fail("unexpected '\(p.describe(p.current))'") }
        return nodes
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    // MARK: token helpers

    private var current: Token { pos < tokens.count ? tokens[pos] : Token(kind: .eof, line: tokens.last?.line ?? 1) }
    private func peek(_ n: Int = 1) -> Token {
        pos + n < tokens.count ? tokens[pos + n] : Token(kind: .eof, line: tokens.last?.line ?? 1)
    }
    private mutating func advance() { pos += 1 }

    private func fail(_ message: String, line: Int? = nil) -> TemplateError {
        TemplateError(.syntax, message, line: line ?? current.line)
    }

    private func describe(_ t: Token) -> String {
        switch t.kind {
        case .data: return "template data"
        case .variableBegin: return "{{"
        case .variableEnd: return "}}"
        case .blockBegin: return "{%"
        case .blockEnd: return "%}"
        case .name(let n): return n
        case .string(let s): return PythonFormat.stringRepr(s)
        case .int(let i): return String(i)
        case .float(let d): return PythonFormat.floatRepr(d)
        case .op(let o): return o
        case .eof: return "end of template"
        }
    }

    private func isOp(_ o: String, _ t: Token? = nil) -> Bool {
        if case .op(let x) = (t ?? current).kind { return x == o }
        return false
    }
    private func isName(_ n: String, _ t: Token? = nil) -> Bool {
        if case .name(let x) = (t ?? current).kind { return x == n }
        return false
    }
    private mutating func skipOp(_ o: String) -> Bool { if isOp(o) { advance(); return true }; return false }
    private mutating func skipName(_ n: String) -> Bool { if isName(n) { advance(); return true }; return false }

    private mutating func expectOp(_ o: String) throws {
        guard skipOp(o) else { throw fail("expected '\(o)', got '\(describe(current))'") }
    }
    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw fail("expected a name, got '\(describe(current))'") }
        advance()
        return n
    }
    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else { throw fail("expected end of statement block, got '\(describe(current))'") }
        advance()
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth { throw TemplateError(.limit, "template nested more than \(Parser.maxDepth) levels deep", line: current.line) }
    }

    // MARK: statements

    /// Nodes up to a `{% tag %}` whose name is in `endTags` (left unconsumed, positioned at the name).
    private mutating func subparse(endTags: Set<String>) throws -> [Node] {
        try enter()
        defer { depth -= 1 }
        var body: [Node] = []
        while true {
            let t = current
            switch t.kind {
            case .data(let s):
                body.append(.text(s)); advance()
            case .variableBegin:
                advance()
                let e = try parseTuple(withCondexpr: true)
                guard case .variableEnd = current.kind else { throw fail("expected end of print statement, got '\(describe(current))'") }
                advance()
                body.append(.output(e, line: t.line))
            case .blockBegin:
                advance()
                if case .name(let n) = current.kind, endTags.contains(n) { return body }
                body.append(try statement())
            case .eof:
                if !endTags.isEmpty {
                    throw fail("unexpected end of template; expected one of: \(endTags.sorted().joined(separator: ", "))")
                }
                return body
            default:
                throw fail("unexpected '\(describe(t))'")
            }
        }
    }

    /// Body until one of `endTags`; returns the body and the end tag seen. With `drop` the end tag and its `%}`
    /// are consumed.
    private mutating func statements(until endTags: Set<String>, drop: Bool = true) throws -> ([Node], String) {
        let body = try subparse(endTags: endTags)
        let tag = try expectName()
        if drop { try expectBlockEnd() }
        return (body, tag)
    }

    private mutating func statement() throws -> Node {
        let line = current.line
        let tag = try expectName()
        switch tag {
        case "if": return try ifStatement()
        case "for": return try forStatement(line)
        case "set": return try setStatement(line)
        case "macro":
            let name = try expectName()
            let params = try signature()
            try expectBlockEnd()
            let (body, _) = try outsideLoops { try $0.statements(until: ["endmacro"]) }
            return .macro(MacroDefinition(name: name, parameters: params, body: body))
        case "call":
            let params = isOp("(") ? try signature() : []
            let call = try parseExpression()
            guard case .call = call else { throw fail("expected call", line: line) }
            try expectBlockEnd()
            let (body, _) = try outsideLoops { try $0.statements(until: ["endcall"]) }
            return .callBlock(call: call, callerParameters: params, body: body, line: line)
        case "filter":
            let filters = try filterChain(inlineFirst: true)
            try expectBlockEnd()
            let (body, _) = try statements(until: ["endfilter"])
            return .filterBlock(filters: filters, body: body, line: line)
        case "break", "continue":
            guard loopDepth > 0 else { throw fail("'\(tag)' outside loop", line: line) }
            try expectBlockEnd()
            return tag == "break" ? .breakLoop(line: line) : .continueLoop(line: line)
        case "generation":
            try expectBlockEnd()
            let (body, _) = try statements(until: ["endgeneration"])
            return .scope(assignments: [], body: body)
        case "with":
            var assignments: [(Target, Expr)] = []
            while !isBlockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try assignTarget(withTuple: false)
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let (body, _) = try statements(until: ["endwith"])
            return .scope(assignments: assignments, body: body)
        case "include", "extends", "import", "from", "block":
            throw fail("'\(tag)' needs a template loader, which chat templates do not have", line: line)
        default:
            throw fail("Encountered unknown tag '\(tag)'.", line: line)
        }
    }

    private mutating func outsideLoops<T>(_ body: (inout Parser) throws -> T) throws -> T {
        let saved = loopDepth
        loopDepth = 0
        defer { loopDepth = saved }
        return try body(&self)
    }

    private var isBlockEnd: Bool { if case .blockEnd = current.kind { return true } else { return false } }

    private mutating func ifStatement() throws -> Node {
        var branches: [(Expr, [Node])] = []
        var test = try parseTuple(withCondexpr: false)
        while true {
            try expectBlockEnd()
            let (body, tag) = try statements(until: ["elif", "else", "endif"], drop: false)
            branches.append((test, body))
            if tag == "elif" { test = try parseTuple(withCondexpr: false); continue }
            try expectBlockEnd()
            if tag == "else" {
                let (otherwise, _) = try statements(until: ["endif"])
                return .ifBlock(branches, otherwise: otherwise)
            }
            return .ifBlock(branches, otherwise: [])
        }
    }

    private mutating func forStatement(_ line: Int) throws -> Node {
        let target = try assignTarget(withTuple: true, endNames: ["in"])
        guard skipName("in") else { throw fail("expected 'in', got '\(describe(current))'") }
        let iterable = try parseTuple(withCondexpr: false, endNames: ["recursive"])
        var condition: Expr? = nil
        if skipName("if") { condition = try parseExpression() }
        if isName("recursive") { throw fail("recursive for loops are not supported") }
        try expectBlockEnd()
        loopDepth += 1
        let (body, tag) = try statements(until: ["endfor", "else"])
        loopDepth -= 1
        var otherwise: [Node] = []
        if tag == "else" { (otherwise, _) = try statements(until: ["endfor"]) }
        return .forLoop(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise,
                        line: line)
    }

    private mutating func setStatement(_ line: Int) throws -> Node {
        let target: Target
        if case .name(let n) = current.kind, isOp(".", peek()) {
            advance(); advance()
            target = .attribute(n, try expectName())
        } else {
            target = try assignTarget(withTuple: true)
        }
        if skipOp("=") {
            let value = try parseTuple(withCondexpr: true)
            try expectBlockEnd()
            return .set(target, value, line: line)
        }
        let filters = isOp("|") ? try filterChain(inlineFirst: false) : []
        try expectBlockEnd()
        let (body, _) = try statements(until: ["endset"])
        return .setBlock(target, filters: filters, body: body, line: line)
    }

    /// `(a, b=default, …)` of a macro or call block.
    private mutating func signature() throws -> [(String, Expr?)] {
        try expectOp("(")
        var params: [(String, Expr?)] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            if skipOp("=") {
                params.append((name, try parseExpression()))
            } else {
                if params.contains(where: { $0.1 != nil }) { throw fail("non-default argument follows default argument") }
                params.append((name, nil))
            }
        }
        advance()
        return params
    }

    private mutating func assignTarget(withTuple: Bool, endNames: Set<String> = []) throws -> Target {
        var targets: [Target] = []
        var isTuple = false
        let parenthesized = skipOp("(")
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if isBlockEnd || isOp("=") || isOp(")") { break }
            if case .name(let n) = current.kind, endNames.contains(n) { break }
            targets.append(.name(try expectName()))
            if !withTuple && !parenthesized { break }
            if isOp(",") { isTuple = true } else { break }
        }
        if parenthesized { try expectOp(")") }
        guard let first = targets.first else { throw fail("expected an assignment target") }
        return isTuple || targets.count > 1 ? .tuple(targets) : first
    }

    /// One or more `name(args)` filters joined by `|` (a `{% filter %}` tag or block `set`).
    private mutating func filterChain(inlineFirst: Bool) throws -> [Expr] {
        var filters: [Expr] = []
        var first = inlineFirst
        while first || isOp("|") {
            if !first { advance() }
            first = false
            let line = current.line
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            let args = isOp("(") ? try callArguments() : []
            filters.append(.filter(nil, name: name, args, line: line))
        }
        return filters
    }

    // MARK: expressions

    private mutating func parseExpression(withCondexpr: Bool = true) throws -> Expr {
        withCondexpr ? try parseCondexpr() : try parseOr()
    }

    private mutating func parseCondexpr() throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var expr = try parseOr()
        while skipName("if") {
            let test = try parseOr()
            let otherwise = skipName("else") ? try parseCondexpr() : nil
            expr = .conditional(test: test, then: expr, otherwise: otherwise)
        }
        return expr
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        let line = current.line
        if skipName("not") {
            try enter()
            defer { depth -= 1 }
            return .unary("not", try parseNot(), line: line)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let line = current.line
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                advance(); ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not") && isName("in", peek()) {
                advance(); advance(); ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : .compare(left, ops, line: line)
    }

    private mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let line = current.line
            advance()
            left = .binary(o, left, try parseConcat(), line: line)
        }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while isOp("~") {
            let line = current.line
            advance()
            left = .binary("~", left, try parseMath2(), line: line)
        }
        return left
    }

    private mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            let line = current.line
            advance()
            left = .binary(o, left, try parsePow(), line: line)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let line = current.line
            advance()
            left = .binary("**", left, try parseUnary(), line: line)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let line = current.line
        var node: Expr
        if skipOp("-") {
            node = .unary("-", try parseUnary(withFilter: false), line: line)
        } else if skipOp("+") {
            node = .unary("+", try parseUnary(withFilter: false), line: line)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let t = current
        switch t.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, line: t.line)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind { s += more; advance() }
            return .literal(.string(s))
        case .int(let i): advance(); return .literal(.int(i))
        case .float(let d): advance(); return .literal(.double(d))
        case .op("("):
            advance()
            let e = try parseTuple(withCondexpr: true, explicitParentheses: true)
            try expectOp(")")
            return e
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            advance()
            return .list(items)
        case .op("{"):
            advance()
            var items: [(Expr, Expr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            advance()
            return .dict(items)
        default:
            throw fail("unexpected '\(describe(t))'")
        }
    }

    /// jinja2's `parse_tuple`: a comma makes a tuple; `()` is the empty tuple.
    private mutating func parseTuple(withCondexpr: Bool, explicitParentheses: Bool = false,
                                     endNames: Set<String> = []) throws -> Expr {
        var items: [Expr] = []
        var isTuple = false
        let line = current.line
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isVariableEnd || isBlockEnd || isOp(")") { break }
            if case .name(let n) = current.kind, endNames.contains(n) { break }
            items.append(try parseExpression(withCondexpr: withCondexpr))
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw fail("Expected an expression, got '\(describe(current))'", line: line) }
        }
        return .tuple(items)
    }

    private var isVariableEnd: Bool { if case .variableEnd = current.kind { return true } else { return false } }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let line = current.line
            if isOp(".") {
                advance()
                switch current.kind {
                case .name(let n): advance(); node = .getattr(node, n, line: line)
                case .int(let i): advance(); node = .getitem(node, .literal(.int(i)), line: line)
                default: throw fail("expected name or number after '.'")
                }
            } else if isOp("[") {
                advance()
                node = try parseSubscript(node, line: line)
            } else if isOp("(") {
                node = .call(node, try callArguments(), line: line)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: Expr, line: Int) throws -> Expr {
        var parts: [Expr?] = []
        var isSlice = false
        if !isOp(":") { parts.append(try parseExpression()) } else { parts.append(nil) }
        while skipOp(":") {
            isSlice = true
            if isOp(":") || isOp("]") { parts.append(nil) } else { parts.append(try parseExpression()) }
        }
        try expectOp("]")
        if !isSlice, let index = parts[0] { return .getitem(node, index, line: line) }
        guard parts.count <= 3 else { throw fail("a slice takes at most three parts", line: line) }
        return .slice(node, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil, line: line)
    }

    private mutating func callArguments() throws -> [Argument] {
        try expectOp("(")
        var args: [Argument] = []
        while !isOp(")") {
            if !args.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") { throw fail("*args and **kwargs in calls are not supported") }
            if case .name(let n) = current.kind, isOp("=", peek()) {
                advance(); advance()
                args.append(.keyword(n, try parseExpression()))
            } else {
                if args.contains(where: { if case .keyword = $0 { return true } else { return false } }) {
                    throw fail("positional argument follows keyword argument")
                }
                args.append(.positional(try parseExpression()))
            }
        }
        advance()
        return args
    }

    private mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let line = current.line
            if isOp("|") {
                advance()
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                let args = isOp("(") ? try callArguments() : []
                node = .filter(node, name: name, args, line: line)
            } else if isName("is") {
                advance()
                let negated = skipName("not")
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                var args: [Argument] = []
                if isOp("(") {
                    args = try callArguments()
                } else if startsPrimary && !isName("else") && !isName("or") && !isName("and") {
                    if isName("is") { throw fail("You cannot chain multiple tests with is") }
                    args = [.positional(try parsePostfix(try parsePrimary()))]
                }
                node = .test(node, name: name, args, negated: negated, line: line)
            } else if isOp("(") {
                node = .call(node, try callArguments(), line: line)
            } else {
                return node
            }
        }
    }

    private var startsPrimary: Bool {
        switch current.kind {
        case .name, .string, .int, .float: return true
        case .op(let o): return o == "(" || o == "[" || o == "{"
        default: return false
        }
    }
}
