import Foundation
import XCTest

/// The store verbs through the binary, in a temporary HEARTH_MODELS, on the real SmolLM2 file.
final class StoreCLITests: XCTestCase {
    static let smollm2SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    var tmp: URL!
    var env: [String: String] = [:]
    var storeRoot: URL { tmp.appendingPathComponent("store") }

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-store-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        env = ["HEARTH_MODELS": storeRoot.path]
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    @discardableResult
    func hearth(_ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> CLI.Result {
        let r = try CLI.run(args, environment: env)
        XCTAssertFalse(r.crashed, "crashed: \(args)", file: file, line: line)
        XCTAssertEqual(r.status, 0, "\(args) failed: \(r.stderr)", file: file, line: line)
        return r
    }

    func fails(_ args: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args, environment: env)
        XCTAssertFalse(r.crashed, "crashed: \(args)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "\(args) succeeded", file: file, line: line)
        // Progress lines may come first; the error is one line, the last.
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("Error") }.count, 1, "not one error line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(lines.last?.hasPrefix("Error: ") == true, "the error is not the last line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "'\(r.stderr)' does not mention \(mentions)", file: file, line: line)
    }

    /// Rows of `hearth list` below its header.
    func listRows() throws -> [[String]] {
        let out = try hearth("list").out
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true), ["NAME", "ID", "SIZE", "MODIFIED"])
        return lines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    }

    func storeFiles(_ sub: String) -> [String] {
        let dir = storeRoot.appendingPathComponent(sub).path
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: dir)
        while let p = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    func writeModelfile(_ text: String, linking model: String = CLI.smollm2) throws -> String {
        let link = tmp.appendingPathComponent("model.gguf").path
        if !FileManager.default.fileExists(atPath: link) {
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: model)
        }
        let path = tmp.appendingPathComponent("Modelfile").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRoundTrip() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let modelfile = try writeModelfile("""
            # SmolLM2 with settings
            FROM ./model.gguf
            PARAMETER temperature 0
            PARAMETER num_predict 6
            PARAMETER stop "<|im_end|>"
            SYSTEM \"\"\"You are terse.\"\"\"
            TEMPLATE \"\"\"{% for m in messages %}{{ m.content }}{% endfor %}\"\"\"
            MESSAGE user Hi
            LICENSE \"\"\"Apache License 2.0\"\"\"
            """)
        let created = try hearth("create", "smollm2:135m", "-f", modelfile)
        let steps = created.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(steps.first, "gathering model components")
        XCTAssertTrue(steps.contains("copying file sha256:\(Self.smollm2SHA) 100%"), created.stderr)
        XCTAssertEqual(Array(steps.suffix(2)), ["writing manifest", "success"])

        var rows = try listRows()
        XCTAssertEqual(rows.count, 1)
        guard rows.count == 1, rows[0].count >= 4 else { return XCTFail("list: \(rows)") }
        XCTAssertEqual(rows[0][0], "smollm2:135m")
        let id = rows[0][1]
        XCTAssertTrue(id.count == 12 && id.allSatisfy(\.isHexDigit), id)
        XCTAssertEqual(Array(rows[0][2...3]), ["98", "MB"])
        XCTAssertTrue(rows[0].suffix(3).joined(separator: " ").hasSuffix("seconds ago") || rows[0].joined().contains("second"),
                      "\(rows[0])")
        XCTAssertEqual(try hearth("ls").out, try hearth("list").out)

        let show = try hearth("show", "smollm2:135m").out
        for needle in ["smollm2:135m", id, "architecture        llama", "quantization        q4_1", "Parameters",
                       "temperature", "You are terse.", "Apache License 2.0", "chat template       from the Modelfile"] {
            XCTAssertTrue(show.lowercased().contains(needle.lowercased()), "show lacks \(needle):\n\(show)")
        }
        XCTAssertEqual(try hearth("show", "smollm2:135m", "--system").out, "You are terse.\n")
        XCTAssertEqual(try hearth("show", "smollm2:135m", "--license").out, "Apache License 2.0\n")
        XCTAssertEqual(try hearth("show", "smollm2:135m", "--template").out, "{% for m in messages %}{{ m.content }}{% endfor %}\n")
        // chat-template takes a store name too, and uses the Modelfile's TEMPLATE over the GGUF's.
        let rendered = try CLI.run(["chat-template", "smollm2:135m"],
                                   stdin: Data(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "!"}]}"#.utf8),
                                   environment: env)
        XCTAssertEqual(rendered.status, 0, rendered.stderr)
        XCTAssertEqual(rendered.out, "Hi!")
        let params = try hearth("show", "smollm2:135m", "--parameters").out
        XCTAssertTrue(params.contains("temperature") && params.contains("\"<|im_end|>\"") && params.contains("num_predict"), params)
        let generated = try hearth("show", "smollm2:135m", "--modelfile").out
        let blob = storeRoot.appendingPathComponent("blobs/sha256-\(Self.smollm2SHA)").path
        XCTAssertTrue(generated.contains("FROM \(blob)\n"), generated)
        XCTAssertTrue(generated.contains("PARAMETER stop <|im_end|>\n"), generated)
        XCTAssertTrue(generated.contains("MESSAGE user \"\"\"Hi\"\"\"\n"), generated)
        // The generated Modelfile recreates the same model (same manifest, same ID).
        let again = tmp.appendingPathComponent("Modelfile.generated")
        try Data(generated.utf8).write(to: again)
        try hearth("create", "again", "-f", again.path)
        XCTAssertEqual(try listRows().first { $0[0] == "again:latest" }?[1], id)
        try hearth("rm", "again")

        // The store name works wherever a model path does, with the Modelfile's PARAMETERs as run defaults.
        XCTAssertEqual(try hearth("tokenize", "smollm2:135m", "Hello world").out, try hearth("tokenize", CLI.smollm2, "Hello world").out)
        let byName = try hearth("run", "smollm2:135m", "The capital of France is", "--raw", "--json")
        let tokenLines = byName.out.split(separator: "\n").filter { $0.hasPrefix("{\"token\"") }
        XCTAssertEqual(tokenLines.count, 6, byName.out)  // num_predict 6 from the Modelfile
        let byPath = try hearth("run", CLI.smollm2, "The capital of France is", "--raw", "--json", "--temperature", "0", "--num-predict", "6")
        XCTAssertEqual(byName.out.split(separator: "\n").dropLast(), byPath.out.split(separator: "\n").dropLast(),
                       "temperature 0 from the Modelfile gives the greedy tokens")
        let overridden = try hearth("run", "smollm2:135m", "The capital of France is", "--raw", "--json", "--num-predict", "2")
        XCTAssertEqual(overridden.out.split(separator: "\n").filter { $0.hasPrefix("{\"token\"") }.count, 2)

        try hearth("cp", "smollm2:135m", "me/smol:v1")
        rows = try listRows()
        XCTAssertEqual(Set(rows.map { $0[0] }), ["smollm2:135m", "me/smol:v1"])
        XCTAssertEqual(Set(rows.map { $0[1] }), [id], "a copy has the same manifest, so the same ID")
        let blobsBefore = storeFiles("blobs")
        XCTAssertEqual(try hearth("rm", "smollm2:135m").out, "deleted 'smollm2:135m'\n")
        XCTAssertEqual(storeFiles("blobs"), blobsBefore, "blobs the copy uses were removed")
        XCTAssertEqual(try listRows().map { $0[0] }, ["me/smol:v1"])
        try hearth("rm", "me/smol:v1")
        XCTAssertEqual(try listRows().count, 0)
        XCTAssertEqual(storeFiles("blobs"), [], "rm left unreferenced blobs")
        XCTAssertEqual(storeFiles("manifests"), [])
        try fails(["rm", "me/smol:v1"], mentions: "not found")
        // cp from a .gguf file imports it.
        XCTAssertEqual(try hearth("cp", CLI.smollm2, "imported").out, "copied '\(CLI.smollm2)' to 'imported:latest'\n")
        XCTAssertEqual(try listRows().map { $0[0] }, ["imported:latest"])
        try fails(["cp", tmp.appendingPathComponent("absent.gguf").path, "x"], mentions: "absent.gguf")
        try hearth("rm", "imported")
        try fails(["run", "smollm2:135m", "hi"], mentions: "not found")
        try fails(["show", "nothing-here"], mentions: "not found")
    }

    func testBadNamesAndModelfilesRejected() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let modelfile = try writeModelfile("FROM ./model.gguf\n")
        for bad in ["../evil", "a/b/c/d", "/abs/name", "x:", "bad\u{1}name", "sp ace", String(repeating: "n", count: 100), "a..b"] {
            try fails(["create", bad, "-f", modelfile], mentions: "invalid model name")
            try fails(["cp", CLI.smollm2, bad], mentions: "invalid model name")
        }
        XCTAssertEqual(storeFiles("manifests"), [])
        let badParam = try writeModelfile("FROM ./model.gguf\n\nPARAMETER temperature warm\n")
        try fails(["create", "x", "-f", badParam], mentions: "Modelfile:3: PARAMETER temperature")
        let unknown = try writeModelfile("FROM ./model.gguf\nPARAMETERS x 1\n")
        try fails(["create", "x", "-f", unknown], mentions: ":2: unknown instruction")
        let missing = try writeModelfile("FROM ./nothere.gguf\n")
        try fails(["create", "x", "-f", missing], mentions: "nothere.gguf")
        try fails(["create", "x", "-f", tmp.appendingPathComponent("none").path], mentions: "cannot read the Modelfile")
        XCTAssertEqual(try listRows().count, 0)
    }

    /// A create killed with SIGKILL while it copies the model leaves no model and no manifest; the next create
    /// cleans up after it and succeeds.
    func testKilledCreateLeavesNothing() throws {
        try CLI.requireFiles(CLI.binary, CLI.qwen25coder)
        let modelfile = try writeModelfile("FROM ./model.gguf\nSYSTEM hi\n", linking: CLI.qwen25coder)
        let blobs = storeRoot.appendingPathComponent("blobs").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["create", "qwen:killed", "-f", modelfile]
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        p.standardError = FileHandle.nullDevice
        try p.runUnpinned()
        // Wait until the copy has begun: a temporary file with some bytes in blobs/.
        var sawCopy = false
        let deadline = Date().addingTimeInterval(120)
        while p.isRunning && Date() < deadline {
            let temps = ((try? FileManager.default.contentsOfDirectory(atPath: blobs)) ?? []).filter { $0.hasPrefix(".tmp-") }
            if let t = temps.first,
               let size = (try? FileManager.default.attributesOfItem(atPath: blobs + "/" + t))?[.size] as? Int, size > 0 {
                sawCopy = true
                break
            }
            usleep(1000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(sawCopy, "the copy was never seen in progress (the create finished or failed first)")
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(try listRows().count, 0, "a killed create left a listed model")
        XCTAssertEqual(storeFiles("manifests"), [], "a killed create left a manifest")
        XCTAssertFalse(FileManager.default.fileExists(atPath: blobs + "/sha256-1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"))

        try hearth("create", "qwen:ok", "-f", modelfile)
        XCTAssertEqual(try listRows().map { $0[0] }, ["qwen:ok"])
        let left = storeFiles("blobs").filter { $0.hasPrefix(".tmp-") }
        XCTAssertEqual(left, [], "the killed create's temporary file was not cleaned up")
        XCTAssertTrue(storeFiles("blobs").contains("sha256-1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"))
        try hearth("rm", "qwen:ok")
    }
}
