import Foundation
import HearthEngine
import HearthGrammar
import XCTest

/// Real models under grammars at temperature 1.0: every sample must parse and validate (JSON Schema, checked by
/// Python's jsonschema) or match the GBNF language. `HEARTH_GRAMMAR_SAMPLES=50` runs the issue's full count.
final class ConstrainedGenerationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var samples: Int { ProcessInfo.processInfo.environment["HEARTH_GRAMMAR_SAMPLES"].flatMap(Int.init) ?? 10 }

    func load(_ file: String) throws -> LoadedModel {
        let path = ConstrainedGenerationTests.root.appendingPathComponent("models/\(file)").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "\(path) is missing: run scripts/fetch-model")
        }
        return try LoadedModel(path: path, threads: 2)
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    func chatML(_ user: String) -> String {
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
    }

    /// `n` samples at temperature 1.0 with seeds 1…n; returns (text, done reason) for each.
    func run(_ loaded: LoadedModel, prompt: String, grammar: Grammar, n: Int, numPredict: Int) throws -> [(String, String)] {
        let generator = Generator(loaded, contextSize: 1024)
        let tokens = loaded.tokenize(prompt)
        var results: [(String, String)] = []
        for seed in 1...n {
            var options = GenerateOptions()
            options.sampling.temperature = 1.0
            options.sampling.seed = UInt64(seed)
            options.numPredict = numPredict
            options.grammar = grammar
            var text = ""
            let stats = try generator.generate(prompt: tokens, options: options) { text += $0.text; return true }
            results.append((text, stats.doneReason))
        }
        return results
    }

    static let personSchema = #"""
        {"type": "object", "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 24},
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
            "role": {"enum": ["admin", "developer", "guest"]},
            "address": {"type": "object", "properties": {
                "city": {"type": "string", "minLength": 1, "maxLength": 24},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"}}, "required": ["city", "zip"]},
            "skills": {"type": "array", "items": {"type": "string", "maxLength": 16}, "minItems": 1, "maxItems": 3},
            "active": {"type": "boolean"}},
         "required": ["name", "age", "role", "address", "skills"], "additionalProperties": false}
        """#

    func testQwenFollowsAJSONSchemaAtTemperatureOne() throws {
        let loaded = try load("qwen2.5-coder-0.5b-instruct.gguf")
        let grammar = try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: ConstrainedGenerationTests.personSchema))
        let results = try run(loaded, prompt: chatML("Invent a software team member and describe them as JSON."),
                              grammar: grammar, n: samples, numPredict: 320)
        for (text, reason) in results { XCTAssertEqual(reason, "stop", "unfinished: \(text)") }
        let verdicts = try SchemaValidator.validate(results.map { (ConstrainedGenerationTests.personSchema, $0.0) })
        for ((text, _), verdict) in zip(results, verdicts) { XCTAssertNil(verdict, text) }
        XCTAssertGreaterThan(Set(results.map(\.0)).count, results.count / 2, "temperature 1.0 should vary the answers")
    }

    func testSmolLMObeysADateGrammar() throws {
        let loaded = try load("SmolLM2-135M-Instruct.Q4_1.gguf")
        let grammar = try Grammar(gbnf: """
            root  ::= year "-" month "-" day
            year  ::= [12] [0-9]{3}
            month ::= "0" [1-9] | "1" [0-2]
            day   ::= "0" [1-9] | [12] [0-9] | "3" [01]
            """)
        let results = try run(loaded, prompt: chatML("When did the Apollo 11 mission land on the Moon?"),
                              grammar: grammar, n: samples, numPredict: 16)
        let pattern = try NSRegularExpression(pattern: "^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
        for (text, reason) in results {
            XCTAssertEqual(reason, "stop", text)
            XCTAssertEqual(pattern.numberOfMatches(in: text, range: NSRange(text.startIndex..., in: text)), 1, text)
        }
    }

    /// On a real vocabulary (SmolLM2, 49,152 byte-level BPE tokens), the trie-walk mask equals per-token checks.
    func testMaskOnARealVocabularyEqualsTokenChecks() throws {
        let loaded = try load("SmolLM2-135M-Instruct.Q4_1.gguf")
        let tok = loaded.tokenizer
        let grammar = try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: ConstrainedGenerationTests.personSchema))
        let constraint = GrammarConstraint(grammar: grammar, loaded: loaded)
        for prefix in ["", "{", "{\"name\": \"Ann", "{\"name\": \"Ann\", \"age\": 4", "{\"name\": \"Ann\", \"age\": 42, \"role\": \"dev"] {
            constraint.matcher.reset()
            XCTAssertTrue(constraint.matcher.accept(prefix))
            let start = Date()
            let mask = try constraint.mask()
            let elapsed = Date().timeIntervalSince(start)
            var allowed = 0
            for id in 0..<Int32(tok.vocabSize) {
                XCTAssertEqual(mask.allows(id), constraint.allows(id), "token \(id) \(tok.pieceText(id).debugDescription) after \(prefix)")
                if mask.allows(id) { allowed += 1 }
            }
            print("mask after \(prefix.debugDescription): \(allowed) tokens allowed, \(String(format: "%.1f", elapsed * 1000)) ms")
            XCTAssertGreaterThan(allowed, 0)
        }
    }

    func testFormatJSONGivesParseableJSONOnSmolLM() throws {
        let loaded = try load("SmolLM2-135M-Instruct.Q4_1.gguf")
        // A small array grammar keeps SmolLM2's answers short enough to finish.
        let schema = #"{"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 100}, "minItems": 2, "maxItems": 5}"#
        let grammar = try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: schema))
        let results = try run(loaded, prompt: chatML("List a few prime numbers as a JSON array."), grammar: grammar,
                              n: samples, numPredict: 48)
        for (text, reason) in results { XCTAssertEqual(reason, "stop", text) }
        let verdicts = try SchemaValidator.validate(results.map { (schema, $0.0) })
        for ((text, _), verdict) in zip(results, verdicts) { XCTAssertNil(verdict, text) }
    }
}

/// Python jsonschema through scripts/validate-json.py (scripts/test installs the package).
enum SchemaValidator {
    static func validate(_ cases: [(String, String)]) throws -> [String?] {
        let script = ConstrainedGenerationTests.root.appendingPathComponent("scripts/validate-json.py").path
        var input = ""
        for (schema, instance) in cases {
            let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [instance]), as: UTF8.self)
            input += "{\"schema\": \(schema.replacingOccurrences(of: "\n", with: " ")), \"instance\": \(quoted.dropFirst().dropLast())}\n"
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script]
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let data = Data(input.utf8)
        let writer = Thread { inPipe.fileHandleForWriting.write(data); try? inPipe.fileHandleForWriting.close() }
        writer.start()
        let out = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ConstrainedGenerationTests.Missing(description: "validate-json.py failed (pip install jsonschema): \(err)")
        }
        let lines = out.split(separator: "\n").map(String.init)
        guard lines.count == cases.count else { throw ConstrainedGenerationTests.Missing(description: "validator output: \(out)") }
        return lines.map { $0 == "ok" ? nil : $0 }
    }
}
