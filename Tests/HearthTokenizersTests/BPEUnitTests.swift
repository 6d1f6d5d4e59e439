import HearthTensors
import HearthTokenizers
import XCTest

/// GPT-2's byte → character table, written out independently of the library, for building test vocabularies.
enum TestByteLevel {
    static let table: [Character] = {
        var out = [Character](repeating: " ", count: 256)
        var next = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                out[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                out[b] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return out
    }()

    static func encode(_ s: String) -> String { String(s.utf8.map { table[Int($0)] }) }
}

/// Unit tests on small hand-made vocabularies.
final class BPEUnitTests: XCTestCase {
    /// A vocabulary of the 256 byte characters plus extra tokens.
    private func vocab(extra: [String] = []) -> [String] {
        TestByteLevel.table.map { String($0) } + extra
    }

    /// Checks that `pre` splits `text` into exactly `words`: the vocabulary can build each expected word by merges,
    /// and higher-priority merges would join neighbouring words, so a wrong split shows up as other tokens.
    private func assertSplit(_ pre: String, _ text: String, _ words: [String], file: StaticString = #filePath,
                             line: UInt = #line) throws {
        var extra: [String] = []
        var merges: [String] = []
        let encoded = words.map(TestByteLevel.encode)
        // Cross-boundary merges first (best ranks): they fire only if the splitter fails to separate the words.
        for (a, b) in zip(encoded, encoded.dropFirst()) {
            let m = "\(a.last!) \(b.first!)"
            if !merges.contains(m) { merges.append(m) }
            if !extra.contains("\(a.last!)\(b.first!)") { extra.append("\(a.last!)\(b.first!)") }
        }
        for w in encoded {
            var prefix = String(w.first!)
            for ch in w.dropFirst() {
                let m = "\(prefix) \(ch)"
                if !merges.contains(m) { merges.append(m) }
                prefix.append(ch)
                if !extra.contains(prefix) { extra.append(prefix) }
            }
        }
        let tok = try BPETokenizer(tokens: vocab(extra: extra), tokenTypes: [], merges: merges, bosId: nil,
                                   eosId: nil, addBOS: false, addEOS: false, preTokenizer: pre)
        let ids = tok.encode(text, addSpecial: false, parseSpecial: false)
        let got = ids.map { String(decoding: tok.piece($0), as: UTF8.self) }
        XCTAssertEqual(got, words, "\(pre) split of \(text.debugDescription)", file: file, line: line)
    }

    func testGPT2Split() throws {
        try assertSplit("gpt-2", "Hello world's  test\n\n 123abc", ["Hello", " world", "'s", " ", " test", "\n\n", " 123", "abc"])
        try assertSplit("gpt-2", "don'T  ", ["don", "'", "T", "  "])
        try assertSplit("gpt-2", "a -> b", ["a", " ->", " b"])
    }

    func testSmolLMSplitIsolatesDigits() throws {
        try assertSplit("smollm", "abc 123 x4", ["abc", " ", "1", "2", "3", " x", "4"])
        try assertSplit("smollm", "٣٤", ["٣", "٤"])  // Arabic-Indic digits are \p{N} too
    }

    func testLlama3Split() throws {
        try assertSplit("llama-bpe", "HELLO'S 12345 word\r\n\n  x",
                        ["HELLO", "'S", " ", "123", "45", " word", "\r\n\n", " ", " x"])
        try assertSplit("llama-bpe", "(x) ...\n", ["(x", ")", " ...\n"])  // [^\r\n\p{L}\p{N}]?\p{L}+
    }

    func testQwen2SplitSingleDigits() throws {
        try assertSplit("qwen2", "v12 'LL", ["v", "1", "2", " '", "LL"])
        try assertSplit("qwen2", "HELLO'S 12345", ["HELLO", "'S", " ", "1", "2", "3", "4", "5"])
    }

    func testDefaultSplit() throws {
        try assertSplit("default", "a+b=c; 1234", ["a", "+", "b", "=", "c", ";", " ", "123", "4"])
    }

    func testUnknownPreTokenizerThrows() {
        XCTAssertThrowsError(try BPETokenizer(tokens: vocab(), tokenTypes: [], merges: [], bosId: nil, eosId: nil,
                                              addBOS: false, addEOS: false, preTokenizer: "no-such-pre")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownPreTokenizer("no-such-pre"))
            XCTAssertTrue("\(error)".contains("no-such-pre"))
        }
    }

