@testable import HearthChat
import HearthGrammar
import HearthTemplates
import XCTest

/// `tool_choice` parsing, the request `tools` checks, and the grammars `required` / a named function compile to:
/// a valid call in the model's format is accepted whole, anything else is rejected (GrammarMatcher).
final class ToolChoiceTests: XCTestCase {
    func matcher(_ format: ToolCallFormat, _ choice: ToolChoice) throws -> GrammarMatcher {
        let parser = ChatOutputParser(format: format, tools: try ChatOutputParserTests.tools())
        return GrammarMatcher(try XCTUnwrap(try parser.grammar(for: choice)))
    }

    /// Whether the grammar accepts `text` as a complete output.
    func accepts(_ m: GrammarMatcher, _ text: String) -> Bool {
        m.reset()
        return m.accept(text) && m.isComplete
    }

    func testRequiredHermesGrammar() throws {
        let m = try matcher(.hermes, .required)
        XCTAssertTrue(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"))
        XCTAssertTrue(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>"))
        XCTAssertTrue(accepts(m, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"))
        XCTAssertFalse(accepts(m, "Hello there"))
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"send_email\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"))
        // Missing the required city, a wrong enum value, an extra key, or an unclosed block.
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"))
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"kelvin\"}}\n</tool_call>"))
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"x\": 1}}\n</tool_call>"))
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"))
    }

    func testNamedFunctionGrammar() throws {
        let m = try matcher(.hermes, .function("get_time"))
        XCTAssertTrue(accepts(m, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"))
        XCTAssertFalse(accepts(m, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"))
    }

    func testOtherFormatsGrammars() throws {
        let llama = try matcher(.llama3, .required)
        XCTAssertTrue(accepts(llama, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"))
        XCTAssertFalse(accepts(llama, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"))
        let mistral = try matcher(.mistral, .function("get_weather"))
        XCTAssertTrue(accepts(mistral, "[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]"))
        XCTAssertFalse(accepts(mistral, "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"))
    }

    func testWhatTheGrammarForcesParsesBackAsACall() throws {
        for format in [ToolCallFormat.hermes, .llama3, .mistral, .none] {
            var parser = ChatOutputParser(format: format, tools: try ChatOutputParserTests.tools())
            let key = format.argumentsKey
            var text = "{\"name\": \"get_weather\", \"\(key)\": {\"city\": \"Paris\"}}"
            switch format {
            case .hermes: text = "<tool_call>\n" + text + "\n</tool_call>"
            case .mistral: text = "[" + text + "]"
            default: break
            }
            XCTAssertTrue(accepts(try matcher(format, .required), text), "\(format)")
            let deltas = ChatOutputParserTests.normalize(parser.feed(text) + parser.finish())
            XCTAssertEqual(deltas, [.toolCall(ToolCall(name: "get_weather", arguments: #"{"city":"Paris"}"#))], "\(format)")
        }
    }

    func testThinkingModelsMayThinkBeforeTheForcedCall() throws {
        let call = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"
        let tools = try ChatOutputParserTests.tools()
        let thinking = ChatOutputParser(format: .hermes, tools: tools, thinkingTags: .think)
        let m = GrammarMatcher(try XCTUnwrap(try thinking.grammar(for: .required)))
        XCTAssertTrue(accepts(m, call))
        XCTAssertTrue(accepts(m, "<think>\nThe user wants the time.\n</think>\n\n" + call))
        XCTAssertFalse(accepts(m, "<think>\nNo call.\n</think>\n\nHello"))
        let opened = ChatOutputParser(format: .hermes, tools: tools, thinkingTags: .think, startsInThinking: true)
        let o = GrammarMatcher(try XCTUnwrap(try opened.grammar(for: .required)))
        XCTAssertTrue(accepts(o, "Time in Oslo.</think>\n" + call))
        XCTAssertFalse(accepts(o, call))
        // think: false, or no tags: the plain call grammar.
        let off = ChatOutputParser(format: .hermes, tools: tools, think: false, thinkingTags: .think)
        XCTAssertEqual(off.allowingThinking("root ::= \"x\"\n"), "root ::= \"x\"\n")
        // A JSON Schema grammar from the routes, wrapped the same way.
        let schema = try JSONSchemaGrammar.gbnf(schema: #"{"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}"#)
        let j = GrammarMatcher(try Grammar(gbnf: thinking.allowingThinking(schema)))
        XCTAssertTrue(accepts(j, "<think>count</think>{\"n\": 3}"))
        XCTAssertTrue(accepts(j, "{\"n\": 3}"))
        XCTAssertFalse(accepts(j, "<think>count</think>{\"n\": \"3\"}"))
    }

    func testRuleRenamingKeepsLiteralsClassesAndCounts() throws {
        let gbnf = #"""
            root ::= item{2,3} "root item" [a-z\]"] # root comment
            item ::= "x" | root-2
            root-2 ::= [0-9]
            """#
        let renamed = GBNFRename.prefixRules(gbnf, with: "p-")
        XCTAssertTrue(renamed.contains(#"p-root ::= p-item{2,3} "root item" [a-z\]"] # root comment"#), renamed)
        XCTAssertTrue(renamed.contains("p-item ::= \"x\" | p-root-2"), renamed)
        let m = GrammarMatcher(try Grammar(gbnf: "root ::= p-root\n" + renamed))
        XCTAssertTrue(accepts(m, "x7root itemq"))
        XCTAssertFalse(accepts(m, "xroot itemq"))
    }

    func testFreeChoicesHaveNoGrammarAndBadChoicesAreErrors() throws {
        let parser = ChatOutputParser(format: .hermes, tools: try ChatOutputParserTests.tools())
        XCTAssertNil(try parser.grammar(for: .auto))
        XCTAssertNil(try parser.grammar(for: .none))
        XCTAssertThrowsError(try parser.grammar(for: .function("send_email"))) { error in
            XCTAssertTrue("\(error)".contains("send_email"), "\(error)")
            XCTAssertTrue("\(error)".contains("get_weather"), "\(error)")
        }
        XCTAssertThrowsError(try ChatOutputParser(format: .hermes).grammar(for: .required)) { error in
            XCTAssertTrue("\(error)".contains("at least one tool"), "\(error)")
        }
        // A schema keyword the grammar cannot enforce is an error naming it, not ignored.
        let tools = try ChatTools.templateValues(JSONValue.parse(#"""
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
              "properties": {"n": {"type": "integer", "multipleOf": 3}}}}}]
            """#))
        XCTAssertThrowsError(try ChatOutputParser(format: .hermes, tools: tools).grammar(for: .required)) { error in
            XCTAssertTrue("\(error)".contains("multipleOf"), "\(error)")
        }
    }

    func testToolChoiceParse() throws {
        XCTAssertEqual(try ToolChoice.parse(nil), .auto)
        XCTAssertEqual(try ToolChoice.parse(.null), .auto)
        XCTAssertEqual(try ToolChoice.parse(.string("auto")), .auto)
        XCTAssertEqual(try ToolChoice.parse(.string("none")), ToolChoice.none)
        XCTAssertEqual(try ToolChoice.parse(.string("required")), .required)
        XCTAssertEqual(try ToolChoice.parse(JSONValue.parse(#"{"type": "function", "function": {"name": "get_time"}}"#)),
                       .function("get_time"))
        XCTAssertThrowsError(try ToolChoice.parse(.string("always"))) { XCTAssertTrue("\($0)".contains("\"always\"")) }
        XCTAssertThrowsError(try ToolChoice.parse(JSONValue.parse(#"{"type": "function"}"#))) {
            XCTAssertTrue("\($0)".contains("tool_choice.function is missing"), "\($0)")
        }
        XCTAssertThrowsError(try ToolChoice.parse(.number("1"))) { XCTAssertTrue("\($0)".contains("a number"), "\($0)") }
    }

    func testToolsValidation() throws {
        let values = try ChatOutputParserTests.tools()
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual(values.compactMap(ChatTools.name(of:)), ["get_weather", "get_time"])
        // Key order is kept for the template's tojson.
        let text = try values[0].jsonText()
        XCTAssertTrue(text.hasPrefix(#"{"type": "function", "function": {"name": "get_weather", "description""#), text)
        // A tool without "type" gets it (Ollama clients often leave it out).
        let bare = try ChatTools.templateValues(JSONValue.parse(#"[{"function": {"name": "f"}}]"#))
        XCTAssertTrue(try bare[0].jsonText().hasPrefix(#"{"type": "function""#))

        let cases: [(String, String)] = [
            (#"{"function": {}}"#, "tools must be an array"),
            (#"[{"type": "function"}]"#, "tools[0].function is missing"),
            (#"[{"type": "function", "function": {"description": "x"}}]"#, "tools[0].function.name is missing"),
            (#"[{"type": "function", "function": {"name": 3}}]"#, "tools[0].function.name must be a string"),
            (#"[{"type": "function", "function": {"name": "has space"}}]"#, "tools[0].function.name must be"),
            (#"[{"type": "retrieval", "function": {"name": "f"}}]"#, "tools[0].type must be \"function\""),
            (#"[{"function": {"name": "f"}}, {"function": {"name": "f"}}]"#, "tools[1].function.name \"f\" is given twice"),
            (#"[{"function": {"name": "f", "parameters": "x"}}]"#, "tools[0].function.parameters must be a JSON Schema object"),
            (#"[7]"#, "tools[0] must be an object, got a number"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try ChatTools.templateValues(JSONValue.parse(json)), json) { error in
                XCTAssertTrue("\(error)".contains(message), "\(json): \(error)")
            }
        }
    }
}
