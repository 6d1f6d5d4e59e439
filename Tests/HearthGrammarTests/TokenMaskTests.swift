import HearthGrammar
import XCTest

/// The trie walk must give exactly the tokens a one-by-one check accepts, including tokens that split a UTF-8
/// character, and end tokens only where the grammar is complete.
final class TokenMaskTests: XCTestCase {
    /// A vocabulary of ASCII fragments, JSON punctuation, multi-byte characters and their split halves.
    func vocabulary() -> [[UInt8]] {
        var rng = SystemRandomNumberGenerator()
        var pieces: [[UInt8]] = ["{", "}", "\"", ":", ",", " ", "\n", "[", "]", "\"a", "a\"", "\":", "\",", "{\"",
                                 "true", "false", "null", "12", "3.5", "-", "e", "é", "日本", "😀", "\\", "\\n", "\\u00"]
            .map { Array($0.utf8) }
        let e = Array("é".utf8), j = Array("日".utf8), s = Array("😀".utf8)
        pieces += [[e[0]], [e[1]], [j[0]], [j[0], j[1]], [j[2]], [s[0], s[1]], [s[2], s[3]], [0xFF], [0x80], []]
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789 _-\"{}:,.".utf8)
        for _ in 0..<2000 {
            let n = Int.random(in: 1...6, using: &rng)
            pieces.append((0..<n).map { _ in letters.randomElement(using: &rng) ?? 97 })
        }
        return pieces
    }

    func checkMaskMatchesPerTokenChecks(_ gbnf: String, walks: [String]) throws {
        let pieces = vocabulary()
        let endId = Int32(pieces.count)
        let trie = TokenTrie(pieces: pieces + [[]], endTokens: [endId])
        let m = GrammarMatcher(try Grammar(gbnf: gbnf))
        for prefix in walks {
            m.reset()
            XCTAssertTrue(m.accept(Array(prefix.utf8)), "prefix \(prefix)")
            let mask = m.allowedTokens(trie)
            for (id, p) in pieces.enumerated() {
                let expected = !p.isEmpty && m.accepts(p)
                XCTAssertEqual(mask.allows(Int32(id)), expected, "token \(p) after \(prefix.debugDescription)")
            }
            XCTAssertEqual(mask.allows(endId), m.isComplete, "end after \(prefix.debugDescription)")
            XCTAssertEqual(m.allowedTokens(trie), mask, "cached mask")
        }
    }

    func testMaskEqualsPerTokenChecksForJSON() throws {
        let gbnf = try JSONSchemaGrammar.gbnf(schema: #"{"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "number"}}}, "required": ["a"]}"#)
        try checkMaskMatchesPerTokenChecks(gbnf, walks: ["", "{", "{\"a\": \"", "{\"a\": \"x日", "{\"a\": \"x\"", "{\"a\": \"x\", \"b\": [1", "{\"a\":\"\"}"])
    }

    func testMaskInsideAMultiByteCharacter() throws {
        let pieces: [[UInt8]] = [[0xC3], [0xA9], [0xC3, 0xA9], [0xA8], Array("e".utf8), [0xE6], [0x97, 0xA5]]
        let trie = TokenTrie(pieces: pieces, endTokens: [])
        let m = GrammarMatcher(try Grammar(gbnf: #"root ::= [é-ê]+"#))
        XCTAssertEqual((0..<7).filter { m.allowedTokens(trie).allows(Int32($0)) }, [0, 2])
        XCTAssertTrue(m.accept([0xC3]))
        XCTAssertEqual((0..<7).filter { m.allowedTokens(trie).allows(Int32($0)) }, [1], "after C3 only A9 (é) is in é…ê; A8 would be è")
        let gbnf = "root ::= \"x\" [^\"]* \"\\\"\""
        try checkMaskMatchesPerTokenChecks(gbnf, walks: ["", "x", "xé", "x日本", "x\""])
    }
}