    /// Equal pairs merge leftmost first, and stale queue entries are skipped.
    func testMergeOrder() throws {
        let tok = try BPETokenizer(tokens: vocab(extra: ["aa", "aaaa"]), tokenTypes: [], merges: ["a a", "aa aa"],
                                   bosId: nil, eosId: nil, addBOS: false, addEOS: false, preTokenizer: "gpt-2")
        let aa = try XCTUnwrap(tok.tokenId(for: "aa")), a = try XCTUnwrap(tok.tokenId(for: "a"))
        let aaaa = try XCTUnwrap(tok.tokenId(for: "aaaa"))
        XCTAssertEqual(tok.encode("aaa", addSpecial: false, parseSpecial: false), [aa, a])
        XCTAssertEqual(tok.encode("aaaa", addSpecial: false, parseSpecial: false), [aaaa])
        XCTAssertEqual(tok.encode("aaaaa", addSpecial: false, parseSpecial: false), [aaaa, a])
    }

    /// A merge whose result is not a token still takes part (as a string in llama.cpp); a final symbol that is not a
    /// token is emitted byte by byte.
    func testMergesThroughMissingTokens() throws {
        let tok = try BPETokenizer(tokens: vocab(extra: ["abc"]), tokenTypes: [], merges: ["a b", "ab c", "x y"],
                                   bosId: nil, eosId: nil, addBOS: false, addEOS: false, preTokenizer: "gpt-2")
        XCTAssertEqual(tok.encode("abc", addSpecial: false, parseSpecial: false), [try XCTUnwrap(tok.tokenId(for: "abc"))])
        let x = try XCTUnwrap(tok.tokenId(for: "x")), y = try XCTUnwrap(tok.tokenId(for: "y"))
        XCTAssertEqual(tok.encode("xy", addSpecial: false, parseSpecial: false), [x, y])
    }

