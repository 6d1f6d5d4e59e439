import XCTest
@testable import HearthStore

final class ModelNameTests: XCTestCase {
    func testDefaultsAndForms() throws {
        let a = try ModelName(parsing: "smollm2:135m")
        XCTAssertEqual(a.pathComponents, ["registry.ollama.ai", "library", "smollm2", "135m"])
        XCTAssertEqual(a.description, "smollm2:135m")
        let b = try ModelName(parsing: "smollm2")
        XCTAssertEqual(b.tag, "latest")
        XCTAssertEqual(b.description, "smollm2:latest")
        let c = try ModelName(parsing: "me/smol:v1")
        XCTAssertEqual(c.pathComponents, ["registry.ollama.ai", "me", "smol", "v1"])
        XCTAssertEqual(c.description, "me/smol:v1")
        let d = try ModelName(parsing: "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M")
        XCTAssertEqual(d.pathComponents, ["hf.co", "bartowski", "SmolLM2-135M-Instruct-GGUF", "Q4_K_M"])
        XCTAssertEqual(d.description, "hf.co/bartowski/SmolLM2-135M-Instruct-GGUF:Q4_K_M")
        let e = try ModelName(parsing: "localhost:5000/ns/model")
        XCTAssertEqual(e.pathComponents, ["localhost:5000", "ns", "model", "latest"])
    }

    func testBadNamesRejected() {
        let bad: [(String, String)] = [
            ("", "empty"), ("../evil", "'..'"), ("..", "'..'"), ("/etc/passwd", "absolute"), ("a/b/c/d", "parts"),
            ("a//b", "empty"), ("x:", "empty tag"), ("x:../y", "'..'"), ("a\\b", "'\\'"), ("bad\u{1}name", "control"),
            ("new\nline", "control"), ("sp ace", "' '"), ("-dash", "start"), (".hidden", "start"),
            (String(repeating: "m", count: 81), "longer"), ("m:" + String(repeating: "t", count: 81), "longer"),
            (String(repeating: "x", count: 700), "longer"), ("a..b", "'..'"), ("ns/mod:tag:more", "':'"),
        ]
        for (text, reason) in bad {
            XCTAssertThrowsError(try ModelName(parsing: text), "accepted \(text.debugDescription)") { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("invalid model name"), message)
                XCTAssertTrue(message.contains(reason), "\(text.debugDescription): '\(message)' lacks \(reason)")
                XCTAssertFalse(message.contains("\n"), "multi-line error: \(message)")
            }
        }
    }
}
