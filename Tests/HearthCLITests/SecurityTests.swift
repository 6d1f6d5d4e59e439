import Foundation
import XCTest

/// The server's security defaults over real HTTP (Python's standard library against `hearth serve`):
/// HEARTH_API_KEY, the CORS allowlist (HEARTH_ORIGINS), the body limit (HEARTH_MAX_BODY), and no prompt text in
/// the log.
final class SecurityTests: XCTestCase {
    static let helpers = """
        import http.client, json, sys
        PORT = int(sys.argv[1])
        def req(method, path, body=None, headers=None, raw=None, chunked=False):
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            if chunked:
                c.request(method, path, body=(data[i:i + 65536] for i in range(0, len(data), 65536)), headers=h, encode_chunked=True)
            else:
                c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read()
            try: parsed = json.loads(text)
            except Exception: parsed = text.decode(errors="replace")
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), parsed, c
        """

    static func run(_ script: String, port: Int, args: [String] = []) throws -> String {
        // The system python3 with the standard library only; sys.argv[1] is the port.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", helpers + script, "\(port)"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.runUnpinned()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw Missing("python failed: \(String(decoding: data, as: UTF8.self))\n\(String(decoding: errData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    func testAPIKeyGuardsEveryRouteButRootAndHealthAndNoPromptIsLogged() throws {
        let (server, log, port) = try EmbedHTTPTests.startServer(model: CLI.smollm2, env: ["HEARTH_API_KEY": "s3cret-key"])
        defer { EmbedHTTPTests.stop(server, log) }
        let out = try Self.run("""

            good = {"Authorization": "Bearer s3cret-key"}
            for method, path in (("GET", "/"), ("HEAD", "/"), ("GET", "/health")):
                st, h, b, _ = req(method, path)
                assert st == 200, (method, path, st, b)
            gen = {"prompt": "PROMPT-MARKER-7f3a The capital of France is", "raw": True, "stream": False, "options": {"num_predict": 2, "temperature": 0}}
            for path, body in (("/api/version", None), ("/api/generate", gen), ("/api/chat", {"messages": []}),
                               ("/api/embed", {"input": "x"}), ("/api/tags", None)):
                method = "POST" if body is not None else "GET"
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cret-ke"},
                                {"Authorization": "Basic czNjcmV0LWtleQ=="}, {"Authorization": "s3cret-key"}):
                    st, h, b, _ = req(method, path, body, headers)
                    assert st == 401, (path, headers, st, b)
                    assert isinstance(b["error"], str) and h.get("www-authenticate") == "Bearer", (path, b, h)
            st, h, b, _ = req("POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 1})
            assert st == 401 and b["error"]["code"] == "invalid_api_key" and "API key" in b["error"]["message"], b
            st, h, b, _ = req("POST", "/v1/embeddings", {"input": "Hi"}, {"Authorization": "Bearer nope"})
            assert st == 401 and b["error"]["type"] == "invalid_request_error", b
            st, h, b, _ = req("GET", "/api/version", None, good)
            assert st == 200 and "version" in b, (st, b)
            st, h, b, _ = req("POST", "/api/generate", gen, good)
            assert st == 200 and b["done"], (st, b)
            st, h, b, _ = req("POST", "/api/embed", {"input": "EMBED-MARKER-91c2 a private note"}, good)
            assert st == 200 and len(b["embeddings"][0]) == 576, st
            st, h, b, _ = req("POST", "/v1/completions", {"prompt": "COMPLETION-MARKER-55e1 Hi", "max_tokens": 2}, {"Authorization": "bearer s3cret-key"})
            assert st == 200 and b["object"] == "text_completion", (st, b)
            print("ok")
            """, port: port)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
        let text = String(decoding: FileManager.default.contents(atPath: log.path) ?? Data(), as: UTF8.self)
        XCTAssertTrue(text.contains("POST /api/generate 200"), text)
        XCTAssertTrue(text.contains("POST /api/generate 401"), text)
        for marker in ["PROMPT-MARKER", "EMBED-MARKER", "COMPLETION-MARKER", "s3cret"] {
            XCTAssertFalse(text.contains(marker), "the log shows '\(marker)':\n\(text)")
        }
    }

