import Foundation

/// Bounds that keep a hostile template from hanging or exhausting memory; breaching one is an error.
public struct TemplateLimits: Sendable {
    /// Loop iterations over the whole render (all loops together).
    public var maxLoopIterations: Int
    /// Nested macro calls.
    public var maxCallDepth: Int
    /// Bytes of output, and of any one string or list built while rendering.
    public var maxOutputBytes: Int

    /// Wall-clock time for one render, checked at every loop iteration, call and write.
    public var timeout: Duration

    public init(maxLoopIterations: Int = 1_000_000, maxCallDepth: Int = 100, maxOutputBytes: Int = 16 << 20,
                timeout: Duration = .seconds(10)) {
        self.maxLoopIterations = maxLoopIterations
        self.maxCallDepth = maxCallDepth
        self.maxOutputBytes = maxOutputBytes
        self.timeout = timeout
    }

    public static let `default` = TemplateLimits()
}

/// One variable scope: the template, a loop body, a macro call. Lookups fall through to the parent.
final class Scope {
    var variables: [String: TemplateValue] = [:]
    let parent: Scope?
    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> TemplateValue? {
        var s: Scope? = self
        while let scope = s {
            if let v = scope.variables[name] { return v }
            s = scope.parent
        }
        return nil
    }
}

