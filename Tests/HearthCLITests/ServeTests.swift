import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `hearth serve` as a user runs it: a real server process on a free loopback port, driven over real HTTP by
/// Python's standard library (urllib/http.client), streaming included.
final class ServeTests: XCTestCase {
    /// A loopback port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Missing("socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw Missing("bind to a free port failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts `hearth serve` and waits until GET / answers.
    static func startServer(port: Int, env: [String: String] = [:]) throws -> (Process, URL) {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["serve", "--model", CLI.smollm2]
        var e = ProcessInfo.processInfo.environment
        e["HEARTH_HOST"] = "127.0.0.1:\(port)"
        for (k, v) in env { e[k] = v }
        p.environment = e
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-serve-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        try p.runUnpinned()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let r = try? python("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(port)/').read().decode())"),
               r.contains("Hearth is running") {
                return (p, log)
            }
            if !p.isRunning { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        p.terminate()
        throw Missing("hearth serve did not answer on port \(port): \(String(decoding: FileManager.default.contents(atPath: log.path) ?? Data(), as: UTF8.self))")
    }

    /// Runs a Python script, returns its stdout (throws with stderr on failure).
    static func python(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.runUnpinned()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Missing("python failed: \(String(decoding: errData, as: UTF8.self))") }
        return String(decoding: data, as: UTF8.self)
    }

    static let client = """
        import http.client, json, sys, threading
        PORT = int(sys.argv[1]) if len(sys.argv) > 1 else PORT_PLACEHOLDER
        def req(method, path, body=None):
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r
        def generate_stream(prompt, n):
            r = req("POST", "/api/generate", {"prompt": prompt, "raw": True, "options": {"temperature": 0, "num_predict": n}})
            assert r.status == 200, r.status
            assert r.getheader("Content-Type").startswith("application/x-ndjson"), r.getheader("Content-Type")
            lines = [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]
            return lines
        def completion_stream(prompt, n):
            r = req("POST", "/v1/completions", {"prompt": prompt, "max_tokens": n, "temperature": 0, "stream": True})
            assert r.status == 200, r.status
            text, chunks, done, finish = "", 0, False, None
            while True:
                line = r.readline()
                if not line: break
                line = line.strip()
                if not line.startswith(b"data: "): continue
                if line == b"data: [DONE]": done = True; break
                ch = json.loads(line[6:])
                text += ch["choices"][0]["text"]; chunks += 1
                finish = ch["choices"][0]["finish_reason"] or finish
            return {"text": text, "chunks": chunks, "done": done, "finish": finish}
        def completion(prompt, n):
            r = req("POST", "/v1/completions", {"prompt": prompt, "max_tokens": n, "temperature": 0})
            return r.status, json.loads(r.read())
        """

    func testServeStreamsAndEightConcurrentStreamsGetTheirOwnText() throws {
        let port = try Self.freePort()
        let (server, log) = try Self.startServer(port: port, env: ["HEARTH_NUM_PARALLEL": "8"])
        defer { server.terminate(); server.waitUntilExit(); try? FileManager.default.removeItem(at: log) }
        let prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time,", "The three primary colors are",
                       "Water boils at", "import numpy as np\\nimport", "The quick brown fox", "My favourite fruit is"]
        let script = Self.client.replacingOccurrences(of: "PORT_PLACEHOLDER", with: "\(port)") + """

            out = {}
            r = req("GET", "/"); out["root"] = [r.status, r.read().decode()]
            r = req("HEAD", "/"); out["head"] = r.status
            r = req("GET", "/api/version"); out["version"] = [r.status, json.loads(r.read())]
            r = req("GET", "/health"); out["health"] = r.status
            lines = generate_stream("The capital of France is", 12)
            out["generate"] = {"count": len(lines), "last": lines[-1], "text": "".join(l["response"] for l in lines)}
            r = req("POST", "/api/generate", {"prompt": "Hi", "raw": True, "stream": False, "options": {"num_predict": 3, "temperature": 0}})
            out["nostream"] = [r.status, json.loads(r.read())]
            r = req("POST", "/api/generate", {"prompt": "Hi", "raw": True, "options": {"num_predict": "three"}})
            out["badtype"] = [r.status, json.loads(r.read())]
            r = req("POST", "/api/generate", {"model": "no-such-model", "prompt": "Hi", "raw": True})
            out["unknown"] = [r.status, json.loads(r.read())]
            r = req("POST", "/v1/completions", b"{not json".decode())
            out["badjson"] = [r.status, json.loads(r.read())]
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            c.request("POST", "/v1/completions", body=json.dumps({"prompt": "Hello", "max_tokens": 3000, "stream": True,
                      "ignore_eos": True}), headers={"Content-Type": "application/json"})
            r = c.getresponse(); [r.readline() for _ in range(6)]; c.sock.close(); c.close()  # disconnect mid-stream
            prompts = \(prompts)
            alone = [completion(p, 24)[1]["choices"][0]["text"] for p in prompts]
            results = [None] * len(prompts)
            def run(i): results[i] = completion_stream(prompts[i], 24)
            ts = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
            [t.start() for t in ts]; [t.join() for t in ts]
            out["alone"] = alone; out["together"] = results
            stop = alone[2][8:13]
            r = req("POST", "/v1/completions", {"prompt": prompts[2], "max_tokens": 24, "temperature": 0, "stop": stop})
            body = json.loads(r.read())
            out["stop"] = [r.status, body["choices"][0]["text"], alone[2][:alone[2].find(stop)], body["choices"][0]["finish_reason"]]
            print(json.dumps(out))
            """
        let out = try Self.python(script)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        XCTAssertEqual((obj["root"] as? [Any])?.last as? String, "Hearth is running")
        XCTAssertEqual(obj["head"] as? Int, 200)
        XCTAssertEqual((obj["version"] as? [Any])?.first as? Int, 200)
        XCTAssertEqual(obj["health"] as? Int, 200)
        let gen = try XCTUnwrap(obj["generate"] as? [String: Any])
        XCTAssertEqual(gen["count"] as? Int, 13, "12 token objects and the final one")
        let last = try XCTUnwrap(gen["last"] as? [String: Any])
        XCTAssertEqual(last["done"] as? Bool, true)
        XCTAssertEqual(last["done_reason"] as? String, "length")
        XCTAssertEqual(last["eval_count"] as? Int, 12)
        XCTAssertEqual(last["prompt_eval_count"] as? Int, 5)
        XCTAssertNotNil(last["eval_duration"] as? Int)
        let nostream = try XCTUnwrap(obj["nostream"] as? [Any])
        XCTAssertEqual(nostream.first as? Int, 200)
        XCTAssertEqual((nostream.last as? [String: Any])?["eval_count"] as? Int, 3)
        for (key, status) in [("badtype", 400), ("unknown", 404)] {
            let r = try XCTUnwrap(obj[key] as? [Any])
            XCTAssertEqual(r.first as? Int, status, key)
            XCTAssertNotNil((r.last as? [String: Any])?["error"] as? String, key)
        }
        XCTAssert("\(obj["badtype"] ?? "")".contains("num_predict"), "the error names the field")
        let badjson = try XCTUnwrap(obj["badjson"] as? [Any])
        XCTAssertEqual(badjson.first as? Int, 400)
        XCTAssertNotNil(((badjson.last as? [String: Any])?["error"] as? [String: Any])?["message"] as? String)

