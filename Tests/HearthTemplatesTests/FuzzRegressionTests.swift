import XCTest
@testable import HearthTemplates

/// Inputs the libFuzzer harness (Fuzz/Harnesses/jinja.swift, docs/SECURITY.md "Fuzzing") found problems with,
/// kept as regression tests.
final class TemplateFuzzRegressionTests: XCTestCase {
    let clock = try? TemplateClock(iso8601: "2026-11-26T12:00:00")

    /// A macro is stored in the scope it closes over, and `{% set n.me = n %}` makes a namespace hold itself:
    /// both were reference cycles, so every render of such a template leaked its scopes, values and AST (found
    /// as a LeakSanitizer report on the jinja seed corpus). The interpreter now breaks them when it goes away.
    func testMacroScopesAndSelfReferencingNamespacesAreFreed() throws {
        let clock = try XCTUnwrap(clock)
        let source = "{% macro m(a) %}<{{ a }}>{% endmacro %}{% set n = namespace() %}{% set n.me = n %}"
            + "{% for i in range(2) %}{% macro inner() %}{{ i }}{% endmacro %}{% set n.f = inner %}{% endfor %}"
            + "{{ m(1) }}{{ n.f() }}{% call m(2) %}{% endcall %}"
        weak var scope: Scope?
        weak var namespace: TemplateValue.Namespace?
        do {
            let nodes = try Parser.parse(source)
            let interpreter = TemplateInterpreter(context: [:], clock: clock, limits: .default)
            XCTAssertEqual(try interpreter.render(nodes), "<1>1<2>")
            scope = interpreter.scope
            if case .namespace(let n)? = interpreter.scope.variables["n"] { namespace = n }
            XCTAssertNotNil(scope)
            XCTAssertNotNil(namespace)
        }
        XCTAssertNil(scope, "the scope a macro closes over must be freed with the interpreter")
        XCTAssertNil(namespace, "a namespace that holds itself must be freed with the interpreter")
    }

    /// The public API renders on a joined thread: after `render` returns, the template can be rendered again
    /// from any thread and gives the same text (the harness renders thousands of times in one process).
    func testRepeatedRendersOnLargeStackThread() throws {
        let clock = try XCTUnwrap(clock)
        let template = try ChatTemplate(source: "{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}")
        for _ in 0..<200 {
            let out = try template.render(messages: [["role": "user", "content": "hi"]], clock: clock)
            XCTAssertEqual(out, "user:hi;")
        }
    }
}
