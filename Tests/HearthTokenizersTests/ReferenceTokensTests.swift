import Foundation
import HearthFormats
import HearthTokenizers
import XCTest

/// Paths of the shared reference files and models: `<repo root>/../shared` and `<repo root>/models`, where the repo
/// root is the folder holding Package.swift.
enum TestPaths {
    static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    }()
    static let shared = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let reference = shared.appendingPathComponent("reference")
    static let models = repoRoot.appendingPathComponent("models")
}

/// One reference file `tokens-{model}.json`: llama.cpp `llama-tokenize --ids --no-escape --no-bos` per text.
struct TokenReference: Decodable {
    struct Entry: Decodable {
        let id: Int
        let text: String
        let plain: [Int32]
        let special: [Int32]
    }
    let model: String
    let texts: [Entry]
}

/// Loads tokenizers once per test process (the vocabularies take a moment to build).
final class TokenizerCache: @unchecked Sendable {
    static let shared = TokenizerCache()
    private let lock = NSLock()
    private var loaded: [String: BPETokenizer] = [:]

    func tokenizer(model file: String) throws -> BPETokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = loaded[file] { return t }
        let path = TestPaths.models.appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModelError("model \(path) is missing: run scripts/fetch-model to download it")
        }
        let gguf = try GGUFFile(path: path)
        let t = try BPETokenizer(metadata: { gguf.metadata($0) })
        loaded[file] = t
        return t
    }

    private var loadedAny: [String: any Tokenizer] = [:]

    /// The tokenizer `makeTokenizer` picks for a model file (any vocabulary type).
    func anyTokenizer(model file: String) throws -> any Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = loadedAny[file] { return t }
        let path = TestPaths.models.appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModelError("model \(path) is missing: run scripts/fetch-model to download it")
        }
        let gguf = try GGUFFile(path: path)
        let t = try makeTokenizer(metadata: { gguf.metadata($0) })
        loadedAny[file] = t
        return t
    }
}

/// A missing model file: the test fails (not skips) with this message.
struct MissingModelError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

final class ReferenceTokensTests: XCTestCase {
    static let smollm = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let qwen = "qwen2.5-coder-0.5b-instruct.gguf"

