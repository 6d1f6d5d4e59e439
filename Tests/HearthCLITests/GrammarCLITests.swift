import Foundation
import XCTest

/// `hearth run --format` / `--grammar-file` through the built binary: constrained output on SmolLM2, and clear
/// one-line errors for bad grammars, schemas and sampling options.
final class GrammarCLITests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-grammar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func write(_ text: String, _ name: String) throws -> String {
        let url = tmp.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Already in SmolLM2's chat format, so the runs below pass `--raw` (no second template around it).
    let prompt = "<|im_start|>user\nDescribe a cat as JSON.<|im_end|>\n<|im_start|>assistant\n"

    func testFormatJSONOutputParses() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        for seed in ["1", "2", "3"] {
            let r = try CLI.run(["run", CLI.smollm2, prompt, "--raw", "--format", "json", "--temperature", "1", "--seed", seed,
                                 "--num-predict", "200", "--threads", "2"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let out = r.out.trimmingCharacters(in: .newlines)
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(out.utf8)), "not JSON: \(out)")
        }
    }

    func testSchemaFileAndGrammarFile() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let schema = try write(#"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "legs": {"type": "integer", "minimum": 0, "maximum": 8}}, "required": ["name", "legs"], "additionalProperties": false}"#, "cat.json")
        let r = try CLI.run(["run", CLI.smollm2, prompt, "--raw", "--format", schema, "--temperature", "0", "--num-predict", "64", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        XCTAssertEqual(Set(object?.keys.map { $0 } ?? []), ["name", "legs"], r.out)
        let legs = object?["legs"] as? Int ?? -1
        XCTAssertTrue((0...8).contains(legs), r.out)

        let gbnf = try write("root ::= (\"yes\" | \"no\") \".\"\n", "yesno.gbnf")
        let g = try CLI.run(["run", CLI.smollm2, "<|im_start|>user\nIs the sky blue?<|im_end|>\n<|im_start|>assistant\n", "--raw",
                             "--grammar-file", gbnf, "--temperature", "1", "--seed", "4", "--num-predict", "16", "--threads", "2", "--verbose"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(["yes.", "no."].contains(g.out.trimmingCharacters(in: .newlines)), g.out)
        XCTAssertTrue(g.stderr.contains("grammar duration:"), g.stderr)
    }

    /// An error on stderr naming `mentions`; option-validation errors add ArgumentParser's two usage lines.
    func assertCleanError(_ args: [String], mentions: [String], usage: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertFalse(r.crashed, r.stderr, file: file, line: line)
        XCTAssertNotEqual(r.status, 0, file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, usage ? 3 : 1, "error lines: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(lines.first?.hasPrefix("Error: ") ?? false, r.stderr, file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(r.stderr)' should mention \(m)", file: file, line: line) }
    }

    func testBadGrammarsAndSchemasAreOneLineErrors() throws {
        try CLI.requireFiles(CLI.binary)
        // The grammar is checked before the model loads, so a missing model does not hide the grammar error.
        let model = CLI.smollm2
        let bad = try write("root ::= item+\nitm ::= [a-z]\n", "bad.gbnf")
        try assertCleanError(["run", model, "hi", "--grammar-file", bad], mentions: [bad, "line 1", "undefined rule 'item'"])
        let open = try write("root ::= (\"a\" | \"b\"\n", "open.gbnf")
        try assertCleanError(["run", model, "hi", "--grammar-file", open], mentions: ["expected ')'"])
        try assertCleanError(["run", model, "hi", "--grammar-file", tmp.appendingPathComponent("nope.gbnf").path], mentions: ["nope.gbnf", "no such file"])
        let unsupported = try write(#"{"type": "array", "items": {"type": "string"}, "uniqueItems": true}"#, "u.json")
        try assertCleanError(["run", model, "hi", "--format", unsupported], mentions: ["uniqueItems", "unsupported"])
        try assertCleanError(["run", model, "hi", "--format", #"{"type": "object", "properties": {"a": {"type": "string", "format": "email"}}}"#],
                             mentions: ["#/properties/a/format", "email"])
        try assertCleanError(["run", model, "hi", "--format", "yaml"], mentions: ["yaml", "no such file"])
        try assertCleanError(["run", model, "hi", "--logit-bias", "12"], mentions: ["--logit-bias", "TOKEN_ID:BIAS"], usage: true)
        try assertCleanError(["run", model, "hi", "--mirostat", "3"], mentions: ["--mirostat"], usage: true)
        try assertCleanError(["run", model, "hi", "--format", "json", "--grammar-file", bad], mentions: ["either"], usage: true)
    }
}
