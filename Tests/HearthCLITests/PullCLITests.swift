import Foundation
import XCTest

/// `hearth pull` against Tests/Fixtures/hf_fixture_server.py, a loopback stand-in for the Hugging Face Hub
/// (tree API, LFS redirects, Range requests), pointed to by HF_ENDPOINT.
final class PullCLITests: XCTestCase {
    static let smollm2SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    var tmp: URL!
    var server: Process?
    var port = 0
    var controlFile: URL { tmp.appendingPathComponent("control.json") }
    var logFile: URL { tmp.appendingPathComponent("requests.log") }
    var storeRoot: URL { tmp.appendingPathComponent("store") }
    var env: [String: String] { ["HEARTH_MODELS": storeRoot.path, "HF_ENDPOINT": "http://127.0.0.1:\(port)"] }

    override func setUpWithError() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-pull-\(UUID().uuidString)")
        let repo = tmp.appendingPathComponent("hub/testowner/SmolLM2-GGUF")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent(Self.fileName).path, withDestinationPath: CLI.smollm2)
        try Data("# SmolLM2\n".utf8).write(to: repo.appendingPathComponent("README.md"))
        try Data("not really a model".utf8).write(to: repo.appendingPathComponent("SmolLM2-135M-Instruct.Q8_0.gguf"))
        try setControl([:])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", CLI.repoRoot.appendingPathComponent("Tests/Fixtures/hf_fixture_server.py").path,
                       "--root", tmp.appendingPathComponent("hub").path, "--control", controlFile.path, "--log", logFile.path]
        let out = Pipe()
        p.standardOutput = out
        try p.runUnpinned()
        server = p
        // The first line is the port.
        var bytes = Data()
        while !bytes.contains(UInt8(ascii: "\n")) {
            let more = out.fileHandleForReading.availableData
            if more.isEmpty { break }
            bytes += more
        }
        let line = String(decoding: bytes, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Missing("the fixture server did not start (printed \(line.debugDescription)); is python3 installed?")
        }
        self.port = port
    }

    override func tearDownWithError() throws {
        if let s = server, s.isRunning {
            s.terminate()
            s.waitUntilExit()
        }
        if let t = tmp { try? FileManager.default.removeItem(at: t) }
    }

    func setControl(_ c: [String: Any]) throws {
        try JSONSerialization.data(withJSONObject: c).write(to: controlFile)
    }

    func requests() -> [[String: Any]] {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func hearth(_ args: [String]) throws -> CLI.Result {
        let r = try CLI.run(args, environment: env)
        XCTAssertFalse(r.crashed, "crashed: \(args): \(r.stderr)")
        return r
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: storeRoot.appendingPathComponent(sub).path)) ?? []).sorted()
    }

    func listedNames() throws -> [String] {
        let r = try hearth(["list"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.out.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Interrupted mid-body, then run again: the second run asks only for the rest, and the result is the exact
    /// file, installed under Ollama's hf.co name, and it tokenizes and runs.
    func testInterruptedPullResumes() throws {
        try setControl(["interrupt_after": 30_000_000])
        let first = try hearth(["pull", "hf.co/testowner/SmolLM2-GGUF:Q4_1"])
        XCTAssertNotEqual(first.status, 0, "an interrupted pull succeeded: \(first.stderr)")
        XCTAssertTrue(first.stderr.contains("interrupted") && first.stderr.contains("resume"), first.stderr)
        XCTAssertEqual(try listedNames(), [], "an interrupted pull installed a model")
        let partials = files("partial").filter { $0.hasSuffix(".partial") }
        XCTAssertEqual(partials.count, 1)
        // What reached the client before the connection dropped (the HTTP client may lose the last buffered bytes).
        let partialSize = try XCTUnwrap(try FileManager.default.attributesOfItem(
            atPath: storeRoot.appendingPathComponent("partial/\(partials[0])").path)[.size] as? Int)
        XCTAssertTrue(partialSize > 1_000_000 && partialSize <= 30_000_000, "partial file of \(partialSize) bytes")

        try setControl([:])
        let second = try hearth(["pull", "hf.co/testowner/SmolLM2-GGUF:Q4_1"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming at"), second.stderr)
        XCTAssertTrue(second.stderr.contains("100% ▕"), second.stderr)
        XCTAssertTrue(second.stderr.hasSuffix("success\n"), second.stderr)
        XCTAssertEqual(second.out, "hf.co/testowner/SmolLM2-GGUF:Q4_1\n")
        let downloads = requests().filter { ($0["path"] as? String)?.hasPrefix("/cdn/") == true }
        XCTAssertEqual(downloads.map { $0["range"] as? String }, [nil, "bytes=\(partialSize)-"],
                       "the second run must ask for the rest only")
        XCTAssertTrue(requests().contains { ($0["path"] as? String)?.hasPrefix("/api/models/testowner/SmolLM2-GGUF/tree/main") == true })

        XCTAssertEqual(try listedNames(), ["hf.co/testowner/SmolLM2-GGUF:Q4_1"])
        XCTAssertTrue(files("blobs").contains("sha256-\(Self.smollm2SHA)"), "\(files("blobs"))")
        XCTAssertEqual(files("partial"), [], "the partial download was left behind")
        // The blob's own bytes hash to the expected digest.
        let sum = Process()
        sum.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sum.arguments = ["sha256sum", storeRoot.appendingPathComponent("blobs/sha256-\(Self.smollm2SHA)").path]
        let pipe = Pipe()
        sum.standardOutput = pipe
        try sum.run()
        let digest = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sum.waitUntilExit()
        XCTAssertTrue(digest.hasPrefix(Self.smollm2SHA), digest)

        let name = "hf.co/testowner/SmolLM2-GGUF:Q4_1"
        let tokens = try hearth(["tokenize", name, "The capital of France is"])
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        XCTAssertEqual(tokens.out, try hearth(["tokenize", CLI.smollm2, "The capital of France is"]).out)
        let run = try hearth(["run", name, "The capital of France is", "--raw", "--temperature", "0", "--num-predict", "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let direct = try hearth(["run", CLI.smollm2, "The capital of France is", "--raw", "--temperature", "0", "--num-predict", "4"])
        XCTAssertEqual(run.out, direct.out)
        XCTAssertFalse(run.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    /// A digest that does not match installs nothing, keeps no partial file, and says so in one line.
    func testWrongDigestInstallsNothing() throws {
        try setControl(["wrong_digest": true])
        let r = try hearth(["pull", "hf.co/testowner/SmolLM2-GGUF:Q4_1"])
        XCTAssertNotEqual(r.status, 0)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errorLines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("sha256 mismatch") && r.stderr.contains("nothing was installed"), r.stderr)
        XCTAssertTrue(r.stderr.contains(Self.smollm2SHA), "the error should show the actual digest: \(r.stderr)")
        XCTAssertEqual(try listedNames(), [])
        XCTAssertEqual(files("blobs").filter { $0.hasPrefix("sha256-") }, [])
        XCTAssertEqual(files("partial"), [])
        XCTAssertEqual(files("manifests"), [])

        // A plain URL with a wrong --sha256: the same. With the right one (and the server's stated digest): installed.
        try setControl([:])
        let url = "http://127.0.0.1:\(port)/testowner/SmolLM2-GGUF/resolve/main/\(Self.fileName)"
        let wrong = try hearth(["pull", url, "--sha256", String(repeating: "ab", count: 32)])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("sha256 mismatch"), wrong.stderr)
        XCTAssertEqual(try listedNames(), [])
        let right = try hearth(["pull", url, "smol:direct", "--sha256", Self.smollm2SHA])
        XCTAssertEqual(right.status, 0, right.stderr)
        XCTAssertEqual(try listedNames(), ["smol:direct"])
        XCTAssertTrue(files("blobs").contains("sha256-\(Self.smollm2SHA)"))
    }

    func testBadSources() throws {
        for (source, needle) in [("hf.co/testowner/Missing-GGUF", "404"), ("hf.co/testowner/SmolLM2-GGUF:Q2_K", "no .gguf file for quantization Q2_K"),
                                 ("hf.co/onlyowner", "expected hf.co/OWNER/REPO"), ("ftp://x/y.gguf", "expected https://"),
                                 ("http://127.0.0.1:\(port)/cdn/testowner/SmolLM2-GGUF/README.md", "must name a .gguf"),
                                 ("http://127.0.0.1:\(port)/cdn/testowner/SmolLM2-GGUF/SmolLM2-135M-Instruct.Q8_0.gguf", "not a GGUF"),
                                 ("http://127.0.0.1:\(port)/cdn/nobody/none.gguf", "HTTP 404")] {
            let r = try hearth(["pull", source])
            XCTAssertNotEqual(r.status, 0, source)
            XCTAssertTrue(r.stderr.contains(needle), "\(source): \(r.stderr)")
        }
        XCTAssertEqual(try listedNames(), [])
        XCTAssertEqual(files("blobs").filter { $0.hasPrefix("sha256-") }, [])
    }
}