    private func load(_ model: String) -> BPETokenizer? {
        do {
            return try TokenizerCache.shared.tokenizer(model: model)
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    private func reference(_ name: String) throws -> TokenReference {
        let url = TestPaths.reference.appendingPathComponent(name)
        return try JSONDecoder().decode(TokenReference.self, from: Data(contentsOf: url))
    }

    /// Every corpus text, plain and with special tokens parsed, must give llama.cpp's ids exactly.
    private func checkAll(model: String, reference file: String) throws {
        guard let tok = load(model) else { return }
        let ref = try reference(file)
        XCTAssertGreaterThan(ref.texts.count, 100)
        var plainOK = 0, specialOK = 0
        for e in ref.texts {
            let plain = tok.encode(e.text, addSpecial: false, parseSpecial: false)
            let special = tok.encode(e.text, addSpecial: false, parseSpecial: true)
            if plain == e.plain { plainOK += 1 } else {
                XCTFail("\(model) text \(e.id) plain: got \(plain.prefix(40)) expected \(e.plain.prefix(40)) for \(e.text.debugDescription.prefix(120))")
            }
            if special == e.special { specialOK += 1 } else {
                XCTFail("\(model) text \(e.id) special: got \(special.prefix(40)) expected \(e.special.prefix(40)) for \(e.text.debugDescription.prefix(120))")
            }
        }
        print("\(model): plain \(plainOK)/\(ref.texts.count), special \(specialOK)/\(ref.texts.count) texts identical")
    }

    func testSmolLM2MatchesLlamaCpp() throws {
        try checkAll(model: Self.smollm, reference: "tokens-smollm2.json")
    }

    func testQwen25CoderMatchesLlamaCpp() throws {
        try checkAll(model: Self.qwen, reference: "tokens-qwen25coder.json")
    }

    /// Decoding the ids of each corpus text gives the text back (for models without clean_spaces).
    func testDecodeRoundTripsCorpus() throws {
        for model in [Self.smollm, Self.qwen] {
            guard let tok = load(model) else { continue }
            XCTAssertFalse(tok.preTokenizer.cleanSpaces)
            let ref = try reference(model == Self.smollm ? "tokens-smollm2.json" : "tokens-qwen25coder.json")
            for e in ref.texts {
                XCTAssertEqual(tok.decode(e.plain), e.text, "\(model) text \(e.id)")
                XCTAssertEqual(tok.decode(e.special, special: true), e.text, "\(model) text \(e.id) (special)")
                var detok = tok.makeDetokenizer(special: true)
                var streamed = ""
                for id in e.special { streamed += detok.append(id) }
                streamed += detok.flush()
                XCTAssertEqual(streamed, e.text, "\(model) text \(e.id) (streamed)")
            }
        }
    }

    /// Emoji and CJK split across SmolLM2 tokens stream out as whole characters.
    func testStreamingSplitsNoCharacter() throws {
        guard let tok = load(Self.smollm) else { return }
        let text = "😀 中文测试 🎉👍🏽 日本語のテキスト"
        let ids = tok.encode(text, addSpecial: false, parseSpecial: false)
        let splitting = ids.filter { String(validating: tok.piece($0), as: UTF8.self) == nil }
        XCTAssertFalse(splitting.isEmpty, "expected some tokens to hold partial characters")
        var detok = tok.makeDetokenizer()
        var out = ""
        for id in ids {
            let chunk = detok.append(id)
            XCTAssertFalse(chunk.contains("\u{FFFD}"), "half a character emitted")
            out += chunk
        }
        XCTAssertTrue(detok.pendingBytes.isEmpty)
        XCTAssertEqual(out, text)
    }

    /// The GPL text used for perplexity must tokenize well under a second (release build).
    func testPerformanceOnPerplexityText() throws {
        guard let tok = load(Self.smollm) else { return }
        let text = try String(contentsOf: TestPaths.reference.appendingPathComponent("ppl-public.txt"), encoding: .utf8)
        let start = Date()
        let ids = tok.encode(text, addSpecial: false, parseSpecial: false)
        let elapsed = Date().timeIntervalSince(start)
        print("tokenized \(text.utf8.count) bytes into \(ids.count) tokens in \(Int(elapsed * 1000)) ms")
        XCTAssertGreaterThan(ids.count, 5000)
        XCTAssertLessThan(elapsed, 0.5)
        XCTAssertEqual(tok.decode(ids), text)
    }

    func testSmolLM2Vocabulary() throws {
        guard let tok = load(Self.smollm) else { return }
        XCTAssertEqual(tok.vocabSize, 49152)
        XCTAssertEqual(tok.preTokenizer.kind, .starcoder)
        XCTAssertEqual(tok.bosId, 1)
        XCTAssertEqual(tok.eosId, 2)
        XCTAssertFalse(tok.addBOS)
        XCTAssertEqual(tok.tokenId(for: "<|im_start|>"), 1)
        XCTAssertEqual(tok.tokenText(2), "<|im_end|>")
        // llama.cpp's EOG set for SmolLM2: <|endoftext|>, <|im_end|>, and <reponame> (its FIM repo token).
        XCTAssertEqual(tok.endOfGenerationIds, [0, 2, 4])
        XCTAssertTrue(tok.isEndOfGeneration(2))
        XCTAssertFalse(tok.isEndOfGeneration(1))
        XCTAssertTrue(tok.isControl(1))
        XCTAssertEqual(tok.piece(1), [])
        XCTAssertEqual(tok.piece(1, special: true), Array("<|im_start|>".utf8))
        XCTAssertEqual(tok.encode("hi", addSpecial: true, parseSpecial: false), tok.encode("hi", addSpecial: false, parseSpecial: false))
    }

    func testQwenVocabulary() throws {
        guard let tok = load(Self.qwen) else { return }
        XCTAssertEqual(tok.vocabSize, 151936)
        XCTAssertEqual(tok.preTokenizer.kind, .qwen2)
        XCTAssertEqual(tok.eosId, 151645)
        for text in ["<|im_end|>", "<|endoftext|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"] {
            let id = try XCTUnwrap(tok.tokenId(for: text))
            XCTAssertTrue(tok.isEndOfGeneration(id), text)
        }
        XCTAssertFalse(tok.isEndOfGeneration(try XCTUnwrap(tok.tokenId(for: "<|im_start|>"))))
        // User-defined tokens are matched even when special tokens are not parsed, and decode as their text.
        let call = try XCTUnwrap(tok.tokenId(for: "<tool_call>"))
        XCTAssertEqual(tok.encode("<tool_call>", addSpecial: false, parseSpecial: false), [call])
        XCTAssertEqual(tok.decode([call]), "<tool_call>")
    }
}
