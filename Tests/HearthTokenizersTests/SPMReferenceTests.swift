import Foundation
import HearthFormats
import HearthTensors
import HearthTokenizers
import XCTest

/// The SentencePiece tokenizer (`tokenizer.ggml.model = llama`) against llama.cpp on gemma-3-270m.
final class SPMReferenceTests: XCTestCase {
    static let gemma = "gemma-3-270m-q4_k_m.gguf"

    private func load() -> SPMTokenizer? {
        do {
            let t = try TokenizerCache.shared.anyTokenizer(model: Self.gemma)
            guard let spm = t as? SPMTokenizer else {
                XCTFail("makeTokenizer gave \(type(of: t)) for \(Self.gemma), expected SPMTokenizer")
                return nil
            }
            return spm
        } catch {
            XCTFail("\(error) (gemma3: run scripts/fetch-model gemma3)")
            return nil
        }
    }

    private func reference() throws -> TokenReference {
        let url = TestPaths.reference.appendingPathComponent("tokens-gemma3.json")
        return try JSONDecoder().decode(TokenReference.self, from: Data(contentsOf: url))
    }

    /// Every corpus text, plain and with special tokens parsed, must give llama.cpp's ids exactly.
    func testGemma3MatchesLlamaCpp() throws {
        guard let tok = load() else { return }
        let ref = try reference()
        XCTAssertEqual(ref.texts.count, 114)
        var plainOK = 0, specialOK = 0
        for e in ref.texts {
            let plain = tok.encode(e.text, addSpecial: false, parseSpecial: false)
            let special = tok.encode(e.text, addSpecial: false, parseSpecial: true)
            if plain == e.plain { plainOK += 1 } else {
                XCTFail("gemma3 text \(e.id) plain: got \(plain.prefix(40)) expected \(e.plain.prefix(40)) for \(e.text.debugDescription.prefix(120))")
            }
            if special == e.special { specialOK += 1 } else {
                XCTFail("gemma3 text \(e.id) special: got \(special.prefix(40)) expected \(e.special.prefix(40)) for \(e.text.debugDescription.prefix(120))")
            }
        }
        print("gemma3: plain \(plainOK)/\(ref.texts.count), special \(specialOK)/\(ref.texts.count) texts identical")
    }

    /// The greedy reference's prompt ids: BOS added, special tokens parsed.
    func testGemma3PromptIds() throws {
        guard let tok = load() else { return }
        struct Greedy: Decodable {
            struct Result: Decodable {
                let prompt: String
                let prompt_ids: [Int32]
            }
            let results: [Result]
        }
        let url = TestPaths.reference.appendingPathComponent("greedy-gemma3.json")
        let greedy = try JSONDecoder().decode(Greedy.self, from: Data(contentsOf: url))
        XCTAssertFalse(greedy.results.isEmpty)
        for r in greedy.results {
            XCTAssertEqual(tok.encode(r.prompt, addSpecial: true, parseSpecial: true), r.prompt_ids, r.prompt)
        }
    }

    /// Decoding the ids of each corpus text gives the text back (plain, special and streamed).
    func testGemma3DecodeRoundTrips() throws {
        guard let tok = load() else { return }
        for e in try reference().texts {
            XCTAssertEqual(tok.decode(e.plain), e.text, "gemma3 text \(e.id)")
            XCTAssertEqual(tok.decode(e.special, special: true), e.text, "gemma3 text \(e.id) (special)")
            var detok = tok.makeDetokenizer(special: true)
            var streamed = ""
            for id in e.special { streamed += detok.append(id) }
            streamed += detok.flush()
            XCTAssertEqual(streamed, e.text, "gemma3 text \(e.id) (streamed)")
        }
    }

