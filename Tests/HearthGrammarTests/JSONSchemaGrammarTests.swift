import Foundation
import HearthGrammar
import XCTest

/// JSON Schema → grammar: hand-picked instances accepted/rejected, random sentences of each grammar validated by
/// Python's jsonschema, and unsupported keywords reported with their location.
final class JSONSchemaGrammarTests: XCTestCase {
    func matcher(_ schema: String) throws -> GrammarMatcher {
        GrammarMatcher(try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: schema)))
    }

    func accepts(_ m: GrammarMatcher, _ text: String) -> Bool {
        m.reset()
        return m.accept(text) && m.isComplete
    }

    /// A random complete sentence of the grammar: a random walk over an alphabet, ending at the first complete
    /// state after a while (structural characters preferred later on, so strings close).
    func randomSentence(_ m: GrammarMatcher, _ rng: inout SystemRandomNumberGenerator, limit: Int = 3000) -> String? {
        m.reset()
        let alphabet = (0x20...0x7E).map { String(UnicodeScalar($0)!) } + ["\n", "é", "日", "😀", "\t"]
        let closers = ["\"", "}", "]", ",", "0", "1", "5", "9", "e", "-", "."]
        var out = ""
        while out.unicodeScalars.count < limit {
            if m.isComplete && (m.mustEnd || Int.random(in: 0..<4, using: &rng) == 0) { return out }
            let pool = out.count > 60 && Int.random(in: 0..<3, using: &rng) > 0 ? closers : alphabet
            let options = pool.filter { m.accepts(Array($0.utf8)) }
            let all = options.isEmpty ? alphabet.filter { m.accepts(Array($0.utf8)) } : options
            guard let c = all.randomElement(using: &rng) else { return m.isComplete ? out : nil }
            m.accept(c)
            out += c
        }
        return nil
    }

    static let schemas: [String] = [
        #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer", "minimum": 0, "maximum": 150}, "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 1, "maxItems": 3}}, "required": ["name", "age"]}"#,
        #"{"type": "object", "properties": {"address": {"type": "object", "properties": {"city": {"type": "string", "minLength": 2, "maxLength": 6}, "zip": {"type": "string", "pattern": "^[0-9]{5}(-[0-9]{4})?$"}}, "required": ["city"]}, "ok": {"type": "boolean"}}, "required": ["address", "ok"], "additionalProperties": false}"#,
        #"{"type": "integer", "minimum": -120, "maximum": 345}"#,
        #"{"type": "integer", "exclusiveMinimum": 7, "exclusiveMaximum": 1000}"#,
        #"{"type": "integer", "maximum": -17}"#,
        #"{"type": "number", "minimum": -5, "maximum": 5}"#,
        #"{"type": "number", "exclusiveMinimum": 0, "maximum": 1}"#,
        #"{"type": "string", "format": "date"}"#,
        #"{"type": "string", "format": "time"}"#,
        #"{"type": "string", "format": "date-time"}"#,
        #"{"type": "string", "format": "uuid"}"#,
        #"{"const": {"a": [1, "x\"y"]}}"#,
        #"{"anyOf": [{"type": "null"}, {"type": "number"}, {"type": "string", "maxLength": 3}]}"#,
        #"{"oneOf": [{"type": "object", "properties": {"kind": {"const": "dog"}, "barks": {"type": "boolean"}}, "required": ["kind", "barks"]}, {"type": "object", "properties": {"kind": {"const": "cat"}}, "required": ["kind"]}]}"#,
        #"{"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, {"type": "object", "properties": {"b": {"type": "string", "maxLength": 4}}, "required": ["b"]}]}"#,
        ##"{"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 9}, "next": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/node"}]}}, "required": ["v", "next"]}}, "$ref": "#/$defs/node"}"##,
        #"{"type": "array", "prefixItems": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 1, "maximum": 3}], "items": false}"#,
        #"{"type": "object", "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 9}}, "additionalProperties": {"type": "boolean"}}"#,
        #"{"type": "object", "properties": {"p": {"type": ["string", "null"], "maxLength": 3}, "q": {"type": "number"}, "r": {"type": "boolean"}}}"#,
        #"{"type": "string", "pattern": "^(ab|c[d-f]+)x?\\d{2,3}\\.[^a-z]$"}"#,
        #"{"type": "array", "items": {"type": "integer", "minimum": 10, "maximum": 99}, "minItems": 2, "maxItems": 4}"#,
        #"{}"#,
    ]

    func testRandomSentencesValidate() throws {
        var rng = SystemRandomNumberGenerator()
        var cases: [(schema: String, instance: String)] = []
        for schema in JSONSchemaGrammarTests.schemas {
            let m = try matcher(schema)
            var made = 0
            for _ in 0..<60 where made < 20 {
                if let s = randomSentence(m, &rng) { cases.append((schema, s)); made += 1 }
            }
            XCTAssertGreaterThanOrEqual(made, 5, "random walks should finish for \(schema)")
        }
        let results = try JSONValidator.validate(cases)
        for (c, r) in zip(cases, results) {
            XCTAssertNil(r, "schema \(c.schema)\ninstance \(c.instance)")
        }
    }

    func testObjectInstances() throws {
        let m = try matcher(JSONSchemaGrammarTests.schemas[0])
        XCTAssertTrue(accepts(m, #"{"name": "Ann", "age": 42}"#))
        XCTAssertTrue(accepts(m, #"{"name":"Ann","age":0,"tags":["a","c"]}"#))
        XCTAssertTrue(accepts(m, "{\n  \"name\": \"Ann\",\n  \"age\": 150\n}"))
        XCTAssertFalse(accepts(m, #"{"age": 42, "name": "Ann"}"#), "required keys come in schema order")
        XCTAssertFalse(accepts(m, #"{"name": "Ann"}"#), "age is required")
        XCTAssertFalse(accepts(m, #"{"name": "Ann", "age": 151}"#))
        XCTAssertFalse(accepts(m, #"{"name": "Ann", "age": 042}"#))
        XCTAssertFalse(accepts(m, #"{"name": "Ann Smith", "age": 1}"#), "maxLength 8")
        XCTAssertFalse(accepts(m, #"{"name": "A", "age": 1, "tags": []}"#), "minItems 1")
        XCTAssertFalse(accepts(m, #"{"name": "A", "age": 1, "tags": ["d"]}"#), "enum")
        XCTAssertFalse(accepts(m, #"{"name": "A", "age": 1, "extra": 1}"#), "no additional properties")
        XCTAssertFalse(accepts(m, #"{"name": "A", "age": 1} "#), "nothing after the value")
    }

    func testIntegerRangesAreExact() throws {
        for (lo, hi) in [(-120, 345), (0, 9), (1, 1), (-9, -1), (99, 1000), (5, 5005)] {
            let m = try matcher(#"{"type": "integer", "minimum": \#(lo), "maximum": \#(hi)}"#)
            for v in (lo - 30)...(hi + 30) {
                XCTAssertEqual(accepts(m, String(v)), v >= lo && v <= hi, "\(v) in [\(lo), \(hi)]")
            }
            XCTAssertFalse(accepts(m, "-0"))
            XCTAssertFalse(accepts(m, "01"))
        }
        let unbounded = try matcher(#"{"type": "integer", "minimum": 18}"#)
        XCTAssertTrue(accepts(unbounded, "18"))
        XCTAssertTrue(accepts(unbounded, "123456789"))
        XCTAssertFalse(accepts(unbounded, "17"))
        XCTAssertFalse(accepts(unbounded, "-20"))
    }

    func testBoundedNumbers() throws {
        let m = try matcher(#"{"type": "number", "minimum": -5, "maximum": 5}"#)
        for ok in ["5", "5.0", "-5", "-4.99", "0.5", "-0.5", "3.14159", "0"] { XCTAssertTrue(accepts(m, ok), ok) }
        for bad in ["5.01", "-5.1", "6", "-6", "1e3", "05"] { XCTAssertFalse(accepts(m, bad), bad) }
        let open = try matcher(#"{"type": "number", "exclusiveMinimum": 0, "maximum": 1}"#)
        for ok in ["1", "0.5", "1.000"] { XCTAssertTrue(accepts(open, ok), ok) }
        for bad in ["0", "0.0", "-0.5", "1.5", "1.01"] { XCTAssertFalse(accepts(open, bad), bad) }
        let negative = try matcher(#"{"type": "number", "minimum": -3, "exclusiveMaximum": 0}"#)
        for ok in ["-3", "-0.5", "-2.999", "-1"] { XCTAssertTrue(accepts(negative, ok), ok) }
        for bad in ["0", "-3.5", "0.5", "-0"] { XCTAssertFalse(accepts(negative, bad), bad) }
    }

    func testAnyJSON() throws {
        let m = GrammarMatcher(try Grammar(gbnf: try JSONSchemaGrammar.anyJSON))
        XCTAssertTrue(accepts(m, #"{"a": [1, 2.5e-3, true, null, {"b": "\u00e9\n"}]}"#))
        XCTAssertTrue(accepts(m, "[]"))
        XCTAssertFalse(accepts(m, "42"), "format json wants an object or array at the top")
        XCTAssertFalse(accepts(m, #"{"a": }"#))
        XCTAssertFalse(accepts(m, "{'a': 1}"))
    }

    func testFormatsAndPattern() throws {
        let date = try matcher(#"{"type": "string", "format": "date"}"#)
        XCTAssertTrue(accepts(date, #""2026-11-26""#))
        XCTAssertFalse(accepts(date, #""2026-13-01""#))
        XCTAssertFalse(accepts(date, #""2026-11-31""#))
        XCTAssertTrue(accepts(date, #""2026-12-31""#))
        let uuid = try matcher(#"{"type": "string", "format": "uuid"}"#)
        XCTAssertTrue(accepts(uuid, #""123e4567-e89b-12d3-a456-426614174000""#))
        XCTAssertFalse(accepts(uuid, #""123e4567""#))
        let zip = try matcher(#"{"type": "string", "pattern": "^[0-9]{5}(-[0-9]{4})?$"}"#)
        XCTAssertTrue(accepts(zip, #""12345""#))
        XCTAssertTrue(accepts(zip, #""12345-6789""#))
        XCTAssertFalse(accepts(zip, #""1234""#))
        let quote = try matcher(#"{"type": "string", "pattern": "^a\"b$"}"#)
        XCTAssertTrue(accepts(quote, #""a\"b""#))
    }

    /// A combining mark as a pattern literal (the jsonschema fuzzer's finding: it used to compile to `""+`, which
    /// the GBNF parser rejects), alone and after invalid UTF-8 read as U+FFFD, as in the fuzzer's input.
    func testCombiningMarkLiteralInPattern() throws {
        let mark = try matcher("{\"type\": \"string\", \"pattern\": \"^\u{074A}+x$\"}")
        XCTAssertTrue(accepts(mark, "\"\u{074A}\u{074A}x\""))
        XCTAssertFalse(accepts(mark, "\"x\""))
        // Fuzz/findings/jsonschema-pattern-combining-mark.json: 97 bytes 0xDD (invalid UTF-8), then U+074A.
        let bytes = Array(#"{"pattern": "^(ab|c[d-f]"#.utf8) + [UInt8](repeating: 0xDD, count: 97) + [0xDD, 0x8A]
            + Array(#"+)x?\\d{1,3}\\-z]$"}"#.utf8)
        let finding = String(decoding: bytes, as: UTF8.self)
        XCTAssertNoThrow(try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: finding)))
    }

    /// A repetition of something that can match the empty string (the jsonschema fuzzer's second finding: `(|c…)+`
    /// compiled to a GBNF rule that reaches itself without consuming a character, which the parser rejects). In
    /// regex semantics `X{m,n}` with a nullable X is the non-empty part of X repeated 0…n times.
    func testNullableGroupUnderRepetition() throws {
        let emptyAlt = try matcher(#"{"type": "string", "pattern": "^(|ab)+c$"}"#)
        XCTAssertTrue(accepts(emptyAlt, #""c""#))
        XCTAssertTrue(accepts(emptyAlt, #""ababc""#))
        XCTAssertFalse(accepts(emptyAlt, #""abac""#))
        let starStar = try matcher(#"{"type": "string", "pattern": "^(a*b?)*$"}"#)
        XCTAssertTrue(accepts(starStar, #""""#))
        XCTAssertTrue(accepts(starStar, #""aabbab""#))
        XCTAssertFalse(accepts(starStar, #""abc""#))
        let bounded = try matcher(#"{"type": "string", "pattern": "^(x?y?){2,3}z$"}"#)
        XCTAssertTrue(accepts(bounded, #""z""#))
        XCTAssertTrue(accepts(bounded, #""xyxyxz""#))
        XCTAssertFalse(accepts(bounded, #""xyxyxyxz""#))
        // A quantified group whose body is itself a repetition (the CI fuzzer found `([-0-9]{4})?` emitted as
        // `[…]{4,4}?`, which GBNF rejects).
        let zip = try matcher(#"{"type": "string", "pattern": "^[0-9]{5}([-0-9]{4})?$"}"#)
        XCTAssertTrue(accepts(zip, #""12345""#))
        XCTAssertTrue(accepts(zip, #""12345-678""#))
        XCTAssertFalse(accepts(zip, #""12345-67""#))
        let nested = try matcher(#"{"type": "string", "pattern": "^(a{2})*(b+)?(c?)+$"}"#)
        XCTAssertTrue(accepts(nested, #""aaaabbc""#))
        XCTAssertFalse(accepts(nested, #""aaab""#))
        let onlyEmpty = try matcher(#"{"type": "string", "pattern": "^()*(|)+q$"}"#)
        XCTAssertTrue(accepts(onlyEmpty, #""q""#))
        let finding = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/findings/jsonschema-pattern-nullable-repeat.json")
        let schema = String(decoding: try Data(contentsOf: finding), as: UTF8.self)
        XCTAssertNoThrow(try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: schema)))
        let third = finding.deletingLastPathComponent().appendingPathComponent("jsonschema-pattern-quantified-repetition.json")
        let schema3 = String(decoding: try Data(contentsOf: third), as: UTF8.self)
        XCTAssertNoThrow(try Grammar(gbnf: try JSONSchemaGrammar.gbnf(schema: schema3)))
    }

    func assertUnsupported(_ schema: String, _ path: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONSchemaGrammar.gbnf(schema: schema), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path) && message.contains(text), "\(message) should name \(path) and \(text)", file: file, line: line)
        }
    }

    func testUnsupportedKeywordsAreErrors() {
        assertUnsupported(#"{"type": "array", "uniqueItems": true}"#, "#", "'uniqueItems'")
        assertUnsupported(##"{"type": "object", "properties": {"n": {"type": "number", "multipleOf": 3}}}"##, "#/properties/n", "'multipleOf'")
        assertUnsupported(##"{"type": "string", "format": "email"}"##, "#/format", "email")
        assertUnsupported(##"{"$ref": "https://example.com/s.json"}"##, "#/$ref", "local references")
        assertUnsupported(##"{"$ref": "#/$defs/missing"}"##, "#/$ref", "points to nothing")
        assertUnsupported(##"{"type": "string", "pattern": "abc"}"##, "#/pattern", "'^'")
        assertUnsupported(##"{"type": "string", "pattern": "^(?=a)b$"}"##, "#/pattern", "lookaround")
        assertUnsupported(#"{"type": "integer", "minimum": 5, "maximum": 2}"#, "#", "no integer")
        assertUnsupported(##"{"type": "number", "minimum": 0.5}"##, "#/minimum", "non-integer bound")
        assertUnsupported(##"{"type": "wat"}"##, "#/type", "unknown type")
        assertUnsupported(#"{"type": "object""#, "#", "not valid JSON at byte")
        assertUnsupported(#"{"not": {"type": "null"}}"#, "#", "'not'")
    }

    func testRuleNamesFollowProperties() throws {
        let gbnf = try JSONSchemaGrammar.gbnf(schema: #"{"type": "object", "properties": {"first name": {"type": "string"}}, "required": ["first name"]}"#)
        XCTAssertTrue(gbnf.contains("first-name-kv ::= \"\\\"first name\\\"\" space \":\" space first-name\n"), gbnf)
        XCTAssertTrue(gbnf.contains("root ::= \"{\" space first-name-kv space \"}\""), gbnf)
    }
}
