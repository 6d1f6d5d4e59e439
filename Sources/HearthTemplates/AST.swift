/// The parsed template: jinja2's node types, reduced to what the interpreter needs. Every node keeps its template
/// line for error messages.
indirect enum Expr {
    case literal(TemplateValue)
    case name(String, line: Int)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case getattr(Expr, String, line: Int)
    case getitem(Expr, Expr, line: Int)
    case slice(Expr, start: Expr?, stop: Expr?, step: Expr?, line: Int)
    case call(Expr, [Argument], line: Int)
    case filter(Expr?, name: String, [Argument], line: Int)  // nil operand: a `{% filter %}` block's body
    case test(Expr, name: String, [Argument], negated: Bool, line: Int)
    case unary(String, Expr, line: Int)
    case binary(String, Expr, Expr, line: Int)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(String, Expr)], line: Int)
    case conditional(test: Expr, then: Expr, otherwise: Expr?)
}

enum Argument {
    case positional(Expr)
    case keyword(String, Expr)
}

/// What `set` and `for` assign to: a name, `ns.attr`, or a tuple of targets.
indirect enum Target {
    case name(String)
    case attribute(String, String)
    case tuple([Target])
}

struct MacroDefinition {
    let name: String
    let parameters: [(String, Expr?)]
    let body: [Node]
}

indirect enum Node {
    case text(String)
    case output(Expr, line: Int)
    case ifBlock([(Expr, [Node])], otherwise: [Node])
    case forLoop(target: Target, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node], line: Int)
    case set(Target, Expr, line: Int)
    case setBlock(Target, filters: [Expr], body: [Node], line: Int)
    case macro(MacroDefinition)
    case callBlock(call: Expr, callerParameters: [(String, Expr?)], body: [Node], line: Int)
    case filterBlock(filters: [Expr], body: [Node], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
    /// `{% generation %}` (Hugging Face's assistant-mask extension) and `{% with %}` bodies.
    case scope(assignments: [(Target, Expr)], body: [Node])
}
