import Foundation
import HearthTemplates
import XCTest

/// Issue 5's template bar through the CLI: `hearth chat-template` reproduces every render of
/// template-smollm2.json, template-qwen25coder.json (templates and BOS/EOS read from the GGUF files) and
/// templates-corpus.json (`--template`, `--bos-token <s>`, `--eos-token </s>`) byte for byte, with
/// `--now 2026-11-26T12:00:00`, and exits non-zero with the template's error where jinja2 raised one.
/// The reference JSON is read with HearthTemplates' order-keeping reader so `tojson` sees keys in file order.
final class ChatTemplateTests: XCTestCase {
    static func load(_ file: String) throws -> TemplateValue {
        let url = CLI.reference.appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Missing("missing reference file \(url.path) (the checkout needs ../shared beside it)")
        }
        return try TemplateValue(json: data)
    }

    static func field(_ v: TemplateValue?, _ key: String) -> TemplateValue? {
        if case .object(let o)? = v { return o[key] }
        return nil
    }
    static func string(_ v: TemplateValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
    static func array(_ v: TemplateValue?) -> [TemplateValue] { if case .array(let a)? = v { return a }; return [] }

    /// Runs every render of `renders`; returns the failures.
    static func check(_ label: String, args: [String], renders: [TemplateValue], cases: [String: TemplateValue]) throws
        -> [String]
    {
        var failures: [String] = []
        for r in renders {
            let name = string(field(r, "case")) ?? "?"
            guard let c = cases[name] else { failures.append("\(label)/\(name): no such case"); continue }
            var input = TemplateValue.TemplateObject()
            input["messages"] = field(c, "messages")
            input["tools"] = field(c, "tools")
            input["add_generation_prompt"] = field(c, "add_generation_prompt")
            let run = try CLI.run(["chat-template"] + args + ["--now", "2026-11-26T12:00:00"],
                                  stdin: Data(try TemplateValue.object(input).jsonText().utf8))
            if run.crashed { failures.append("\(label)/\(name): crashed"); continue }
            if let error = string(field(r, "error")) {
                let message = error.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? error
                if run.status == 0 || !run.stderr.contains(message) {
                    failures.append("\(label)/\(name): expected error \(error.debugDescription), got status \(run.status) \(run.stderr.debugDescription)")
                }
            } else if run.status != 0 || run.out != string(field(r, "output")) {
                failures.append("\(label)/\(name): status \(run.status) \(run.stderr) output \(run.out.prefix(200).debugDescription)")
            }
        }
        return failures
    }

    func testModelTemplatesFromGGUF() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2, CLI.qwen25coder)
        let chat = Self.array(try Self.load("chat-cases.json"))
        let cases = Dictionary(chat.map { (Self.string(Self.field($0, "name")) ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var failures: [String] = []
        for (model, path) in [("smollm2", CLI.smollm2), ("qwen25coder", CLI.qwen25coder)] {
            let ref = try Self.load("template-\(model).json")
            let renders = Self.array(Self.field(ref, "renders"))
            XCTAssertEqual(renders.count, 9)
            failures += try Self.check(model, args: [path], renders: renders, cases: cases)
        }
        XCTAssertEqual(failures, [])
    }

    func testCorpusTemplates() throws {
        try CLI.requireFiles(CLI.binary)
        let ref = try Self.load("templates-corpus.json")
        let cases = Dictionary(Self.array(Self.field(ref, "cases")).map { (Self.string(Self.field($0, "name")) ?? "", $0) },
                               uniquingKeysWith: { a, _ in a })
        let bos = try XCTUnwrap(Self.string(Self.field(ref, "bos_token")))
        let eos = try XCTUnwrap(Self.string(Self.field(ref, "eos_token")))
        let templates = Self.array(Self.field(ref, "templates"))
        XCTAssertEqual(templates.count, 35)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var failures: [String] = []
        var count = 0
        for (i, t) in templates.enumerated() {
            let file = dir.appendingPathComponent("\(i).jinja")
            try Data((Self.string(Self.field(t, "template")) ?? "").utf8).write(to: file)
            let renders = Self.array(Self.field(t, "renders"))
            count += renders.count
            failures += try Self.check(Self.string(Self.field(t, "name")) ?? "?",
                                       args: ["--template", file.path, "--bos-token", bos, "--eos-token", eos],
                                       renders: renders, cases: cases)
        }
        XCTAssertEqual(count, 420)
        XCTAssertEqual(failures, [])
    }

    /// `--input FILE`, extra top-level keys as template variables, token overrides, nothing added to the output.
    func testInputFileExtraVariablesAndOverrides() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-ct-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let template = dir.appendingPathComponent("t.jinja"), input = dir.appendingPathComponent("in.json")
        try Data("{{ bos_token }}|{{ enable_thinking }}|{{ messages[0].content }}|{{ add_generation_prompt }}|{{ eos_token }}\n".utf8)
            .write(to: template)
        try Data(#"{"messages": [{"role": "user", "content": "é\n"}], "add_generation_prompt": false, "enable_thinking": false}"#.utf8)
            .write(to: input)
        let r = try CLI.run(["chat-template", CLI.smollm2, "--template", template.path, "--input", input.path,
                             "--bos-token", "[B]"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The model's EOS token, the overridden BOS; the template's single trailing newline is dropped (jinja2).
        XCTAssertEqual(r.out, "[B]|False|é\n|False|<|im_end|>")
    }

    /// Input mistakes are clear errors naming the field; nothing is printed on stdout.
    func testBadInput() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        for (input, expected) in [("{\"messages\": 3}", "\"messages\" must be an array"),
                                  ("{\"messages\": [], \"tools\": 1}", "\"tools\" must be an array"),
                                  ("[1]", "expected a JSON object"),
                                  ("{\"messages\": [}", "byte offset 14")] {
            let r = try CLI.run(["chat-template", CLI.smollm2], stdin: Data(input.utf8))
            XCTAssertNotEqual(r.status, 0, input)
            XCTAssertFalse(r.crashed, input)
            XCTAssertTrue(r.stderr.contains(expected), "\(input): \(r.stderr)")
            XCTAssertEqual(r.out, "", input)
        }
        let bad = try CLI.run(["chat-template", CLI.smollm2, "--now", "yesterday"], stdin: Data("{\"messages\":[]}".utf8))
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("ISO 8601"), bad.stderr)
        let noTemplate = try CLI.run(["chat-template", CLI.gemma3], stdin: Data("{\"messages\":[]}".utf8))
        XCTAssertNotEqual(noTemplate.status, 0)
        XCTAssertTrue(noTemplate.stderr.contains("tokenizer.chat_template"), noTemplate.stderr)
    }
}
