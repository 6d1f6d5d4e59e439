import Foundation
import XCTest

/// A client that goes away while its request is being answered must not keep a sequence: streaming answers notice
/// at their next write, and `stream: false` answers (which write nothing until the end) are cancelled when the
/// connection's client closes its side (ClientGone.swift). Found by scripts/abuse's "disconnects" scenario: a
/// non-streaming request whose client had left ran to its num_predict. The long form of these checks, for every
/// stage of a request, is `scripts/abuse --only disconnects`.
final class DisconnectTests: XCTestCase {
    func testNonStreamingRequestIsCancelledWhenItsClientLeaves() throws {
        let server = try ServerFixture.start()
        defer { server.stop() }
        // Both APIs, stream false, a long num_predict; the client closes after 1 s, then /api/ps must show no
        // active sequence within 5 s (the generation alone would take far longer).
        let script = """
        import json, socket, sys, time, urllib.request
        port = int(sys.argv[1])
        def ps():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ps", timeout=10) as r:
                return json.load(r)["models"]
        bodies = {
            "/api/generate": {"model": "smollm2:135m", "prompt": "Tell a long story.", "stream": False,
                              "options": {"num_predict": 4000, "temperature": 0}},
            "/v1/chat/completions": {"model": "smollm2:135m", "max_tokens": 4000, "temperature": 0,
                                     "messages": [{"role": "user", "content": "Tell a long story."}]},
        }
        for path, body in bodies.items():
            data = json.dumps(body).encode()
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(f"POST {path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\n"
                      f"Content-Length: {len(data)}\\r\\n\\r\\n".encode() + data)
            deadline = time.time() + 60
            while not any(m.get("active_sequences") for m in ps()):
                assert time.time() < deadline, f"{path}: no active sequence within 60 s"
                time.sleep(0.1)
            time.sleep(1)
            s.close()
            t = time.time()
            while any(m.get("active_sequences") or m.get("requests") for m in ps()):
                assert time.time() < t + 5, f"{path}: the sequence is still active 5 s after its client left: {ps()}"
                time.sleep(0.1)
            print(f"{path} dropped in {time.time() - t:.2f}s")
        """
        let out = try CLI.clientScript(script, ["\(server.port)"])
        XCTAssertTrue(out.contains("/api/generate dropped") && out.contains("/v1/chat/completions dropped"), out)
        XCTAssertTrue(server.log.contains("POST /api/generate 499"), server.log)
    }
}