    func testOfficialOpenAIClientWithAndWithoutTheKey() throws {
        let (server, log, port) = try EmbedHTTPTests.startServer(model: EmbedTests.minilm, env: ["HEARTH_API_KEY": "k-123"])
        defer { EmbedHTTPTests.stop(server, log) }
        let out = try CLI.clientScript("""
            import sys, openai, ollama
            base, m = "http://127.0.0.1:%s" % sys.argv[1], sys.argv[2]
            try:
                openai.OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).embeddings.create(model=m, input="hi")
                raise AssertionError("no 401")
            except openai.AuthenticationError as e:
                assert e.status_code == 401, e
            r = openai.OpenAI(base_url=base + "/v1", api_key="k-123").embeddings.create(model=m, input="hi")
            assert len(r.data[0].embedding) == 384
            try:
                ollama.Client(host=base).embed(model=m, input="hi")
                raise AssertionError("no 401")
            except ollama.ResponseError as e:
                assert e.status_code == 401, e
            r = ollama.Client(host=base, headers={"Authorization": "Bearer k-123"}).embed(model=m, input="hi")
            assert len(r.embeddings[0]) == 384
            print("ok")
            """, ["\(port)", EmbedTests.minilm])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testCORSAllowsLoopbackAndListedOriginsOnly() throws {
        let (server, log, port) = try EmbedHTTPTests.startServer(
            model: CLI.smollm2, env: ["HEARTH_ORIGINS": "https://app.example.com, https://*.corp.example", "HEARTH_API_KEY": "kk"])
        defer { EmbedHTTPTests.stop(server, log) }
        let out = try Self.run("""

            key = {"Authorization": "Bearer kk"}
            allowed = ["http://localhost", "http://localhost:3000", "https://127.0.0.1:8443", "http://[::1]:5173",
                       "tauri://localhost", "app://obsidian.md", "https://app.example.com", "https://wiki.corp.example"]
            refused = ["https://evil.example", "http://localhost.evil.example", "http://localhost:1.evil.example",
                       "null", "http://127.0.0.2", "https://app.example.com.evil.example", "http://app.example.com"]
            for o in allowed:
                st, h, b, _ = req("GET", "/api/version", None, dict(key, Origin=o))
                assert st == 200 and h.get("access-control-allow-origin") == o and "Origin" in h.get("vary", ""), (o, st, h)
                st, h, b, _ = req("OPTIONS", "/api/generate", None, {"Origin": o, "Access-Control-Request-Method": "POST",
                                                                      "Access-Control-Request-Headers": "content-type, authorization"})
                assert st == 204 and h.get("access-control-allow-origin") == o, (o, st, h)
                assert "POST" in h["access-control-allow-methods"] and "Authorization" in h["access-control-allow-headers"], h
                # A 401 for an allowed page still carries the CORS header, so the page can read it.
                st, h, b, _ = req("GET", "/api/version", None, {"Origin": o})
                assert st == 401 and h.get("access-control-allow-origin") == o, (o, st, h)
            for o in refused:
                for method, path, body in (("GET", "/api/version", None), ("POST", "/api/generate", {"prompt": "x", "raw": True}),
                                           ("OPTIONS", "/api/generate", None), ("POST", "/v1/completions", {"prompt": "x"})):
                    headers = dict(key, Origin=o)
                    if method == "OPTIONS": headers["Access-Control-Request-Method"] = "POST"
                    st, h, b, _ = req(method, path, body, headers)
                    assert st == 403, (o, path, st, b)
                    assert not any(k.startswith("access-control-") for k in h), (o, h)
                    msg = b["error"]["message"] if path.startswith("/v1/") else b["error"]
                    assert o in msg and "HEARTH_ORIGINS" in msg, msg
            # DNS rebinding: a foreign Host name is refused even without an Origin header; local names pass.
            for host in ("evil.example", "evil.example:%d" % PORT, "10.0.0.1.evil.example"):
                st, h, b, _ = req("GET", "/api/version", None, dict(key, Host=host))
                assert st == 403 and "host" in b["error"], (host, st, b)
            for host in ("localhost:%d" % PORT, "127.0.0.1", "[::1]:%d" % PORT, "myapp.localhost", "192.168.1.20:%d" % PORT):
                st, h, b, _ = req("GET", "/api/version", None, dict(key, Host=host))
                assert st == 200, (host, st, b)
            # No Origin (curl, SDKs): no CORS headers, served as usual.
            st, h, b, _ = req("GET", "/api/version", None, key)
            assert st == 200 and "access-control-allow-origin" not in h, h
            print("ok")
            """, port: port)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testOversizedBodyIs413AndTheServerStaysHealthy() throws {
        let (server, log, port) = try EmbedHTTPTests.startServer(model: CLI.smollm2, env: ["HEARTH_MAX_BODY": "1M"])
        defer { EmbedHTTPTests.stop(server, log) }
        let out = try Self.run("""

            big = json.dumps({"prompt": "x" * (2 << 20), "raw": True}).encode()
            st, h, b, c = req("POST", "/api/generate", raw=big)
            assert st == 413 and "HEARTH_MAX_BODY" in b["error"] and str(len(big)) in b["error"], (st, b)
            # The same connection serves the next request (the rest of the body was read and dropped).
            c.request("GET", "/health"); r = c.getresponse(); assert r.status == 200, r.status; r.read()
            st, h, b, _ = req("POST", "/v1/completions", raw=big)
            assert st == 413 and b["error"]["code"] == "request_too_large" and "1048576" in b["error"]["message"], (st, b)
            st, h, b, _ = req("POST", "/api/embed", raw=big, chunked=True)
            assert st == 413 and "more than 1048576 bytes" in b["error"], (st, b)
            st, h, b, _ = req("POST", "/api/generate", {"prompt": "The capital of France is", "raw": True, "stream": False,
                                                       "options": {"num_predict": 3, "temperature": 0}})
            assert st == 200 and b["done"] and b["eval_count"] == 3, (st, b)
            under = json.dumps({"prompt": "y" * 1000, "raw": True, "stream": False, "options": {"num_predict": 1}}).encode()
            st, h, b, _ = req("POST", "/api/generate", raw=under, chunked=True)
            assert st == 200, (st, b)
            st, h, b, _ = req("GET", "/health"); assert st == 200, st
            print("ok")
            """, port: port)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testMalformedSecurityVariablesAreRefused() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let r = try CLI.run(["serve", "--model", CLI.smollm2], environment: ["HEARTH_MAX_BODY": "lots", "HEARTH_HOST": "127.0.0.1:1"])
        XCTAssertFalse(r.crashed)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("HEARTH_MAX_BODY 'lots'"), r.stderr)
        let k = try CLI.run(["serve", "--model", CLI.smollm2], environment: ["HEARTH_API_KEY": "two words", "HEARTH_HOST": "127.0.0.1:1"])
        XCTAssertNotEqual(k.status, 0)
        XCTAssertTrue(k.stderr.contains("HEARTH_API_KEY"), k.stderr)
    }
}
