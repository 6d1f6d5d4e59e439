import Foundation
import HearthFormats
import HearthTokenizers
import XCTest

/// tokenizer.json (WordPiece + BERT normalizer) against sentence-transformers' input_ids, and malformed files.
final class TokenizerJSONTests: XCTestCase {
    static let minilm = TestPaths.models.appendingPathComponent("all-MiniLM-L6-v2/tokenizer.json").path

    struct Reference: Decodable {
        struct Item: Decodable { let id: Int; let text: String; let input_ids: [Int32] }
        let max_seq_length: Int
        let items: [Item]
    }

    func testMiniLMInputIdsMatchSentenceTransformers() throws {
        let tok = try TokenizerJSON(path: Self.minilm)
        let data = try Data(contentsOf: TestPaths.reference.appendingPathComponent("embeddings-minilm.json"))
        let ref = try JSONDecoder().decode(Reference.self, from: data)
        XCTAssertEqual(ref.items.count, 60)
        for item in ref.items {
            let ids = tok.encode(item.text, maxLength: ref.max_seq_length)
            XCTAssertEqual(ids, item.input_ids, "text \(item.id): \(item.text.debugDescription.prefix(80))")
        }
    }

    func testBertNormalizerStages() {
        let n = BertNormalizer()
        XCTAssertEqual(n.normalize("Héllo WÖRLD"), "hello world")
        XCTAssertEqual(n.normalize("a\u{0}b\u{200D}c\u{FFFD}d"), "abcd")   // NUL, Cf, U+FFFD dropped
        XCTAssertEqual(n.normalize("a\tb\u{3000}c\nd"), "a b c d")           // White_Space → space
        XCTAssertEqual(n.normalize("中文"), " 中  文 ")                        // CJK spaced
        XCTAssertEqual(BertNormalizer(lowercase: false).normalize("Émile"), "Émile")  // strip_accents follows lowercase
        XCTAssertEqual(BertPreTokenizer.split("hi, there$!").map { String(String.UnicodeScalarView($0)) }, ["hi", ",", "there", "$", "!"])
    }

    func testAddedTokensMatchedInRawText() throws {
        let tok = try TokenizerJSON(path: Self.minilm)
        XCTAssertEqual(tok.encode("[CLS] hi [SEP]", addSpecial: false), [101, 7632, 102])
        XCTAssertEqual(tok.encode("", addSpecial: true), [101, 102])
        XCTAssertEqual(tok.encode(String(repeating: "word ", count: 600), maxLength: 256).count, 256)
        XCTAssertEqual(tok.encode(String(repeating: "x", count: 101), addSpecial: false), [100])  // over max_input_chars_per_word
    }

    func assertRejects(_ json: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try TokenizerJSON(data: Data(json.utf8), path: "bad-tokenizer.json")
            XCTFail("expected an error", file: file, line: line)
        } catch let e as TokenizerJSONError {
            XCTAssertTrue(e.description.contains("bad-tokenizer.json"), "\(e)", file: file, line: line)
            for m in mentions { XCTAssertTrue(e.description.contains(m), "'\(e)' should mention '\(m)'", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testMalformedFilesGiveClearErrors() {
        let vocab = #""vocab": {"[UNK]": 0, "a": 1}"#
        assertRejects("{", mentions: ["not valid JSON"])
        assertRejects("[]", mentions: ["expected an object"])
        assertRejects(String(repeating: "[", count: 100_000), mentions: ["nested deeper"])
        assertRejects(#"{"normalizer": null}"#, mentions: ["model"])
        assertRejects(#"{"model": {"type": "Mystery"}}"#, mentions: ["model.type", "Mystery"])
        assertRejects(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#, mentions: ["model.type", "BPE"])
        assertRejects(#"{"model": {"type": "WordPiece"}}"#, mentions: ["model.vocab"])
        assertRejects(#"{"model": {"type": "WordPiece", "vocab": {"a": "x"}}}"#, mentions: ["model.vocab 'a'"])
        assertRejects(#"{"model": {"type": "WordPiece", "vocab": {"a": 1}, "unk_token": "[UNK]"}}"#, mentions: ["unk_token"])
        assertRejects(#"{"model": {"type": "WordPiece", \#(vocab)}, "normalizer": {"type": "NFKC"}}"#, mentions: ["normalizer.type", "NFKC"])
        assertRejects(#"{"model": {"type": "WordPiece", \#(vocab)}, "normalizer": {"type": "BertNormalizer", "lowercase": 3}}"#, mentions: ["normalizer.lowercase"])
        assertRejects(#"{"model": {"type": "WordPiece", \#(vocab)}, "pre_tokenizer": {"type": "Metaspace"}}"#, mentions: ["pre_tokenizer.type"])
        assertRejects(#"{"model": {"type": "WordPiece", \#(vocab)}, "post_processor": {"type": "ByteLevel"}}"#, mentions: ["post_processor.type"])
        assertRejects(#"{"model": {"type": "WordPiece", \#(vocab)}, "added_tokens": [{"id": -1, "content": "x"}]}"#, mentions: ["added_tokens[0]"])
    }

    /// Random byte changes to the real tokenizer.json's head: each load either works or throws, never crashes.
    func testRandomCorruptionsNeverCrash() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.minilm))
        let head = Array(good.prefix(4000))
        let tailStart = good.count - 2000
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            var bytes = Array(good)
            for _ in 0..<3 {
                let at = Bool.random(using: &rng) ? Int.random(in: 0..<head.count, using: &rng) : Int.random(in: tailStart..<good.count, using: &rng)
                bytes[at] = UInt8.random(in: 0...255, using: &rng)
            }
            if let tok = try? TokenizerJSON(data: Data(bytes), path: "fuzz.json") {
                _ = tok.encode("Hello, world! [CLS] héllo 中文")
            }
        }
    }
}
