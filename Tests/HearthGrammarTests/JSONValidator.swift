import Foundation
import XCTest

/// Validates instances against schemas with Python's `jsonschema` (scripts/validate-json.py), in one process
/// per batch. A missing Python or package fails the test (scripts/test installs it).
enum JSONValidator {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/validate-json.py").path

    /// One result per (schema, instance): nil = valid, else the validator's message.
    static func validate(_ cases: [(schema: String, instance: String)]) throws -> [String?] {
        var input = ""
        for c in cases {
            let instance = String(decoding: try JSONSerialization.data(withJSONObject: [c.instance]), as: UTF8.self)
            input += "{\"schema\": \(c.schema), \"instance\": \(instance.dropFirst().dropLast())}\n"
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script]
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let data = Data(input.utf8)
        let writer = Thread { inPipe.fileHandleForWriting.write(data); try? inPipe.fileHandleForWriting.close() }
        writer.start()
        let out = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ValidatorFailed(description: "validate-json.py failed (is the jsonschema package installed?): \(err)")
        }
        let lines = out.split(separator: "\n").map(String.init)
        guard lines.count == cases.count else { throw ValidatorFailed(description: "expected \(cases.count) results, got: \(out)") }
        return lines.map { $0 == "ok" ? nil : $0 }
    }

    struct ValidatorFailed: Error, CustomStringConvertible { let description: String }
}
