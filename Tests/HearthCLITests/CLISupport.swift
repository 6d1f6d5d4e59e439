import Foundation
import XCTest

/// Runs the release `hearth` binary (built by scripts/test) the way a user does, and finds the shared reference
/// files and models. Tests fail, never skip, when something they need is missing.
/// Thrown when a file a test needs is absent: a thrown error fails the test (it is never a skip).
struct Missing: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

enum CLI {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary = repoRoot.appendingPathComponent(".build/release/hearth").path
    static let reference = repoRoot.appendingPathComponent("../shared/reference").standardized
    static let smollm2 = repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    /// The virtual environment scripts/test makes with the official `openai` and `ollama` Python clients.
    static let clientPython = repoRoot.appendingPathComponent(".venv/bin/python").path

    /// Runs a Python script with the clients' venv (`args` become sys.argv[1...]); returns stdout, throws with
    /// stdout and stderr when the script fails (a failed assert inside it fails the test with its message).
    static func clientScript(_ script: String, _ args: [String] = [], timeout: TimeInterval = 600) throws -> String {
        try requireFiles(clientPython)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: clientPython)
        p.arguments = ["-c", script] + args
        // stderr goes to a file so a chatty script cannot block on a full pipe while we read stdout.
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errFile) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = try FileHandle(forWritingTo: errFile)
        try p.runUnpinned()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        let errData = FileManager.default.contents(atPath: errFile.path) ?? Data()
        let stdout = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw Missing("python client script failed (status \(p.terminationStatus)):\n\(stdout)\n\(String(decoding: errData, as: UTF8.self))")
        }
        return stdout
    }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var crashed: Bool
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    static func requireFiles(_ paths: String...) throws {
        for p in paths where !FileManager.default.fileExists(atPath: p) {
            throw Missing("missing \(p): run scripts/fetch-model and `swift build -c release` (scripts/test does both)")
        }
    }

    /// Runs `hearth ARGS` with `stdin` bytes piped in; stdout/stderr captured. `environment` adds to (or
    /// overrides) the test's own environment.
    static func run(_ args: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // stderr goes to a file so a full pipe can never block the child while we read stdout.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let errHandle = try FileHandle(forWritingTo: errURL)
        let out = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = errHandle
        p.standardInput = inp
        try p.runUnpinned()
        let input = stdin ?? Data()
        let writer = inp.fileHandleForWriting
        let thread = Thread {
            writer.write(input)
            try? writer.close()
        }
        thread.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? errHandle.close()
        let errData = FileManager.default.contents(atPath: errURL.path) ?? Data()
        return Result(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self),
                      crashed: p.terminationReason == .uncaughtSignal)
    }

    static func json(_ file: String) throws -> Any {
        let url = reference.appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Missing("missing reference file \(url.path) (the checkout needs ../shared beside it)")
        }
        return try JSONSerialization.jsonObject(with: data)
    }
}

#if os(Linux)
import Glibc
@_silgen_name("sched_setaffinity")
private func c_sched_setaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeRawPointer) -> Int32
#endif

extension Process {
    /// `run()` after giving the calling thread every online CPU again. A child process inherits the spawning
    /// thread's affinity, and XCTest's thread is pinned to one CPU once an in-process `ThreadPool` has run on it:
    /// every `hearth` started from there saw one CPU and computed on one thread.
    func runUnpinned() throws {
        #if os(Linux)
        var set = [UInt8](repeating: 0, count: 128)
        for c in 0..<min(1024, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) { set[c / 8] |= UInt8(1 << (c % 8)) }
        _ = set.withUnsafeBytes { c_sched_setaffinity(0, 128, $0.baseAddress!) }
        #endif
        try run()
    }
}
