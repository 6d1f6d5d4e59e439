import Foundation
import HearthTemplates
import XCTest

/// Beyond the reference cases: the 37 reference templates on richer conversations (tool calls with ids and string
/// arguments, reasoning content, content parts, `enable_thinking`, empty and long histories, control characters),
/// against jinja2's renders in jinja2-conversations.json (made by make-jinja2-conversations.py).
final class ConversationTests: XCTestCase {
    func testReferenceTemplatesOnMoreConversations() throws {
        typealias R = ReferenceRenderTests
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("jinja2-conversations.json")
        let fixture = try TemplateValue(json: try Data(contentsOf: url))
        let cases = Dictionary(R.array(R.field(fixture, "cases")).map { (R.string(R.field($0, "name")) ?? "", $0) },
                               uniquingKeysWith: { a, _ in a })
        let renders = R.array(R.field(fixture, "renders"))
        XCTAssertEqual(renders.count, 407)

        var templates: [(name: String, source: String, bos: String, eos: String)] = []
        let corpus = try R.load("templates-corpus.json")
        for t in R.array(R.field(corpus, "templates")) {
            templates.append((R.string(R.field(t, "name")) ?? "", R.string(R.field(t, "template")) ?? "",
                              R.string(R.field(corpus, "bos_token")) ?? "", R.string(R.field(corpus, "eos_token")) ?? ""))
        }
        for model in ["smollm2", "qwen25coder"] {
            let ref = try R.load("template-\(model).json")
            templates.append((model, R.string(R.field(ref, "template")) ?? "", R.string(R.field(ref, "bos_token")) ?? "",
                              R.string(R.field(ref, "eos_token")) ?? ""))
        }
        XCTAssertEqual(templates.count, 37)
        var failures: [String] = []
        var checked = 0
        for t in templates {
            let mine = renders.filter { R.string(R.field($0, "template")) == t.name }
            let (f, n) = R.check(name: t.name, template: t.source, renders: mine, cases: cases, bos: t.bos, eos: t.eos)
            failures += f
            checked += n
        }
        XCTAssertEqual(checked, 407)
        XCTAssertEqual(failures.count, 0, "\n" + failures.joined(separator: "\n"))
    }
}