    func testGemma3Vocabulary() throws {
        guard let tok = load() else { return }
        XCTAssertEqual(tok.vocabSize, 262144)
        XCTAssertEqual(tok.bosId, 2)
        XCTAssertEqual(tok.eosId, 1)
        XCTAssertEqual(tok.unknownId, 3)
        XCTAssertTrue(tok.addBOS)
        XCTAssertFalse(tok.addEOS)
        XCTAssertFalse(tok.addSpacePrefix)
        let start = try XCTUnwrap(tok.tokenId(for: "<start_of_turn>"))
        let end = try XCTUnwrap(tok.tokenId(for: "<end_of_turn>"))
        XCTAssertTrue(tok.isEndOfGeneration(end))
        XCTAssertTrue(tok.isEndOfGeneration(1))
        XCTAssertFalse(tok.isEndOfGeneration(start))
        XCTAssertFalse(tok.isEndOfGeneration(2))
        XCTAssertTrue(tok.isControl(start))
        // Control tokens: whole only when special tokens are parsed; rendered only when asked.
        XCTAssertEqual(tok.encode("<start_of_turn>user", addSpecial: false, parseSpecial: true).first, start)
        XCTAssertFalse(tok.encode("<start_of_turn>", addSpecial: false, parseSpecial: false).contains(start))
        XCTAssertEqual(tok.piece(start), [])
        XCTAssertEqual(tok.piece(start, special: true), Array("<start_of_turn>".utf8))
        // BOS first when special tokens are added; spaces are "▁"; bytes fall back to <0xNN>.
        XCTAssertEqual(tok.encode("Hello world", addSpecial: true, parseSpecial: false).first, 2)
        let world = tok.encode(" world", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(world.count, 1)
        XCTAssertEqual(tok.tokenText(world[0]), "▁world")
        XCTAssertEqual(tok.piece(world[0]), Array(" world".utf8))
        let byte = try XCTUnwrap(tok.tokenId(for: "<0x0A>"))
        XCTAssertEqual(tok.piece(byte), [0x0A])
        XCTAssertTrue(tok.encode("", addSpecial: false, parseSpecial: true).isEmpty)
        XCTAssertEqual(tok.encode("", addSpecial: true, parseSpecial: true), [2])
    }

    /// The GPL text used for perplexity must tokenize well under a second (release build).
    func testGemma3PerformanceOnPerplexityText() throws {
        guard let tok = load() else { return }
        let text = try String(contentsOf: TestPaths.reference.appendingPathComponent("ppl-public.txt"), encoding: .utf8)
        let start = Date()
        let ids = tok.encode(text, addSpecial: true, parseSpecial: true)
        let elapsed = Date().timeIntervalSince(start)
        print("gemma3: tokenized \(text.utf8.count) bytes into \(ids.count) tokens in \(Int(elapsed * 1000)) ms")
        XCTAssertGreaterThan(ids.count, 5000)
        XCTAssertLessThan(elapsed, 0.5)
        XCTAssertEqual(tok.decode(ids), text)
    }

    /// The factory picks by `tokenizer.ggml.model` and names an unknown value.
    func testFactoryChoosesByModel() throws {
        XCTAssertThrowsError(try makeTokenizer(metadata: { $0 == "tokenizer.ggml.model" ? .string("t5") : nil })) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedModel("t5"))
            XCTAssertTrue("\(error)".contains("'t5'"), "\(error)")
        }
        XCTAssertThrowsError(try makeTokenizer(metadata: { _ in nil })) { error in
            XCTAssertEqual(error as? TokenizerError, .missingKey("tokenizer.ggml.model"))
        }
        let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁ab", "<0x63>"]
        let meta: [String: MetadataValue] = [
            "tokenizer.ggml.model": .string("llama"),
            "tokenizer.ggml.tokens": .array(tokens.map { .string($0) }),
            "tokenizer.ggml.scores": .array([0, 0, 0, -1, -2, -2, -1.5, -0.5, 0].map { .float32($0) }),
            "tokenizer.ggml.token_type": .array([2, 3, 3, 1, 1, 1, 1, 1, 6].map { .int32($0) }),
        ]
        let t = try makeTokenizer(metadata: { meta[$0] })
        XCTAssertTrue(t is SPMTokenizer)
        // Defaults: BOS 1, add BOS, a space prefix (which decoding drops again); "c" falls back to its byte token.
        XCTAssertEqual(t.encode("ab abc", addSpecial: true, parseSpecial: false), [1, 7, 7, 8])
        XCTAssertEqual(t.decode([7, 7, 8]), "ab abc")
    }
}
