import HearthGrammar
import XCTest

/// Only valid UTF-8 (RFC 3629) may advance a grammar: an overlong form of an ASCII character (C1 B4 or E0 81 B4
/// for "t"), a surrogate or a value past U+10FFFF must not match a literal or a class. Byte-level BPE vocabularies
/// hold single-byte tokens, so a model can emit such sequences one byte at a time; before this check SmolLM2 wrote
/// overlong bytes inside a JSON key under a schema grammar.
final class UTF8ValidityTests: XCTestCase {
    func testOverlongFormsDoNotMatchALiteral() throws {
        let m = GrammarMatcher(try Grammar(gbnf: #"root ::= "tion" | [^"]+"#))
        XCTAssertTrue(m.accepts(Array("tion".utf8)))
        for bad: [UInt8] in [[0xC1, 0xB4], [0xC1], [0xC0, 0x80], [0xE0, 0x81, 0xB4], [0xE0, 0x81], [0xF0, 0x80, 0x81, 0xB4],
                             [0xED, 0xA0, 0x80], [0xED, 0xA0], [0xF4, 0x90, 0x80, 0x80], [0xF5]] {
            XCTAssertFalse(m.accepts(bad), "bytes \(bad.map { String($0, radix: 16) })")
        }
        // Valid multi-byte characters still match the negated class, whole or split across tokens.
        XCTAssertTrue(m.accepts(Array("é日😀".utf8)))
        XCTAssertTrue(m.accept([0xE6]))
        XCTAssertTrue(m.accept([0x97, 0xA5]))
    }

    func testMaskLeavesOutOverlongTokens() throws {
        let m = GrammarMatcher(try Grammar(gbnf: #"root ::= "\"population\"""#))
        XCTAssertTrue(m.accept(Array("\"popula".utf8)))
        let pieces: [[UInt8]] = [[0xC1], [0xB4], [0xE0], [0x81], Array("t".utf8), Array("tion".utf8), Array("tion\"".utf8)]
        let trie = TokenTrie(pieces: pieces, endTokens: [])
        let mask = m.allowedTokens(trie)
        XCTAssertEqual((0..<Int32(pieces.count)).filter { mask.allows($0) }, [4, 5, 6])
    }
}
