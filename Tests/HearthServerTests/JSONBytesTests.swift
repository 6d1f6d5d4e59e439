import Foundation
@testable import HearthServer
import XCTest

/// The response writer (JSONBytes.swift) gives the document `JSONSerialization` gives, for the shapes the routes
/// build, and hands anything else to `JSONSerialization`.
final class JSONBytesTests: XCTestCase {
    /// Both texts parsed and written again by `JSONSerialization` with sorted keys: equal documents, equal bytes.
    private func canonical(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> Data {
        let parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return try JSONSerialization.data(withJSONObject: parsed, options: [.sortedKeys, .fragmentsAllowed])
    }

    func testSameDocumentAsJSONSerialization() throws {
        let text = "quote \" backslash \\ slash / newline \n tab \t cr \r bell \u{07} nul \u{00} del \u{7F} é 中文 🦙 \u{2028}"
        let objects: [Any] = [
            ["id": "cmpl-1", "object": "text_completion", "created": 1_764_000_000, "model": "smollm2:135m",
             "choices": [["index": 0, "text": text, "logprobs": NSNull(), "finish_reason": NSNull()]]],
            ["b": true, "a": false, "n": -42, "i32": Int32(-7), "i64": Int64.max, "u64": UInt64(3), "u32": UInt32(9),
             "d": 0.1, "tiny": 1e-7, "neg": -3.5, "whole": 2.0, "f": Float(0.25), "lp": Float(-1.3862944)],
            ["nested": [["a": [1, 2, [3, ["x": NSNull()]]], "": "empty key"]], "emptyArray": [Any](),
             "emptyObject": [String: Any]()],
            [Any](),
            ["z": 1, "y": 2, "A": 3, "a": 4, "é": 5, "_": 6],
        ]
        for (i, o) in objects.enumerated() {
            var out: [UInt8] = []
            XCTAssertTrue(FastJSONWriter.write(o, into: &out), "object \(i) should take the fast path")
            let expected = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            XCTAssertEqual(try canonical(jsonBytes(o)), try canonical(Array(expected)), "object \(i)")
        }
        // Keys come out sorted, as with `.sortedKeys`.
        XCTAssertEqual(String(decoding: jsonBytes(["b": 1, "a": 2, "c": 3]), as: UTF8.self), #"{"a":2,"b":1,"c":3}"#)
        XCTAssertEqual(String(decoding: jsonBytes(["s": "a\"b\\c\n\u{01}/"]), as: UTF8.self), #"{"s":"a\"b\\c\n\u0001/"}"#)
    }

    func testOtherValuesFallBackToJSONSerialization() throws {
        // A parsed document holds NSNumbers: 1 must stay 1, true must stay true.
        let parsed = try JSONSerialization.jsonObject(with: Data(#"{"one": 1, "yes": true, "pi": 3.25}"#.utf8))
        var out: [UInt8] = []
        XCTAssertFalse(FastJSONWriter.write(["args": parsed], into: &out))
        let back = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(jsonBytes(["args": parsed]))) as? [String: Any])
        let args = try XCTUnwrap(back["args"] as? [String: Any])
        XCTAssertEqual(String(decoding: try JSONSerialization.data(withJSONObject: args, options: [.sortedKeys]), as: UTF8.self),
                       #"{"one":1,"pi":3.25,"yes":true}"#)
        // Non-finite numbers are not JSON: the same "{}" as before.
        XCTAssertEqual(String(decoding: jsonBytes(["x": Double.nan]), as: UTF8.self), "{}")
    }
}
