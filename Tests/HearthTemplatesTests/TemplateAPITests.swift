import Foundation
import HearthTemplates
import XCTest

/// The public API: values from JSON, the render entry point, errors with lines, the clock.
final class TemplateAPITests: XCTestCase {
    func testJSONKeepsKeyOrderAndPythonTypes() throws {
        let v = try TemplateValue(jsonString: #"{"z": 1, "a": [1.0, 2.5e3, -0, true, null, "é\u00e9\ud83d\ude00"], "m": {}}"#)
        XCTAssertEqual(try v.jsonText(), #"{"z": 1, "a": [1.0, 2500.0, 0, true, null, "éé😀"], "m": {}}"#)
        XCTAssertEqual(v.pyStr, #"{'z': 1, 'a': [1.0, 2500.0, 0, True, None, 'éé😀'], 'm': {}}"#)
        for bad in ["{", "[1,]", "{\"a\" 1}", "tru", "\"\\x\"", "01x", "[1] 2"] {
            XCTAssertThrowsError(try TemplateValue(jsonString: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("byte offset"), "\(error)")
            }
        }
    }

    func testFloatsPrintAsPython() throws {
        let cases: [(Double, String)] = [(1, "1.0"), (0.1, "0.1"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
                                         (1.5e-5, "1.5e-05"), (0.0001, "0.0001"), (-2.5, "-2.5"), (1e-7, "1e-07"),
                                         (123456789.125, "123456789.125"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
                                         (.infinity, "inf"), (-0.0, "-0.0")]
        for (d, s) in cases { XCTAssertEqual(TemplateValue.double(d).pyStr, s) }
    }

    func testRenderPassesChatVariables() throws {
        let t = try ChatTemplate(source: "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}"
            + "{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}{{ eos_token }}{{ extra_flag }}")
        let out = try t.render(messages: [["role": "user", "content": "hi"]], bosToken: "<s>", eosToken: "</s>",
                               extra: ["extra_flag": true])
        XCTAssertEqual(out, "<s>user:hi;TrueTrueTrue</s>True")
        let withTools = try ChatTemplate(source: "{{ tools | tojson }}").render(messages: [], tools: [["type": "function"]])
        XCTAssertEqual(withTools, #"[{"type": "function"}]"#)
    }

    func testErrorsCarryKindAndLine() {
        XCTAssertThrowsError(try ChatTemplate(source: "line one\n{% if x %}\n{{ 1 + }}\n{% endif %}")) { error in
            let e = error as? TemplateError
            XCTAssertEqual(e?.kind, .syntax)
            XCTAssertEqual(e?.line, 3)
        }
        XCTAssertThrowsError(try ChatTemplate(source: "a\nb\n{{ raise_exception('Bad role') }}").render(messages: [])) { error in
            let e = error as? TemplateError
            XCTAssertEqual(e?.kind, .raised)
            XCTAssertEqual(e?.message, "Bad role")
            XCTAssertEqual(e?.line, 3)
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% for m in messages %}{{ m.x.y }}{% endfor %}")
            .render(messages: [["role": "user"]])) { error in
            XCTAssertEqual("\(error)", "UndefinedError: 'dict object' has no attribute 'x' (template line 1)")
        }
    }

    func testClock() throws {
        let c = try TemplateClock(iso8601: "2024-02-29T23:05:09")
        let t = try ChatTemplate(source: "{{ strftime_now('%a %d %b %Y %H:%M:%S %j %-I%p') }}")
        XCTAssertEqual(try t.render(messages: [], clock: c), "Thu 29 Feb 2024 23:05:09 060 11PM")
        XCTAssertEqual(try TemplateClock(iso8601: "2026-11-26T12:00:00Z"), try TemplateClock(iso8601: "2026-11-26T12:00:00+05:00"))
        XCTAssertEqual(try TemplateClock(iso8601: "2026-11-26"), try TemplateClock(iso8601: "2026-11-26T00:00:00"))
        for bad in ["2026-02-30T00:00:00", "yesterday", "2026-11-26T25:00:00", "2026-11-26T12"] {
            XCTAssertThrowsError(try TemplateClock(iso8601: bad), bad)
        }
    }
}