/// Walks the parsed template, writing output. Statement semantics follow jinja2's compiler: `for` bodies and macros
/// get their own scope (so `set` inside a loop does not leak out, which is why templates use `namespace`), `if`
/// does not.
public final class TemplateInterpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    let limits: TemplateLimits
    let clock: TemplateClock
    var scope: Scope
    private var buffers: [String] = [""]
    private var iterations = 0
    private var callDepth = 0
    private let deadline: ContinuousClock.Instant
    /// Scopes macros closed over and the namespaces made, for `deinit`: a macro stored in the scope it captures,
    /// or `{% set ns.me = ns %}`, is a reference cycle that would otherwise outlive the render (found by the
    /// jinja fuzz harness's leak check, docs/SECURITY.md).
    private var closureScopes: [Scope] = []
    var namespaces: [TemplateValue.Namespace] = []

    init(context: [String: TemplateValue], clock: TemplateClock, limits: TemplateLimits) {
        self.limits = limits
        self.clock = clock
        deadline = ContinuousClock.now.advanced(by: limits.timeout)
        let root = Scope(parent: nil)
        root.variables = Builtins.globals()
        for (k, v) in context { root.variables[k] = v }
        scope = Scope(parent: root)
    }

    /// Breaks the cycles: empties every scope a macro captured (and its parents) and every namespace. Nothing
    /// can use them after the render: the output is a string, and macros hold this interpreter `unowned`.
    deinit {
        var seen = Set<ObjectIdentifier>()
        for s in closureScopes {
            var scope: Scope? = s
            while let current = scope, seen.insert(ObjectIdentifier(current)).inserted {
                current.variables.removeAll()
                scope = current.parent
            }
        }
        for ns in namespaces { ns.attributes = TemplateValue.TemplateObject() }
    }

    func render(_ nodes: [Node]) throws -> String {
        let flow = try execute(nodes)
        if flow != .normal { throw TemplateError(.syntax, "break or continue outside of a loop") }
        return buffers[0]
    }

    // MARK: output

    private func checkTime() throws {
        if ContinuousClock.now > deadline { throw TemplateError(.limit, "rendering took longer than \(limits.timeout)") }
    }

    private func write(_ s: String) throws {
        try checkTime()
        buffers[buffers.count - 1] += s
        if buffers[buffers.count - 1].utf8.count > limits.maxOutputBytes {
            throw TemplateError(.limit, "output exceeds \(limits.maxOutputBytes) bytes")
        }
    }

    /// Runs `body` into a fresh buffer and returns what it wrote (block `set`, macros, `call` and `filter` blocks).
    private func capture(_ body: () throws -> Flow) throws -> String {
        let (text, flow) = try captureFlow(body)
        if flow != .normal { throw TemplateError(.syntax, "break or continue outside of a loop") }
        return text
    }

    private func captureFlow(_ body: () throws -> Flow) throws -> (String, Flow) {
        buffers.append("")
        defer { buffers.removeLast() }
        let flow = try body()
        return (buffers[buffers.count - 1], flow)
    }

    /// Block `set` and `filter` bodies are scopes of their own in jinja2: what they set stays inside.
    private func inChildScope<T>(_ body: () throws -> T) rethrows -> T {
        let saved = scope
        scope = Scope(parent: saved)
        defer { scope = saved }
        return try body()
    }

    /// `str(value)` within the output bound.
    func str(_ value: TemplateValue) throws -> String { try value.pyStr(limit: limits.maxOutputBytes) }

    /// A string (bytes) or list (`elements`: bounded by the loop limit, since each may be iterated) about to be
    /// built.
    func checkSize(_ size: Int, _ what: String, elements: Bool = false) throws {
        let limit = elements ? limits.maxLoopIterations : limits.maxOutputBytes
        if size > limit {
            throw TemplateError(.limit, "\(what) would exceed \(limit) \(elements ? "items" : "bytes")")
        }
    }

    func countIteration() throws {
        iterations += 1
        try checkTime()
        if iterations > limits.maxLoopIterations {
            throw TemplateError(.limit, "more than \(limits.maxLoopIterations) loop iterations")
        }
    }

    // MARK: statements

    private func execute(_ nodes: [Node]) throws -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func withLine<T>(_ line: Int, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var e as TemplateError {
            if e.line == nil { e.line = line }
            throw e
        }
    }

    private func execute(_ node: Node) throws -> Flow {
        switch node {
        case .text(let s):
            try write(s)
        case .output(let e, let line):
            let v = try withLine(line) { try evaluate(e) }
            try write(try str(v))
        case .ifBlock(let branches, let otherwise):
            for (test, body) in branches where try evaluate(test).truthy { return try execute(body) }
            return try execute(otherwise)
        case .forLoop(let target, let iterable, let condition, let body, let otherwise, let line):
            return try withLine(line) {
                try forLoop(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
            }
        case .set(let target, let e, let line):
            try withLine(line) { try assign(target, try evaluate(e)) }
        case .setBlock(let target, let filters, let body, let line):
            // A break/continue inside the body ends it and goes to the enclosing loop; nothing is assigned.
            return try withLine(line) {
                let (text, flow) = try captureFlow { try inChildScope { try execute(body) } }
                if flow != .normal { return flow }
                try assign(target, try applyFilters(filters, to: .string(text)))
                return .normal
            }
        case .macro(let def):
            scope.variables[def.name] = .callable(makeMacro(def, closure: scope))
        case .callBlock(let call, let params, let body, let line):
            try withLine(line) {
                let callerDef = MacroDefinition(name: "caller", parameters: params, body: body)
                let caller = makeMacro(callerDef, closure: scope)
                guard case .call(let callee, let args, _) = call else { return }
                let fn = try evaluate(callee)
                var arguments = try evaluateArguments(args)
                arguments.keyword.append(("caller", .callable(caller)))
                try write(try str(try callValue(fn, arguments)))
            }
        case .filterBlock(let filters, let body, let line):
            return try withLine(line) {
                let (text, flow) = try captureFlow { try inChildScope { try execute(body) } }
                if flow != .normal { return flow }
                try write(try str(try applyFilters(filters, to: .string(text))))
                return .normal
            }
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        case .scope(let assignments, let body):
            let values = try assignments.map { ($0.0, try evaluate($0.1)) }
            let saved = scope
            scope = Scope(parent: saved)
            defer { scope = saved }
            for (t, v) in values { try assign(t, v) }
            return try execute(body)
        }
        return .normal
    }

    private func applyFilters(_ filters: [Expr], to value: TemplateValue) throws -> TemplateValue {
        var v = value
        for f in filters {
            guard case .filter(.none, let name, let args, _) = f else { continue }
            v = try Filters.apply(name, v, try evaluateArguments(args), self)
        }
        return v
    }

    func assign(_ target: Target, _ value: TemplateValue) throws {
        switch target {
        case .name(let n):
            scope.variables[n] = value
        case .attribute(let n, let attr):
            guard case .namespace(let ns)? = scope.lookup(n) else {
                throw TemplateError(.runtime, "cannot assign attribute on non-namespace object '\(n)'")
            }
            // Namespaces are the only values that outlive a loop iteration, so the only way to nest values
            // without bound; keep them printable (and their deallocation shallow).
            if value.nestingDepth(cap: 600) > 512 {
                throw TemplateError(.limit, "value assigned to '\(n).\(attr)' is nested more than 512 levels deep")
            }
            ns.attributes[attr] = value
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw TemplateError(.value, items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v) }
        }
    }

    private func forLoop(target: Target, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node]) throws -> Flow {
        var items = try iterate(try evaluate(iterable))
        let saved = scope
        defer { scope = saved }
        if let condition {
            var kept: [TemplateValue] = []
            for item in items {
                try countIteration()
                scope = Scope(parent: saved)
                try assign(target, item)
                if try evaluate(condition).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty { return try execute(otherwise) }
        let count = items.count
        for (i, item) in items.enumerated() {
            try countIteration()
            // Each iteration starts from the enclosing scope: a `set` in the body lasts until the iteration ends.
            scope = Scope(parent: saved)
            try assign(target, item)
            let loop = TemplateValue.TemplateObject([
                ("index", .int(i + 1)), ("index0", .int(i)), ("revindex", .int(count - i)),
                ("revindex0", .int(count - i - 1)), ("first", .bool(i == 0)), ("last", .bool(i == count - 1)),
                ("length", .int(count)), ("depth", .int(1)), ("depth0", .int(0)),
                ("previtem", i > 0 ? items[i - 1] : .undefined("there is no previous item")),
                ("nextitem", i + 1 < count ? items[i + 1] : .undefined("there is no next item")),
                ("cycle", .callable(TemplateCallable(name: "cycle") { args, _ in
                    guard !args.positional.isEmpty else { throw TemplateError(.type, "no items for cycling given") }
                    return args.positional[i % args.positional.count]
                })),
            ])
            scope.variables["loop"] = .object(loop)
            let flow = try execute(body)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    /// Python iteration: lists, dict keys, string characters; Undefined iterates as empty (jinja2).
    func iterate(_ value: TemplateValue) throws -> [TemplateValue] {
        switch value {
        case .array(let a), .tuple(let a): return a
        case .object(let o): return o.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        case .namespace(let n): return n.attributes.keys.map { .string($0) }
        default: throw TemplateError(.type, "'\(value.typeName)' object is not iterable")
        }
    }

    // MARK: macros and calls

    private func makeMacro(_ def: MacroDefinition, closure: Scope) -> TemplateCallable {
        if closureScopes.last !== closure { closureScopes.append(closure) }
        return TemplateCallable(name: def.name, isMacro: true) { [unowned self] args, _ in
            try self.checkTime()
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            if self.callDepth > self.limits.maxCallDepth {
                throw TemplateError(.limit, "macro calls nested more than \(self.limits.maxCallDepth) deep")
            }
            guard args.positional.count <= def.parameters.count else {
                throw TemplateError(.type, "macro '\(def.name)' takes not more than \(def.parameters.count) argument(s)")
            }
            let saved = self.scope
            self.scope = Scope(parent: closure)
            defer { self.scope = saved }
            var keyword = args.keyword
            for (i, (name, defaultValue)) in def.parameters.enumerated() {
                var value: TemplateValue
                if i < args.positional.count {
                    value = args.positional[i]
                    if keyword.contains(where: { $0.0 == name }) {
                        throw TemplateError(.type, "macro '\(def.name)' got multiple values for argument '\(name)'")
                    }
                } else if let k = keyword.firstIndex(where: { $0.0 == name }) {
                    value = keyword[k].1
                    keyword.remove(at: k)
                } else if let d = defaultValue {
                    value = try self.evaluate(d)
                } else {
                    value = .undefined("parameter '\(name)' was not provided")
                }
                self.scope.variables[name] = value
            }
            if let k = keyword.firstIndex(where: { $0.0 == "caller" }) {
                self.scope.variables["caller"] = keyword[k].1
                keyword.remove(at: k)
            }
            if let extra = keyword.first {
                throw TemplateError(.type, "macro '\(def.name)' takes no keyword argument '\(extra.0)'")
            }
            return .string(try self.capture { try self.execute(def.body) })
        }
    }

    func callValue(_ fn: TemplateValue, _ args: CallArguments) throws -> TemplateValue {
        switch fn {
        case .callable(let c): return try c.body(args, self)
        case .undefined(let why): throw TemplateError(.undefined, why)
        default: throw TemplateError(.type, "'\(fn.typeName)' object is not callable")
        }
    }

    func evaluateArguments(_ args: [Argument]) throws -> CallArguments {
        var out = CallArguments()
        for a in args {
            switch a {
            case .positional(let e): out.positional.append(try evaluate(e))
            case .keyword(let k, let e): out.keyword.append((k, try evaluate(e)))
            }
        }
        return out
    }

    // MARK: expressions

    func evaluate(_ expr: Expr) throws -> TemplateValue {
        switch expr {
        case .literal(let v): return v
        case .name(let n, _):
            return scope.lookup(n) ?? .undefined("'\(n)' is undefined")
        case .list(let items):
            return .array(try items.map { try evaluate($0) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0) })
        case .dict(let pairs):
            var o = TemplateValue.TemplateObject()
            for (k, v) in pairs {
                let key = try evaluate(k)
                guard case .string(let s) = key else {
                    throw TemplateError(.type, "dict keys must be strings here, not \(key.typeName)")
                }
                o[s] = try evaluate(v)
            }
            return .object(o)
        case .getattr(let e, let name, let line):
            return try withLine(line) { try Access.attribute(try evaluate(e), name) }
        case .getitem(let e, let index, let line):
            return try withLine(line) { try Access.item(try evaluate(e), try evaluate(index)) }
        case .slice(let e, let start, let stop, let step, let line):
            return try withLine(line) {
                try Access.slice(try evaluate(e), start: try start.map { try evaluate($0) },
                                 stop: try stop.map { try evaluate($0) }, step: try step.map { try evaluate($0) })
            }
        case .call(let callee, let args, let line):
            return try withLine(line) { try callValue(try evaluate(callee), try evaluateArguments(args)) }
        case .filter(let operand, let name, let args, let line):
            return try withLine(line) {
                let value = try operand.map { try evaluate($0) } ?? .undefined("no filter operand")
                return try Filters.apply(name, value, try evaluateArguments(args), self)
            }
        case .test(let operand, let name, let args, let negated, let line):
            return try withLine(line) {
                let result = try Predicates.test(name, try evaluate(operand), try evaluateArguments(args), self)
                return .bool(result != negated)
            }
        case .unary(let op, let e, let line):
            return try withLine(line) { try Operators.unary(op, try evaluate(e)) }
        case .binary(let op, let l, let r, let line):
            return try withLine(line) { try Operators.binary(op, try evaluate(l), try evaluate(r), self) }
        case .and(let l, let r):
            let left = try evaluate(l)
            return left.truthy ? try evaluate(r) : left
        case .or(let l, let r):
            let left = try evaluate(l)
            return left.truthy ? left : try evaluate(r)
        case .compare(let first, let ops, let line):
            return try withLine(line) {
                var left = try evaluate(first)
                for (op, e) in ops {
                    let right = try evaluate(e)
                    if !(try Operators.compare(op, left, right)) { return .bool(false) }
                    left = right
                }
                return .bool(true)
            }
        case .conditional(let test, let then, let otherwise):
            if try evaluate(test).truthy { return try evaluate(then) }
            return try otherwise.map { try evaluate($0) } ?? .undefined("the inline if expression's else branch")
        }
    }
}
