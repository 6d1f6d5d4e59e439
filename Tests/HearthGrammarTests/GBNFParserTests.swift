import HearthGrammar
import XCTest

/// Grammars in the style of llama.cpp's grammars/ folder, and malformed ones that must fail with a position.
final class GBNFParserTests: XCTestCase {
    func matcher(_ gbnf: String, file: StaticString = #filePath, line: UInt = #line) throws -> GrammarMatcher {
        GrammarMatcher(try Grammar(gbnf: gbnf))
    }

    /// Whether `text` is a complete sentence of the grammar.
    func full(_ m: GrammarMatcher, _ text: String) -> Bool {
        m.reset()
        return m.accept(text) && m.isComplete
    }

    func testChessStyleGrammar() throws {
        let m = try matcher(#"""
            # a chess-like move list, as in llama.cpp's grammars/chess.gbnf
            root ::= (
                "1. " move " " move "\n"
                ([1-9] [0-9]? ". " move " " move "\n")+
            )
            move ::= (pawn | nonpawn | castle) [+#]?
            pawn ::= [a-h] [1-8]
            nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
            castle ::= "O-O" "-O"?
            """#)
        XCTAssertTrue(full(m, "1. e4 e5\n2. Nf3 Nc6\n"))
        XCTAssertTrue(full(m, "1. e4 e5\n2. O-O-O Qxd8#\n"))
        XCTAssertFalse(full(m, "1. e4 e5\n"), "needs at least one more numbered line")
        m.reset()
        XCTAssertFalse(m.accept("1. z9"))
        XCTAssertTrue(m.accept("1. e4"), "a rejected input leaves the state unchanged")
    }

    func testAlternationNewlineAfterBar() throws {
        let m = try matcher("root ::= \"a\" |\n  \"b\"\n")
        XCTAssertTrue(full(m, "a"))
        XCTAssertTrue(full(m, "b"))
        XCTAssertFalse(full(m, "ab"))
    }

    func testRepetitionOperators() throws {
        let m = try matcher(#"root ::= "x"{2,4} [0-9]{3} "y"? "z"* "w"+"#)
        XCTAssertTrue(full(m, "xx123w"))
        XCTAssertTrue(full(m, "xxxx123yzzzww"))
        XCTAssertFalse(full(m, "x123w"))
        XCTAssertFalse(full(m, "xxxxx123w"))
        XCTAssertFalse(full(m, "xx12w"))
        XCTAssertFalse(full(m, "xx123"))
        let exact = try matcher(#"root ::= ("ab" | "c"){3}"#)
        XCTAssertTrue(full(exact, "abcab"))
        XCTAssertFalse(full(exact, "abc"))
        let atLeast = try matcher(#"root ::= [a]{2,}"#)
        XCTAssertTrue(full(atLeast, String(repeating: "a", count: 50)))
        XCTAssertFalse(full(atLeast, "a"))
    }

    func testCharClassesEscapesAndAny() throws {
        let m = try matcher(#"root ::= [^\n"\\]+ "\t" [\x41-\x43] "\u00e9" [\U0001F600-\U0001F64F] . "\\" [\]\-]"#)
        XCTAssertTrue(full(m, "héllo wörld\tBé😃Z\\]"))
        XCTAssertTrue(full(m, "x\tAé🙏\n\\-"), "`.` matches a newline")
        XCTAssertFalse(full(m, "a\"b\tBé😃Z\\]"))
        XCTAssertFalse(full(m, "x\tDé😃Z\\]"))
        XCTAssertFalse(full(m, "x\tBé🤖Z\\]"))
    }

    func testPartialUTF8InsideATokenIsKept() throws {
        let m = try matcher(#"root ::= "é" [ぁ-ゟ]"#)
        let bytes = Array("éぁ".utf8)  // C3 A9 E3 81 81
        XCTAssertTrue(m.accept(bytes[0..<1]))
        XCTAssertFalse(m.isComplete)
        XCTAssertTrue(m.accept(bytes[1..<3]))
        XCTAssertFalse(m.accepts([0xE4]), "U+4xxx cannot become hiragana")
        XCTAssertTrue(m.accept(bytes[3..<5]))
        XCTAssertTrue(m.isComplete)
        m.reset()
        XCTAssertFalse(m.accept([0x80]), "a stray continuation byte is rejected")
    }

    func testRecursionAndNesting() throws {
        let m = try matcher("""
            root ::= expr
            expr ::= term (("+" | "-") term)*
            term ::= factor (("*" | "/") factor)*
            factor ::= [0-9]+ | "(" expr ")"
            """)
        XCTAssertTrue(full(m, "1+2*(3-4)/((5))"))
        XCTAssertFalse(full(m, "1+(2"))
        XCTAssertFalse(full(m, "1+)"))
        m.reset()
        XCTAssertTrue(m.accept(String(repeating: "(", count: 300) + "1" + String(repeating: ")", count: 300)))
        XCTAssertTrue(m.isComplete)
    }

    func testCommentsAndCRLF() throws {
        let m = try matcher("# header\r\nroot ::= a # trailing\r\n\r\na ::= \"ok\" # done\r\n")
        XCTAssertTrue(full(m, "ok"))
    }

    func testEmptyAlternativeAndCompleteness() throws {
        let m = try matcher(#"root ::= "a" b"# + "\nb ::= \"b\" | \n")
        m.reset()
        XCTAssertTrue(m.accept("a"))
        XCTAssertTrue(m.isComplete)
        XCTAssertFalse(m.mustEnd)
        XCTAssertTrue(m.accept("b"))
        XCTAssertTrue(m.mustEnd)
    }

    func assertSyntaxError(_ gbnf: String, line: Int, column: Int, containing text: String,
                           file: StaticString = #filePath, lineNo: UInt = #line) {
        XCTAssertThrowsError(try Grammar(gbnf: gbnf), file: file, line: lineNo) { error in
            guard case .syntax(let l, let c, let message) = error as? GrammarError else {
                return XCTFail("expected a syntax error, got \(error)", file: file, line: lineNo)
            }
            XCTAssertEqual(l, line, "line of: \(message)", file: file, line: lineNo)
            XCTAssertEqual(c, column, "column of: \(message)", file: file, line: lineNo)
            XCTAssertTrue(message.contains(text), "\(message) should mention \(text)", file: file, line: lineNo)
        }
    }

    func testSyntaxErrorsNameLineAndColumn() {
        assertSyntaxError("root ::= foo\n", line: 1, column: 10, containing: "undefined rule 'foo'")
        assertSyntaxError("root ::= \"a\"\nb ::= (\"x\" | \"y\"\n", line: 3, column: 1, containing: "expected ')'")
        assertSyntaxError("root ::= \"a\")\n", line: 1, column: 13, containing: "unbalanced ')'")
        assertSyntaxError("root ::= [a-z\n", line: 1, column: 10, containing: "expected ']'")
        assertSyntaxError("root ::= \"abc\n", line: 1, column: 10, containing: "unterminated string")
        assertSyntaxError("root ::= * \"a\"\n", line: 1, column: 10, containing: "no symbol before it")
        assertSyntaxError("root \"a\"\n", line: 1, column: 6, containing: "'::='")
        assertSyntaxError("root ::= \"\\q\"\n", line: 1, column: 11, containing: "unknown escape")
        assertSyntaxError("root ::= \"\\x4\"\n", line: 1, column: 11, containing: "2 hex digits")
        assertSyntaxError("root ::= [z-a]\n", line: 1, column: 10, containing: "backwards")
        assertSyntaxError("root ::= \"a\"{3,2}\n", line: 1, column: 13, containing: "maximum below minimum")
        assertSyntaxError("root ::= \"a\"{2001}\n", line: 1, column: 13, containing: "exceeds the limit")
        assertSyntaxError("root ::= <think>\n", line: 1, column: 10, containing: "token references")
        assertSyntaxError("root ::= \"a\"\nroot ::= \"b\"\n", line: 2, column: 1, containing: "defined twice")
    }

    func testInvalidGrammars() {
        XCTAssertThrowsError(try Grammar(gbnf: "start ::= \"a\"\n")) { error in
            XCTAssertEqual(error as? GrammarError, .invalid("no 'root' rule: the grammar must define 'root ::= …'"))
        }
        XCTAssertThrowsError(try Grammar(gbnf: "root ::= expr\nexpr ::= expr \"+\" [0-9] | [0-9]\n")) { error in
            XCTAssertTrue("\(error)".contains("'expr'") && "\(error)".contains("left-recursive"), "\(error)")
        }
        XCTAssertThrowsError(try Grammar(gbnf: "root ::= a\na ::= b? a \"x\"\nb ::= \"b\"\n")) { error in
            XCTAssertTrue("\(error)".contains("left-recursive"), "nullable prefix still recurses: \(error)")
        }
    }

    func testHostileGrammarsHitLimits() {
        // A 1000-character literal repeated 1500 times would be 1.5 million elements.
        let long = "root ::= \"" + String(repeating: "a", count: 1000) + "\"{1500}\n"
        XCTAssertThrowsError(try Grammar(gbnf: long)) { error in
            guard case .tooComplex = error as? GrammarError else { return XCTFail("\(error)") }
        }
        let deep = "root ::= " + String(repeating: "(", count: 500) + "\"a\"" + String(repeating: ")", count: 500)
        XCTAssertThrowsError(try Grammar(gbnf: deep)) { error in
            XCTAssertTrue("\(error)".contains("nested deeper"), "\(error)")
        }
    }

    func testAmbiguousGrammarStaysBounded() throws {
        // Exponentially many parses of "aaaa…" collapse into few stacks thanks to hash-consing.
        let m = try matcher("root ::= (\"a\" | \"a\" \"a\" | x)*\nx ::= \"a\"+\n")
        XCTAssertTrue(m.accept(String(repeating: "a", count: 2000)))
        XCTAssertTrue(m.isComplete)
        XCTAssertLessThan(m.stacks.count, 50)
    }
}