    func testSpecialTokensAndBOSEOS() throws {
        let tokens = vocab(extra: ["<s>", "</s>", "<|im_end|>", "<tool>", "<|eot_id|>"])
        let n = Int32(256)
        let types = [Int32](repeating: 1, count: 256) + [3, 3, 3, 4, 1]
        let tok = try BPETokenizer(tokens: tokens, tokenTypes: types, merges: [], bosId: n, eosId: n + 1,
                                   addBOS: true, addEOS: true, preTokenizer: "gpt-2")
        let a = try XCTUnwrap(tok.tokenId(for: "a"))
        XCTAssertEqual(tok.encode("a", addSpecial: true, parseSpecial: false), [n, a, n + 1])
        XCTAssertEqual(tok.encode("", addSpecial: true, parseSpecial: false), [n, n + 1])
        // Control tokens only when parsing special tokens; user-defined tokens always.
        XCTAssertEqual(tok.encode("a<|im_end|><tool>", addSpecial: false, parseSpecial: true), [a, n + 2, n + 3])
        let plain = tok.encode("a<|im_end|><tool>", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(plain.last, n + 3)
        XCTAssertFalse(plain.contains(n + 2))
        // "<|eot_id|>" is found by text, made a control token and an end-of-generation token, as llama.cpp does.
        // (llama.cpp takes the first candidate in hash order; here the lowest id)
        XCTAssertEqual(tok.eotId, n + 2)
        XCTAssertTrue(tok.isControl(n + 4))
        XCTAssertEqual(tok.endOfGenerationIds, [n + 1, n + 2, n + 4])
        XCTAssertTrue(tok.isEndOfGeneration(n + 1))
        XCTAssertFalse(tok.isEndOfGeneration(n))
        // Control tokens decode to nothing unless asked for.
        XCTAssertEqual(tok.decode([n, a, n + 1]), "a")
        XCTAssertEqual(tok.decode([n, a, n + 1], special: true), "<s>a</s>")
        XCTAssertEqual(tok.decode([n + 3]), "<tool>")
    }

    func testCleanSpacesForGPT2() throws {
        let tok = try BPETokenizer(tokens: vocab(), tokenTypes: [], merges: [], bosId: nil, eosId: nil,
                                   addBOS: false, addEOS: false, preTokenizer: "gpt-2")
        let ids = tok.encode("Hello , world . It 's", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(tok.decode(ids), "Hello, world. It's")
        // smollm does not clean spaces
        let smol = try BPETokenizer(tokens: vocab(), tokenTypes: [], merges: [], bosId: nil, eosId: nil,
                                    addBOS: false, addEOS: false, preTokenizer: "smollm")
        XCTAssertEqual(smol.decode(smol.encode("Hello , x", addSpecial: false, parseSpecial: false)), "Hello , x")
    }

    func testPieceDecodesByteLevel() throws {
        let tok = try BPETokenizer(tokens: vocab(extra: ["ĠâĤ¬"]), tokenTypes: [], merges: [], bosId: nil,
                                   eosId: nil, addBOS: false, addEOS: false, preTokenizer: "gpt-2")
        let euro = try XCTUnwrap(tok.tokenId(for: "ĠâĤ¬"))
        XCTAssertEqual(tok.piece(euro), Array(" €".utf8))
        XCTAssertEqual(tok.piece(-1), [])
        XCTAssertEqual(tok.piece(Int32(tok.vocabSize)), [])
        XCTAssertNil(tok.tokenText(Int32(tok.vocabSize)))
    }

    /// Streaming never emits half a character: a 4-byte emoji fed one byte-token at a time comes out whole.
    func testDetokenizerHoldsIncompleteCharacters() throws {
        let tok = try BPETokenizer(tokens: vocab(), tokenTypes: [], merges: [], bosId: nil, eosId: nil,
                                   addBOS: false, addEOS: false, preTokenizer: "gpt-2")
        let text = "a😀中é"
        let ids = tok.encode(text, addSpecial: false, parseSpecial: false)
        XCTAssertEqual(ids.count, text.utf8.count)  // one token per byte: every character is split
        var d = tok.makeDetokenizer()
        var chunks: [String] = []
        for id in ids {
            let s = d.append(id)
            if !s.isEmpty { chunks.append(s) }
            XCTAssertFalse(s.contains("\u{FFFD}"))
        }
        XCTAssertEqual(chunks, ["a", "😀", "中", "é"])
        XCTAssertEqual(d.flush(), "")

        var raw = Detokenizer(tokenizer: tok)
        XCTAssertEqual(raw.append(bytes: [0xF0, 0x9F]), "")
        XCTAssertEqual(raw.pendingBytes, [0xF0, 0x9F])
        XCTAssertEqual(raw.append(bytes: [0x98, 0x80, 0x41]), "😀A")
        XCTAssertEqual(raw.append(bytes: [0xFF]), "\u{FFFD}")  // can never be completed: not held
        XCTAssertEqual(raw.append(bytes: [0xE4, 0xB8]), "")
        XCTAssertEqual(raw.flush(), "\u{FFFD}")  // an incomplete character at the end
    }

    // MARK: metadata

    private func metadata(_ overrides: [String: MetadataValue?]) -> (String) -> MetadataValue? {
        var base: [String: MetadataValue] = [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("llama-bpe"),
            "tokenizer.ggml.tokens": .array(vocab(extra: ["<|begin_of_text|>", "<|eot_id|>"]).map { .string($0) }),
            "tokenizer.ggml.merges": .array([.string("a b")]),
            "tokenizer.ggml.bos_token_id": .uint32(256),
            "tokenizer.ggml.eos_token_id": .uint32(257),
        ]
        for (k, v) in overrides { base[k] = v }
        return { base[$0] }
    }

    func testMetadataInit() throws {
        let tok = try BPETokenizer(metadata: metadata([:]))
        XCTAssertEqual(tok.vocabSize, 258)
        XCTAssertEqual(tok.preTokenizer.kind, .llama3)
        XCTAssertTrue(tok.addBOS)  // llama3 pre-tokenizers add BOS unless add_bos_token says otherwise
        XCTAssertEqual(tok.encode("ab", addSpecial: true, parseSpecial: false), [256, try XCTUnwrap(tok.tokenId(for: "a")), try XCTUnwrap(tok.tokenId(for: "b"))])
        let noBOS = try BPETokenizer(metadata: metadata(["tokenizer.ggml.add_bos_token": .bool(false)]))
        XCTAssertFalse(noBOS.addBOS)
        XCTAssertTrue(noBOS.isEndOfGeneration(257))
    }

    func testMetadataErrorsNameTheKey() {
        func check(_ overrides: [String: MetadataValue?], _ expected: TokenizerError, line: UInt = #line) {
            XCTAssertThrowsError(try BPETokenizer(metadata: metadata(overrides)), line: line) { error in
                XCTAssertEqual(error as? TokenizerError, expected, line: line)
            }
        }
        check(["tokenizer.ggml.model": nil], .missingKey("tokenizer.ggml.model"))
        check(["tokenizer.ggml.model": .string("llama")], .unsupportedModel("llama"))
        check(["tokenizer.ggml.pre": .string("mystery")], .unknownPreTokenizer("mystery"))
        check(["tokenizer.ggml.tokens": nil], .missingKey("tokenizer.ggml.tokens"))
        check(["tokenizer.ggml.merges": nil], .missingKey("tokenizer.ggml.merges"))
        check(["tokenizer.ggml.tokens": .string("x")],
              .invalidValue(key: "tokenizer.ggml.tokens", expected: "a string array", found: "string \"x\""))
        check(["tokenizer.ggml.merges": .array([.int32(1)])],
              .invalidValue(key: "tokenizer.ggml.merges[0]", expected: "a string", found: "integer 1"))
        check(["tokenizer.ggml.token_type": .array([.int32(1)])],
              .invalidValue(key: "tokenizer.ggml.token_type", expected: "258 entries (one per token)", found: "1"))
        check(["tokenizer.ggml.bos_token_id": .string("1")],
              .invalidValue(key: "tokenizer.ggml.bos_token_id", expected: "an integer token id", found: "string \"1\""))
        XCTAssertThrowsError(try BPETokenizer(metadata: metadata(["tokenizer.ggml.pre": .string("mystery")]))) {
            XCTAssertTrue("\($0)".contains("'mystery'"))
        }
    }
}
