import Foundation
import HearthTemplates
import XCTest

/// Feature-by-feature checks: each case of jinja2-cases.json (whitespace control, loops, scoping, macros,
/// expressions, filters, tests, methods, undefined values, errors) was rendered by Python jinja2 in Hugging Face's
/// environment by make-jinja2-cases.py; Hearth must print the same bytes, or fail where jinja2 failed (at parse
/// time for syntax errors, with jinja2's message for the others).
final class Jinja2CaseTests: XCTestCase {
    struct Case {
        let name, template, context: String
        let output: String?
        let error: String?
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("jinja2-cases.json")
        let data = try Data(contentsOf: url)
        guard case .array(let items) = try TemplateValue(json: data) else { throw TemplateError(.value, "not a list") }
        return items.compactMap { item in
            guard case .object(let o) = item else { return nil }
            func s(_ k: String) -> String? { if case .string(let v)? = o[k] { return v }; return nil }
            return Case(name: s("name") ?? "?", template: s("template") ?? "", context: s("context") ?? "{}",
                        output: s("output"), error: s("error"))
        }
    }

    /// Messages Hearth words differently from jinja2 (same failure, same exception type).
    static let reworded: Set<String> = [
        "err_unknown_filter", "err_unknown_test", "err_syntax_unclosed_if", "err_syntax_bad_expr",
        "err_syntax_unclosed_var", "err_syntax_endfor", "err_ns_assign", "divisible_no_arg_err", "err_break_in_macro",
    ]

    func testCasesMatchJinja2() throws {
        let all = try Self.cases()
        XCTAssertGreaterThan(all.count, 90)
        let clock = try TemplateClock(iso8601: "2026-11-26T12:00:00")
        var failures: [String] = []
        for c in all {
            guard case .object(let ctx) = try TemplateValue(jsonString: c.context) else { continue }
            var context: [String: TemplateValue] = [:]
            for (k, v) in ctx.pairs { context[k] = v }
            let result = Result { try ChatTemplate(source: c.template).render(context: context, clock: clock) }
            switch (result, c.output, c.error) {
            case (.success(let got), let expected?, _):
                if got != expected { failures.append("\(c.name): got \(got.debugDescription), jinja2 \(expected.debugDescription)") }
            case (.success(let got), nil, let error):
                failures.append("\(c.name): rendered \(got.debugDescription), jinja2 raised \(error ?? "?")")
            case (.failure(let e), _, let error?):
                let mine = e as? TemplateError
                let atCompileTime = error.hasPrefix("TemplateSyntaxError") || error.hasPrefix("SyntaxError")
                if atCompileTime, (try? ChatTemplate(source: c.template)) != nil {
                    failures.append("\(c.name): jinja2 failed to parse, Hearth parsed (then: \(e))")
                } else if !Self.reworded.contains(c.name), let m = mine, "\(m.kind.rawValue): \(m.message)" != error {
                    failures.append("\(c.name): error \(m.kind.rawValue): \(m.message), jinja2 \(error)")
                }
            case (.failure(let e), _, nil):
                failures.append("\(c.name): error \(e), jinja2 rendered \(c.output?.debugDescription ?? "")")
            }
        }
        XCTAssertEqual(failures.count, 0, "\n" + failures.joined(separator: "\n"))
    }
}
