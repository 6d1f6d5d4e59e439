import Foundation
import XCTest

/// Bad input gives a one-line error and a non-zero exit code, never a crash.
final class ErrorTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func assertCleanError(_ args: [String], stdin: Data? = nil, mentions: String? = nil,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args, stdin: stdin)
        XCTAssertFalse(r.crashed, "crashed on \(args): \(r.stderr)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "succeeded on \(args)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one error line, got: \(r.stderr)", file: file, line: line)
        if let m = mentions { XCTAssertTrue(r.stderr.contains(m), "'\(r.stderr)' does not mention \(m)", file: file, line: line) }
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = tmp.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testMalformedModelFiles() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: CLI.smollm2))
        let head = [UInt8](handle.readData(ofLength: 2_000_000))
        try handle.close()
        // Truncations inside the header, the metadata, the tensor infos and the data.
        for cut in [0, 3, 4, 7, 12, 20, 27, 40, 100, 1_000, 50_000, 1_500_000, 2_000_000] {
            let path = try write(Array(head.prefix(cut)), "trunc-\(cut).gguf")
            try assertCleanError(["show", path], mentions: path)
        }
        func patched(_ offset: Int, _ value: UInt64, bytes: Int = 8) -> [UInt8] {
            var b = head
            for i in 0..<bytes { b[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            return b
        }
        let cases: [(String, [UInt8])] = [
            ("magic", patched(0, 0x4655_4747, bytes: 4)),
            ("version1", patched(4, 1, bytes: 4)),
            ("version99", patched(4, 99, bytes: 4)),
            ("tensorcount", patched(8, 1 << 60)),
            ("kvcount", patched(16, 1 << 60)),
            ("keylength", patched(24, 1 << 62)),
        ]
        for (name, bytes) in cases {
            let path = try write(bytes, "\(name).gguf")
            try assertCleanError(["show", path], mentions: path)
            try assertCleanError(["run", path, "hello"], mentions: path)
        }
    }

    func testUnsupportedArchitecture() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        var data = try Data(contentsOf: URL(fileURLWithPath: CLI.smollm2))
        let needle = Data([5, 0, 0, 0, 0, 0, 0, 0] + Array("llama".utf8))
        let range = try XCTUnwrap(data.range(of: needle))
        data.replaceSubrange(range, with: Data([5, 0, 0, 0, 0, 0, 0, 0] + Array("llamx".utf8)))
        let path = tmp.appendingPathComponent("arch.gguf").path
        try data.write(to: URL(fileURLWithPath: path))
        try assertCleanError(["run", path, "hello"], mentions: "llamx")
    }

    func testUserErrors() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        try assertCleanError(["run", tmp.appendingPathComponent("nope.gguf").path, "hi"], mentions: "nope.gguf")
        let notGGUF = try write(Array("hello world, not a model".utf8), "text.gguf")
        try assertCleanError(["show", notGGUF], mentions: "text.gguf")
        try assertCleanError(["run", CLI.smollm2, "--ctx-size", "8", String(repeating: "word ", count: 50)],
                             mentions: "context")
        try assertCleanError(["perplexity", CLI.smollm2, tmp.appendingPathComponent("missing.txt").path])
    }
}
