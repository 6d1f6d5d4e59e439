import Foundation
import XCTest
@testable import HearthStore

/// The store on the real SmolLM2 file, in a temporary root.
final class ModelStoreTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let smollm2 = repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let smollm2SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

    var tmp: URL!
    var store: ModelStore!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        store = ModelStore(root: tmp.appendingPathComponent("models"))
        // A missing model fails the test (never a skip): scripts/test fetches it.
        guard FileManager.default.fileExists(atPath: Self.smollm2) else {
            throw StoreError.io(path: Self.smollm2, message: "missing: run scripts/fetch-model smollm2")
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func blobNames() -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: store.blobsDirectory.path)) ?? []).filter { $0.hasPrefix("sha256-") })
    }

    func testCreateListResolveCopyRemove() throws {
        var mf = try Modelfile.parse("""
            FROM ./smol.gguf
            PARAMETER temperature 0
            PARAMETER stop <|im_end|>
            SYSTEM You are terse.
            MESSAGE user Hi
            LICENSE Apache-2.0
            """)
        try FileManager.default.createSymbolicLink(atPath: tmp.appendingPathComponent("smol.gguf").path, withDestinationPath: Self.smollm2)
        var events: [String] = []
        let name = try ModelName(parsing: "smollm2:135m")
        try store.create(name, modelfile: mf, baseDirectory: tmp) { s in
            switch s {
            case .gathering: events.append("gathering")
            case .copying(let d, let done, let total): if done == total { events.append("copied \(d)") }
            case .writingManifest: events.append("manifest")
            case .success: events.append("success")
            default: break
            }
        }
        XCTAssertEqual(events, ["gathering", "copied sha256:\(Self.smollm2SHA)", "manifest", "success"])

        let blob = store.blobsDirectory.appendingPathComponent("sha256-\(Self.smollm2SHA)").path
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: blob)[.size] as? Int, 98_362_432)
        let manifestURL = store.manifestsDirectory.appendingPathComponent("registry.ollama.ai/library/smollm2/135m")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        XCTAssertEqual(json["schemaVersion"] as? Int, 2)
        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.map { $0["mediaType"] as? String }, [
            "application/vnd.ollama.image.model", "application/vnd.ollama.image.system",
            "application/vnd.ollama.image.params", "application/vnd.ollama.image.messages",
            "application/vnd.ollama.image.license",
        ])
        XCTAssertEqual(layers[0]["digest"] as? String, "sha256:\(Self.smollm2SHA)")

        let list = try store.list()
        XCTAssertEqual(list.map(\.name.description), ["smollm2:135m"])
        XCTAssertEqual(list[0].id.count, 12)
        XCTAssertEqual(list[0].id, String(sha256Hex(try Data(contentsOf: manifestURL)).prefix(12)))
        let config = try XCTUnwrap(store.config(list[0]))
        XCTAssertEqual(config.modelFamily, "llama")
        XCTAssertEqual(config.fileType, "Q4_1")

        let r = try store.resolve("smollm2:135m")
        XCTAssertEqual(r.path, blob)
        XCTAssertEqual(r.parameters.temperature, 0)
        XCTAssertEqual(r.parameters.stop, ["<|im_end|>"])
        XCTAssertEqual(r.system, "You are terse.")
        XCTAssertEqual(r.messages, [.init(role: "user", content: "Hi")])
        XCTAssertEqual(r.licenses, ["Apache-2.0"])
        XCTAssertNil(r.template)
        // The Modelfile show --modelfile prints parses back to the same settings, FROM the blob.
        mf.from = blob
        XCTAssertEqual(try Modelfile.parse(r.renderModelfile()), mf)
        // A plain path resolves to itself with no settings.
        XCTAssertEqual(try store.resolve(Self.smollm2).path, Self.smollm2)
        XCTAssertThrowsError(try store.resolve(tmp.appendingPathComponent("none.gguf").path))
        XCTAssertThrowsError(try store.resolve("absent:latest")) { XCTAssertTrue("\($0)".contains("not found"), "\($0)") }

        // A derived model FROM the stored one shares the model blob and overrides one setting.
        let derived = try ModelName(parsing: "me/terse:v2")
        try store.create(derived, modelfile: try Modelfile.parse("FROM smollm2:135m\nPARAMETER temperature 0.5"), baseDirectory: tmp)
        let d = try store.resolve("me/terse:v2")
        XCTAssertEqual(d.path, blob)
        XCTAssertEqual(d.parameters.temperature, 0.5)
        XCTAssertEqual(d.parameters.stop, ["<|im_end|>"])
        XCTAssertEqual(d.system, "You are terse.")

        let copy = try ModelName(parsing: "copy")
        try store.copy(name, to: copy)
        XCTAssertEqual(try store.require(copy).id, try store.require(name).id)
        XCTAssertEqual(try store.list().count, 3)

        let blobsBefore = blobNames()
        try store.remove(name)
        XCTAssertEqual(blobNames(), blobsBefore, "blobs still used by copy and derived were removed")
        try store.remove(copy)
        XCTAssertTrue(blobNames().contains("sha256-\(Self.smollm2SHA)"), "the model blob is still used by derived")
        try store.remove(derived)
        XCTAssertEqual(blobNames(), [], "unreferenced blobs were left")
        XCTAssertEqual(try store.list().count, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.manifestsDirectory.path), [])
        XCTAssertThrowsError(try store.remove(name)) { XCTAssertTrue("\($0)".contains("not found")) }
    }

    func testCreateRejectsNonGGUFAndMissingFiles() throws {
        let text = tmp.appendingPathComponent("notes.gguf")
        try Data("not a model".utf8).write(to: text)
        let name = try ModelName(parsing: "x")
        XCTAssertThrowsError(try store.create(name, modelfile: Modelfile(from: "notes.gguf"), baseDirectory: tmp)) {
            XCTAssertTrue("\($0)".contains("notes.gguf"), "\($0)")
        }
        XCTAssertThrowsError(try store.create(name, modelfile: Modelfile(from: "./missing.gguf"), baseDirectory: tmp)) {
            XCTAssertTrue("\($0)".contains("missing.gguf") && "\($0)".contains("no such file"), "\($0)")
        }
        XCTAssertThrowsError(try store.create(name, modelfile: Modelfile(from: "nomodel:here"), baseDirectory: tmp)) {
            XCTAssertTrue("\($0)".contains("not found"), "\($0)")
        }
        XCTAssertEqual(try store.list().count, 0)
        XCTAssertEqual(blobNames(), [])
    }

    /// A temporary file of a writer that no longer runs is removed; one of a live writer is kept.
    func testStaleTemporariesRemoved() throws {
        try FileManager.default.createDirectory(at: store.blobsDirectory, withIntermediateDirectories: true)
        let dead = store.blobsDirectory.appendingPathComponent(".tmp-999999999-x")
        let live = store.blobsDirectory.appendingPathComponent(".tmp-\(getppid())-y")
        try Data([1]).write(to: dead)
        try Data([1]).write(to: live)
        store.removeStaleTemporaries()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path))
    }

    func testPickGGUF() throws {
        let files = ["README.md.gguf.txt", "m-Q4_K_M.gguf", "m-Q4_K.gguf", "m-Q8_0.gguf", "mmproj-m-f16.gguf", "sub/m-IQ4_XS.gguf"]
        let ggufs = files.filter { $0.hasSuffix(".gguf") }
        XCTAssertEqual(try Puller.pickGGUF(ggufs, quant: nil, repo: "o/r"), "m-Q4_K_M.gguf")
        XCTAssertEqual(try Puller.pickGGUF(ggufs, quant: "q8_0", repo: "o/r"), "m-Q8_0.gguf")
        XCTAssertEqual(try Puller.pickGGUF(ggufs, quant: "Q4_K", repo: "o/r"), "m-Q4_K.gguf")
        XCTAssertEqual(try Puller.pickGGUF(ggufs, quant: "iq4_xs", repo: "o/r"), "sub/m-IQ4_XS.gguf")
        XCTAssertEqual(try Puller.pickGGUF(["b-Q8_0.gguf", "a-Q5_0.gguf"], quant: nil, repo: "o/r"), "a-Q5_0.gguf")
        XCTAssertThrowsError(try Puller.pickGGUF(ggufs, quant: "Q2_K", repo: "o/r")) {
            XCTAssertTrue("\($0)".contains("Q2_K") && "\($0)".contains("m-Q8_0.gguf"), "\($0)")
        }
        XCTAssertThrowsError(try Puller.pickGGUF(["mmproj.gguf"], quant: nil, repo: "o/r"))
        XCTAssertEqual(try Puller.derivedName("SmolLM2-135M-Instruct.Q4_1.gguf").description, "smollm2-135m-instruct.q4_1:latest")
    }

    func testFormatting() {
        XCTAssertEqual(HumanFormat.bytes(98_362_432 + 700), "98 MB")
        XCTAssertEqual(HumanFormat.bytes(1_500_000_000), "1.5 GB")
        XCTAssertEqual(HumanFormat.bytes(999), "999 B")
        let now = Date()
        XCTAssertEqual(HumanFormat.ago(now.addingTimeInterval(-2), now: now), "2 seconds ago")
        XCTAssertEqual(HumanFormat.ago(now.addingTimeInterval(-90), now: now), "About a minute ago")
        XCTAssertEqual(HumanFormat.ago(now.addingTimeInterval(-3 * 86400), now: now), "3 days ago")
        let bar = HumanFormat.progressBar(done: 50_000_000, total: 100_000_000, bytesPerSecond: 10_000_000, eta: 5)
        XCTAssertTrue(bar.hasPrefix(" 50% ▕"), bar)
        XCTAssertTrue(bar.hasSuffix("50 MB/100 MB  10 MB/s  5s"), bar)
        XCTAssertEqual(FileDownloadDelegate.parseContentRange("bytes 100-199/200")?.start, 100)
        XCTAssertEqual(FileDownloadDelegate.parseContentRange("bytes 100-199/200")?.total, 200)
        XCTAssertNil(FileDownloadDelegate.parseContentRange("items 1-2/3"))
    }
}
