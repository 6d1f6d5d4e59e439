import Foundation
import HearthTemplates
import XCTest

/// The chat-template bar of issue 5 at library level: every render of ../shared/reference/template-*.json and
/// templates-corpus.json byte for byte, and an error wherever jinja2 raised one. (Tests/HearthCLITests checks the
/// same through `hearth chat-template`.)
final class ReferenceRenderTests: XCTestCase {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("../shared/reference").standardized

    /// The reference clock: 2026-11-26 12:00:00 (README).
    static let clock = try? TemplateClock(iso8601: "2026-11-26T12:00:00")

    static func load(_ name: String) throws -> TemplateValue {
        let url = reference.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TemplateError(.value, "missing reference file \(url.path) (the checkout needs ../shared beside it)")
        }
        return try TemplateValue(json: data)
    }

    static func field(_ v: TemplateValue, _ key: String) -> TemplateValue? {
        if case .object(let o) = v { return o[key] }
        return nil
    }

    static func string(_ v: TemplateValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
    static func array(_ v: TemplateValue?) -> [TemplateValue] { if case .array(let a)? = v { return a }; return [] }

    /// Renders `template` for every case in `renders`; returns one line per failure.
    static func check(name: String, template: String, renders: [TemplateValue], cases: [String: TemplateValue],
                      bos: String, eos: String) -> (failures: [String], checked: Int)
    {
        let parsed: ChatTemplate
        do { parsed = try ChatTemplate(source: template) } catch {
            return (["\(name): parse error \(error)"], 0)
        }
        var failures: [String] = []
        for r in renders {
            let caseName = string(field(r, "case")) ?? "?"
            guard let c = cases[caseName] else { failures.append("\(name)/\(caseName): case not found"); continue }
            let tools = field(c, "tools").map { array($0) }
            let agp = field(c, "add_generation_prompt")?.truthy ?? true
            var extra: [String: TemplateValue] = [:]
            if case .object(let o) = c {
                for (k, v) in o.pairs where !["name", "messages", "tools", "add_generation_prompt"].contains(k) { extra[k] = v }
            }
            let result: Result<String, Error> = Result {
                try parsed.render(messages: array(field(c, "messages")), tools: tools, addGenerationPrompt: agp,
                                  bosToken: bos, eosToken: eos, clock: try XCTUnwrap(clock), extra: extra)
            }
            if let expectedError = string(field(r, "error")) {
                if case .success = result { failures.append("\(name)/\(caseName): rendered, jinja2 raised \(expectedError)") }
                continue
            }
            let expected = string(field(r, "output")) ?? ""
            switch result {
            case .failure(let e): failures.append("\(name)/\(caseName): error \(e)")
            case .success(let got) where got != expected:
                let g = Array(got.unicodeScalars), x = Array(expected.unicodeScalars)
                let i = zip(g, x).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(g.count, x.count)
                let ctx = { (a: [Unicode.Scalar]) in String(String.UnicodeScalarView(a[max(0, i - 30)..<min(a.count, i + 40)])).debugDescription }
                failures.append("\(name)/\(caseName): differs at \(i): got \(ctx(g)) expected \(ctx(x))")
            default: break
            }
        }
        return (failures, renders.count)
    }

    func testModelTemplatesMatchJinja2() throws {
        let chat = Self.array(try Self.load("chat-cases.json"))
        let cases = Dictionary(chat.map { (Self.string(Self.field($0, "name")) ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var total = 0
        for model in ["smollm2", "qwen25coder"] {
            let ref = try Self.load("template-\(model).json")
            let (failures, n) = Self.check(name: model, template: Self.string(Self.field(ref, "template")) ?? "",
                                           renders: Self.array(Self.field(ref, "renders")), cases: cases,
                                           bos: Self.string(Self.field(ref, "bos_token")) ?? "",
                                           eos: Self.string(Self.field(ref, "eos_token")) ?? "")
            XCTAssertEqual(failures, [], model)
            total += n
        }
        XCTAssertEqual(total, 18)
    }

    func testCorpusTemplatesMatchJinja2() throws {
        let ref = try Self.load("templates-corpus.json")
        let cases = Dictionary(Self.array(Self.field(ref, "cases")).map { (Self.string(Self.field($0, "name")) ?? "", $0) },
                               uniquingKeysWith: { a, _ in a })
        let templates = Self.array(Self.field(ref, "templates"))
        XCTAssertEqual(templates.count, 35)
        var failures: [String] = []
        var total = 0
        for t in templates {
            let (f, n) = Self.check(name: Self.string(Self.field(t, "name")) ?? "?",
                                    template: Self.string(Self.field(t, "template")) ?? "",
                                    renders: Self.array(Self.field(t, "renders")), cases: cases,
                                    bos: Self.string(Self.field(ref, "bos_token")) ?? "",
                                    eos: Self.string(Self.field(ref, "eos_token")) ?? "")
            failures += f
            total += n
        }
        XCTAssertEqual(total, 420)
        XCTAssertEqual(failures.count, 0, "\(failures.count) of \(total) renders differ:\n" + failures.joined(separator: "\n"))
    }
}
