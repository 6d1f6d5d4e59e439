import XCTest
@testable import HearthStore

/// Inputs the modelfile fuzz harness (Fuzz/Harnesses/modelfile.swift, docs/SECURITY.md "Fuzzing") found, kept as
/// regression tests: `render` must write what `parse` reads back unchanged.
final class ModelfileFuzzRegressionTests: XCTestCase {
    func assertRoundTrip(_ modelfile: Modelfile, file: StaticString = #filePath, line: UInt = #line) throws {
        let rendered = modelfile.render()
        let again = try Modelfile.parse(rendered, file: "rendered")
        XCTAssertEqual(again, modelfile, "rendered:\n\(rendered)", file: file, line: line)
    }

    /// The fuzzer's input: a FROM value holding `"` followed by U+0352 (a combining mark). As one Character
    /// that pair is not a quote, so `quote` wrote it unescaped and the rendered Modelfile failed to parse
    /// ("unexpected text after the closing quote").
    func testQuoteFollowedByCombiningMarkRoundTrips() throws {
        let bytes: [UInt8] = [
            0x46, 0x52, 0x4f, 0x4d, 0x20, 0x53, 0x79, 0x73, 0x92, 0x65, 0x6d, 0x20, 0x7d, 0x20, 0x53, 0x79,
            0x73, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x40,
            0x22, 0x22, 0x22, 0x22, 0x22, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x04, 0x22, 0xcd, 0x92,
            0xef, 0xbf, 0xbd, 0x46, 0x52, 0x22, 0x22, 0x20, 0x22, 0x22, 0x22, 0x35, 0x4d, 0x2d, 0x49, 0xc9,
            0x00, 0xd9, 0xd9, 0xd9, 0xd9, 0x7b, 0x7b, 0x20,
        ]
        let parsed = try Modelfile.parse(String(decoding: bytes, as: UTF8.self))
        try assertRoundTrip(parsed)
    }

    /// The same shapes in every quoted field: combining marks after quotes, backslashes, a trailing quote,
    /// `"""` inside, carriage returns and Unicode line separators.
    func testQuotingIsScalarExact() throws {
        let values = ["a\"\u{352}b", "\"\u{301}", "x\"\"\"\u{301}y", "tail\"", "back\\slash\"\u{300}", "cr\r\nlf",
                      "\u{2028}sep", "#hash", " lead", "trail\u{3000}", "e\u{301}\"\"\"\u{301}"]
        for v in values {
            var m = Modelfile(from: v)
            m.system = v
            m.template = v
            m.messages = [.init(role: "user", content: v)]
            m.licenses = [v]
            m.parameters.stop = [v]
            try assertRoundTrip(m)
        }
    }
}
