import XCTest
@testable import HearthStore

final class ModelfileTests: XCTestCase {
    func testFullModelfile() throws {
        let text = """
            # a comment
            FROM ./SmolLM2-135M-Instruct.Q4_1.gguf
              # indented comment

            parameter temperature 0.2
            PARAMETER num_ctx 2048
            PARAMETER stop "<|im_end|>"
            PARAMETER stop <|im_start|>
            PARAMETER top_k 20
            PARAMETER top_p 0.95
            PARAMETER min_p 0.05
            PARAMETER seed 42
            PARAMETER num_predict 128
            PARAMETER repeat_penalty 1.05
            PARAMETER repeat_last_n 32
            Template \"\"\"{% for m in messages %}<|im_start|>{{ m.role }}
            {{ m.content }}<|im_end|>
            {% endfor %}\"\"\"
            SYSTEM You are a helpful assistant.   
            MESSAGE user "Is \\"Paris\\" the capital?"
            MESSAGE assistant \"\"\"Yes.
            It is.\"\"\"
            LICENSE \"\"\"Apache License
            Version 2.0\"\"\"
            """
        let m = try Modelfile.parse(text)
        XCTAssertEqual(m.from, "./SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertEqual(m.parameters.temperature, 0.2)
        XCTAssertEqual(m.parameters.numCtx, 2048)
        XCTAssertEqual(m.parameters.stop, ["<|im_end|>", "<|im_start|>"])
        XCTAssertEqual(m.parameters.topK, 20)
        XCTAssertEqual(m.parameters.topP, 0.95)
        XCTAssertEqual(m.parameters.minP, 0.05)
        XCTAssertEqual(m.parameters.seed, 42)
        XCTAssertEqual(m.parameters.numPredict, 128)
        XCTAssertEqual(m.parameters.repeatPenalty, 1.05)
        XCTAssertEqual(m.parameters.repeatLastN, 32)
        XCTAssertEqual(m.template, "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")
        XCTAssertEqual(m.system, "You are a helpful assistant.")
        XCTAssertEqual(m.messages, [.init(role: "user", content: "Is \"Paris\" the capital?"),
                                    .init(role: "assistant", content: "Yes.\nIt is.")])
        XCTAssertEqual(m.licenses, ["Apache License\nVersion 2.0"])

        // Rendering and parsing again gives the same settings.
        XCTAssertEqual(try Modelfile.parse(m.render(header: ["generated"])), m)
    }

    func testRenderRoundTripOfAwkwardValues() throws {
        var m = Modelfile(from: "/models/blobs/sha256-abc")
        m.template = "ends with a quote \"\"\" and holds \"\"\" and \\ backslash\""
        m.system = "  leading spaces and # hash\n"
        m.parameters.stop = ["\"", " two words ", "#"]
        m.messages = [.init(role: "user", content: "")]
        m.licenses = ["\"\"\""]
        let text = m.render()
        XCTAssertEqual(try Modelfile.parse(text), m, text)
    }

    func testCRLFAndCase() throws {
        let m = try Modelfile.parse("from smollm2:135m\r\nsystem \"\"\"hi\"\"\"\r\nPARAMETER Temperature 0\r\n")
        XCTAssertEqual(m.from, "smollm2:135m")
        XCTAssertEqual(m.system, "hi")
        XCTAssertEqual(m.parameters.temperature, 0)
    }

    /// Every error names the file and the line, and says what was expected.
    func testErrorsCarryLineNumbers() {
        let cases: [(String, Int, String)] = [
            ("FROM x.gguf\nPARAMETER temperature hot\n", 2, "not a number"),
            ("FROM x.gguf\n\n\nPARAMETER top_k 1.5", 4, "not an integer"),
            ("FROM x.gguf\nPARAMETER num_ctx 0", 2, "minimum"),
            ("FROM x.gguf\nPARAMETER top_p 1.5", 2, "outside"),
            ("FROM x.gguf\nPARAMETER mirostat 1", 2, "unknown parameter"),
            ("FROM x.gguf\nPARAMETER temperature", 2, "needs a value"),
            ("FROM x.gguf\nPARAMETER", 2, "needs a name"),
            ("FROM x.gguf\n# c\nBOGUS thing", 3, "unknown instruction"),
            ("FROM x.gguf\nTEMPLATE \"\"\"never\nclosed\n", 2, "unterminated"),
            ("FROM x.gguf\nSYSTEM \"open", 2, "unterminated"),
            ("FROM x.gguf\nSYSTEM \"\"\"a\"\"\" trailing", 2, "after the closing quote"),
            ("FROM x.gguf\nMESSAGE robot hi", 2, "role"),
            ("FROM a.gguf\nFROM b.gguf", 2, "second FROM"),
            ("# only a comment\nSYSTEM hi\n", 3, "no FROM"),
            ("FROM\n", 1, "needs a value"),
            ("FROM x.gguf\nADAPTER lora.gguf", 2, "not supported"),
        ]
        for (text, line, needle) in cases {
            XCTAssertThrowsError(try Modelfile.parse(text, file: "MF")) { error in
                guard case StoreError.modelfile(let file, let l, let message) = error else {
                    return XCTFail("\(text.debugDescription): unexpected error \(error)")
                }
                XCTAssertEqual(file, "MF")
                XCTAssertEqual(l, line, "\(text.debugDescription): \(message)")
                XCTAssertTrue(message.contains(needle), "\(text.debugDescription): '\(message)' lacks \(needle)")
                XCTAssertTrue("\(error)".hasPrefix("MF:\(line): "))
            }
        }
    }

    func testParametersJSONIsOllamasShape() throws {
        var p = ModelParameters()
        try p.set("stop", "<|im_end|>")
        try p.set("temperature", "0.5")
        try p.set("num_ctx", "2048")
        let json = try JSONSerialization.jsonObject(with: p.encoded()) as? [String: Any]
        XCTAssertEqual(json?["stop"] as? [String], ["<|im_end|>"])
        XCTAssertEqual(json?["num_ctx"] as? Int, 2048)
        XCTAssertEqual((json?["temperature"] as? Double).map { Float($0) }, 0.5)
        XCTAssertEqual(json?.count, 3)
        XCTAssertEqual(try JSONDecoder().decode(ModelParameters.self, from: p.encoded()), p)
    }
}
