import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real `hearth serve` for client tests: a temporary model store (HEARTH_MODELS) holding `smollm2:135m`, made
/// by `hearth create` from examples/smollm2.Modelfile as a user makes it, and a server on a free loopback port
/// serving that store. `stop()` ends the server (SIGTERM) and removes the store. Other suites reuse it:
///
///     let server = try ServerFixture.start()
///     defer { server.stop() }
///     let out = try CLI.clientScript(script, [server.url])
final class ServerFixture {
    /// The model the store holds.
    static let model = "smollm2:135m"

    let store: URL
    let port: Int
    let process: Process
    let logFile: URL
    /// The base URL, e.g. http://127.0.0.1:40123 (what `ollama.Client(host=)` and `openai.OpenAI(base_url=)` take).
    var url: String { "http://127.0.0.1:\(port)" }
    /// HEARTH_HOST and HEARTH_MODELS for `hearth` commands that talk to this server or read its store.
    var environment: [String: String] { ["HEARTH_HOST": "127.0.0.1:\(port)", "HEARTH_MODELS": store.path] }

    private init(store: URL, port: Int, process: Process, logFile: URL) {
        self.store = store
        self.port = port
        self.process = process
        self.logFile = logFile
    }

    /// Makes the store, starts the server and waits (up to 60 s) until `GET /` answers. `env` adds to the server's
    /// environment (e.g. HEARTH_KEEP_ALIVE); `arguments` go after `serve`.
    static func start(env: [String: String] = [:], arguments: [String] = []) throws -> ServerFixture {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        let modelfile = CLI.repoRoot.appendingPathComponent("examples/smollm2.Modelfile").path
        let created = try CLI.run(["create", model, "-f", modelfile], environment: ["HEARTH_MODELS": store.path])
        guard created.status == 0 else {
            try? FileManager.default.removeItem(at: store)
            throw Missing("hearth create \(model) failed: \(created.stderr)")
        }
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["serve"] + arguments
        var e = ProcessInfo.processInfo.environment
        e["HEARTH_HOST"] = "127.0.0.1:\(port)"
        e["HEARTH_MODELS"] = store.path
        for (k, v) in env { e[k] = v }
        p.environment = e
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        try p.runUnpinned()
        let fixture = ServerFixture(store: store, port: port, process: p, logFile: log)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if fixture.isAnswering() { return fixture }
            if !p.isRunning { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let text = fixture.log
        fixture.stop()
        throw Missing("hearth serve did not answer on port \(port): \(text)")
    }

    /// Whether `GET /` answers "Hearth is running" now.
    func isAnswering() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return false }
        let request = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { return false }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        return String(decoding: response, as: UTF8.self).contains("Hearth is running")
    }

    /// The server's log so far (one line per request).
    var log: String { String(decoding: FileManager.default.contents(atPath: logFile.path) ?? Data(), as: UTF8.self) }

    /// Stops the server (SIGTERM, then waits) and removes the store and the log.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: store)
        try? FileManager.default.removeItem(at: logFile)
    }

    /// A loopback port nobody listens on right now (ServeTests has the one implementation).
    static func freePort() throws -> Int { try ServeTests.freePort() }
}