        // Each of 8 concurrent streams got its own text: the text its prompt gets alone, and that equals `hearth run`.
        let alone = try XCTUnwrap(obj["alone"] as? [String])
        let together = try XCTUnwrap(obj["together"] as? [[String: Any]])
        XCTAssertEqual(alone.count, 8)
        for i in 0..<8 {
            XCTAssertEqual(together[i]["text"] as? String, alone[i], "stream \(i)")
            XCTAssertEqual(together[i]["done"] as? Bool, true, "stream \(i) ends with data: [DONE]")
            XCTAssertEqual(together[i]["finish"] as? String, "length")
            XCTAssertGreaterThan(together[i]["chunks"] as? Int ?? 0, 20, "stream \(i) arrived token by token")
        }
        XCTAssertEqual(Set(alone).count, 8, "eight prompts, eight different texts")
        let stop = try XCTUnwrap(obj["stop"] as? [Any])
        XCTAssertEqual(stop.first as? Int, 200)
        XCTAssertEqual(stop[1] as? String, stop[2] as? String, "text cut before the stop string")
        XCTAssertEqual(stop[3] as? String, "stop")
        let run = try CLI.run(["run", CLI.smollm2, "The capital of France is", "--raw", "--temperature", "0", "--num-predict", "24"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.out.trimmingCharacters(in: .newlines), alone[0].trimmingCharacters(in: .newlines))
        // One log line per request.
        let logText = String(decoding: FileManager.default.contents(atPath: log.path) ?? Data(), as: UTF8.self)
        XCTAssert(logText.contains("POST /v1/completions 200"), logText)
        XCTAssert(logText.contains("GET /api/version 200"), logText)
        XCTAssert(logText.contains("POST /v1/completions 499"), "the disconnected stream was cancelled: \(logText)")
    }

    /// SIGINT while a long stream runs: the stream ends at once with an error line (the model is unloaded), and
    /// the server exits with status 0.
    func testSIGINTEndsInFlightStreamsAndExits() throws {
        let port = try Self.freePort()
        let (server, log) = try Self.startServer(port: port)
        defer { if server.isRunning { server.terminate() }; try? FileManager.default.removeItem(at: log) }
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", "-c", Self.client.replacingOccurrences(of: "PORT_PLACEHOLDER", with: "\(port)") + """

            r = req("POST", "/v1/completions", {"prompt": "Hello", "max_tokens": 4000, "stream": True, "ignore_eos": True})
            lines = []
            while True:
                l = r.readline()
                if not l: break
                if l.startswith(b"data: "): lines.append(l.strip().decode())
                if len(lines) == 3: print("streaming", flush=True)
            print(json.dumps({"count": len(lines), "last": lines[-1]}))
            """]
        let out = Pipe()
        client.standardOutput = out
        try client.runUnpinned()
        let handle = out.fileHandleForReading
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("streaming") {
            let d = handle.availableData
            if d.isEmpty { break }
            seen += d
        }
        let start = Date()
        server.interrupt()
        seen += handle.readDataToEndOfFile()
        client.waitUntilExit()
        server.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "the stream ended long before its 4000 tokens")
        XCTAssertEqual(server.terminationStatus, 0)
        let text = String(decoding: seen, as: UTF8.self)
        XCTAssert(text.contains("unloaded before the request finished"), text)
    }

    /// A second server on a port already taken fails with a clear error naming HEARTH_HOST.
    func testBusyPortIsAClearError() throws {
        let port = try Self.freePort()
        let (server, log) = try Self.startServer(port: port)
        defer { server.terminate(); server.waitUntilExit(); try? FileManager.default.removeItem(at: log) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["serve", "--host", "127.0.0.1:\(port)"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.runUnpinned()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertEqual(p.terminationReason, .exit)
        XCTAssert(text.contains("HEARTH_HOST") && text.contains("in use"), text)
    }
}
