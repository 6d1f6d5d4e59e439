import Foundation
import HearthChat
import HearthEngine
import HearthGrammar
import HearthTemplates
import XCTest

/// `ChatOutputParser` on hand-written model outputs in each format: whole, streamed a character at a time and in
/// random chunks, which must all give the same deltas.
final class ChatOutputParserTests: XCTestCase {
    static let weatherTools = #"""
        [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "description": "Local time in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        """#

    static func tools() throws -> [TemplateValue] {
        try ChatTools.templateValues(JSONValue.parse(weatherTools))
    }

    /// Deltas with call ids blanked (they are random) and adjacent text merged across feeds.
    static func normalize(_ deltas: [ChatDelta]) -> [ChatDelta] {
        var out: [ChatDelta] = []
        for d in deltas {
            switch (out.last, d) {
            case (.content(let a)?, .content(let b)): out[out.count - 1] = .content(a + b)
            case (.thinking(let a)?, .thinking(let b)): out[out.count - 1] = .thinking(a + b)
            case (_, .toolCall(var c)):
                XCTAssertTrue(c.id?.hasPrefix("call_") == true && c.id?.count == 29, "call id \(c.id ?? "nil")")
                c.id = nil
                out.append(.toolCall(c))
            default: out.append(d)
            }
        }
        return out
    }

    /// Parses `text` whole, one character at a time and in seeded random chunks; asserts all three agree and
    /// returns the whole-text deltas.
    func parse(_ text: String, _ make: () throws -> ChatOutputParser, file: StaticString = #filePath,
               line: UInt = #line) throws -> [ChatDelta] {
        var whole = try make()
        let expected = ChatOutputParserTests.normalize(whole.feed(text) + whole.finish())
        var byChar = try make()
        var deltas: [ChatDelta] = []
        for c in text { deltas += byChar.feed(String(c)) }
        deltas += byChar.finish()
        XCTAssertEqual(ChatOutputParserTests.normalize(deltas), expected, "char by char", file: file, line: line)
        var rng = SeededRandom(seed: 7)
        for _ in 0..<5 {
            var chunked = try make()
            var rest = Substring(text)
            deltas = []
            while !rest.isEmpty {
                let n = Int(rng.next() % 7) + 1
                deltas += chunked.feed(String(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            deltas += chunked.finish()
            XCTAssertEqual(ChatOutputParserTests.normalize(deltas), expected, "random chunks", file: file, line: line)
        }
        return expected
    }

    func hermes() throws -> ChatOutputParser { ChatOutputParser(format: .hermes, tools: try ChatOutputParserTests.tools()) }
    func llama3() throws -> ChatOutputParser { ChatOutputParser(format: .llama3, tools: try ChatOutputParserTests.tools()) }
    func mistral() throws -> ChatOutputParser { ChatOutputParser(format: .mistral, tools: try ChatOutputParserTests.tools()) }

    let paris = ToolCall(name: "get_weather", arguments: #"{"city":"Paris"}"#)

    func testHermesSingleCall() throws {
        let out = try parse("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", hermes)
        XCTAssertEqual(out, [.toolCall(paris)])
    }

    func testHermesTextThenTwoCalls() throws {
        let text = """
            Let me check both.
            <tool_call>
            {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
            </tool_call>
            <tool_call>
            {"name": "get_time", "arguments": {"city": "Tokyo"}}
            </tool_call>

            """
        XCTAssertEqual(try parse(text, hermes), [
            .content("Let me check both."),
            .toolCall(ToolCall(name: "get_weather", arguments: #"{"city":"Paris","unit":"celsius"}"#)),
            .toolCall(ToolCall(name: "get_time", arguments: #"{"city":"Tokyo"}"#)),
        ])
    }

    func testHermesArgumentsAsJSONTextAndUnclosedBlock() throws {
        let out = try parse(#"<tool_call>{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}"#, hermes)
        XCTAssertEqual(out, [.toolCall(paris)])
    }

    func testHermesMalformedCallIsContent() throws {
        let bad = "Sure: <tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": }\n</tool_call> done"
        XCTAssertEqual(try parse(bad, hermes), [.content(bad)])
        let cut = "<tool_call>\n{\"name\": \"get_weather\", \"argu"
        XCTAssertEqual(try parse(cut, hermes), [.content(cut)])
        let noName = "<tool_call>{\"arguments\": {}}</tool_call>"
        XCTAssertEqual(try parse(noName, hermes), [.content(noName)])
    }

    func testPlainTextPassesThroughUnchanged() throws {
        for text in ["The answer is 4.\n", "a < b and <tool", "  indented\n\n", "Use <tool_calls> sparingly", "",
                     "{ not json at all", "{\"answer\": 42}", "[docs](https://example.com) say so", "héllo wörld ✓ 😀"] {
            XCTAssertEqual(try parse(text, hermes), text.isEmpty ? [] : [.content(text)], text)
            XCTAssertEqual(try parse(text, llama3), text.isEmpty ? [] : [.content(text)], text)
            XCTAssertEqual(try parse(text, mistral), text.isEmpty ? [] : [.content(text)], text)
        }
    }

    func testNoToolsMeansNoParsing() throws {
        let text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        XCTAssertEqual(try parse(text, { ChatOutputParser(format: .hermes) }), [.content(text)])
        XCTAssertEqual(try parse(text, { ChatOutputParser(format: .none, tools: try ChatOutputParserTests.tools()) }),
                       [.content(text)])
    }

    func testWholeAnswerJSONCall() throws {
        let call = #"{"name": "get_weather", "parameters": {"city": "Paris"}}"#
        XCTAssertEqual(try parse(call, llama3), [.toolCall(paris)])
        XCTAssertEqual(try parse("\n" + call + "\n", llama3), [.toolCall(paris)])
        XCTAssertEqual(try parse("<|python_tag|>" + call, llama3), [.toolCall(paris)])
        // Qwen-style models sometimes drop their tags: a bare call naming an offered tool is still a call.
        XCTAssertEqual(try parse(#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#, hermes), [.toolCall(paris)])
        // Not an offered tool, or followed by prose: content as written.
        let other = #"{"name": "send_email", "parameters": {"to": "x"}}"#
        XCTAssertEqual(try parse(other, llama3), [.content(other)])
        XCTAssertEqual(try parse(call + " and more", llama3),
                       [.toolCall(paris), .content("and more")])
        // Parallel calls as JSON lines.
        let time = #"{"name": "get_time", "parameters": {"city": "Oslo"}}"#
        XCTAssertEqual(try parse(call + "\n" + time + "\n", llama3),
                       [.toolCall(paris), .toolCall(ToolCall(name: "get_time", arguments: #"{"city":"Oslo"}"#))])
    }

    func testMistralFormats() throws {
        let v3 = #"[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]"#
        XCTAssertEqual(try parse(v3, mistral), [.toolCall(paris)])
        // The control token left out of the text: the bare array.
        XCTAssertEqual(try parse(#"[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time", "arguments": {"city": "Oslo"}}]"#, mistral),
                       [.toolCall(paris), .toolCall(ToolCall(name: "get_time", arguments: #"{"city":"Oslo"}"#))])
        let small = #"[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}[TOOL_CALLS]get_time[ARGS]{"city": "Oslo"}"#
        XCTAssertEqual(try parse(small, mistral),
                       [.toolCall(paris), .toolCall(ToolCall(name: "get_time", arguments: #"{"city":"Oslo"}"#))])
        let broken = #"[TOOL_CALLS]get_weather[ARGS]{"city": "#
        XCTAssertEqual(try parse(broken, mistral), [.content(broken)])
    }

    func testThinkingSplit() throws {
        let tags = { ChatOutputParser(format: .hermes, thinkingTags: .think) }
        XCTAssertEqual(try parse("<think>\nThe user greets me.\n</think>\n\nHello!", tags),
                       [.thinking("\nThe user greets me.\n"), .content("Hello!")])
        XCTAssertEqual(try parse("Hello! No <think> here", tags), [.content("Hello! No <think> here")])
        XCTAssertEqual(try parse("<think>cut off mid-thou", tags), [.thinking("cut off mid-thou")])
        // The prompt opened the block (DeepSeek-R1 style).
        XCTAssertEqual(try parse("Two plus two.</think>4", { ChatOutputParser(format: .none, thinkingTags: .think, startsInThinking: true) }),
                       [.thinking("Two plus two."), .content("4")])
        // think: false passes everything through.
        let text = "<think>hmm</think>Hi"
        XCTAssertEqual(try parse(text, { ChatOutputParser(format: .none, think: false, thinkingTags: .think, startsInThinking: true) }),
                       [.content(text)])
        XCTAssertEqual(try parse(text, { ChatOutputParser(format: .none) }), [.content(text)])
    }

    func testThinkingThenToolCall() throws {
        let make = { ChatOutputParser(format: .hermes, tools: try ChatOutputParserTests.tools(), thinkingTags: .think) }
        let text = "<think>\nI need the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        XCTAssertEqual(try parse(text, make), [.thinking("\nI need the weather.\n"), .toolCall(paris)])
    }

    func testCallIdsAreUnique() throws {
        var p = try hermes()
        let one = "<tool_call>{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\"}}</tool_call>"
        let ids = (p.feed(one + one + one) + p.finish()).compactMap { d -> String? in
            if case .toolCall(let c) = d { return c.id } else { return nil }
        }
        XCTAssertEqual(ids.count, 3)
        XCTAssertEqual(Set(ids).count, 3)
    }

    func testFormatDetectionFromTemplates() throws {
        XCTAssertEqual(ToolCallFormat.detect(template: nil), ToolCallFormat.none)
        XCTAssertEqual(ToolCallFormat.detect(template: "{{ messages }}"), ToolCallFormat.none)
        XCTAssertEqual(ToolCallFormat.detect(template: "{% if tools %}{{ tools }}{% endif %}") { $0 == "<tool_call>" }, .hermes)
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/reference/templates-corpus.json")
        let corpus = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let templates = (corpus?["templates"] as? [[String: Any]]) ?? []
        var byName: [String: String] = [:]
        for t in templates { if let n = t["name"] as? String, let s = t["template"] as? String { byName[n] = s } }
        let expected: [(String, ToolCallFormat, Bool)] = [
            ("Qwen-Qwen2.5-7B-Instruct.jinja", .hermes, false),
            ("Qwen-Qwen3-0.6B.jinja", .hermes, true),
            ("Qwen3-Coder.jinja", .none, false),
            ("meta-llama-Llama-3.1-8B-Instruct.jinja", .llama3, false),
            ("meta-llama-Llama-3.2-3B-Instruct.jinja", .llama3, false),
            ("Mistral-Small-3.2-24B-Instruct-2506.jinja", .mistral, false),
            ("unsloth-mistral-Devstral-Small-2507.jinja", .mistral, false),
            ("google-gemma-2-2b-it.jinja", .none, false),
        ]
        for (name, format, thinks) in expected {
            let src = try XCTUnwrap(byName[name], "\(name) is not in \(url.path)")
            XCTAssertEqual(ToolCallFormat.detect(template: src), format, name)
            XCTAssertEqual(ThinkingTags.detect(template: src) != nil, thinks, name)
        }
    }
}

extension Array where Element == ChatDelta {
    /// Adjacent text of one kind joined (what a client concatenating the stream sees).
    var merged: [ChatDelta] { ChatOutputParserTests.normalize(self) }
}
