import Foundation
import XCTest

/// Issue 9: a request can never make the server open a file outside its store. Paths (absolute, relative, `..`,
/// `~`) are refused as model names, FROM bases, new names and blob digests on every route that takes them; the
/// operator's `hearth serve --model PATH` is still served. Raw HTTP (Python's standard library) against a real
/// server with a temporary store holding smollm2.
final class PathRefusalTests: XCTestCase {
    func testPathsOverTheAPIAreRefused() throws {
        try CLI.requireFiles(CLI.binary, EmbedTests.minilm + "/model.safetensors")
        let server = try ServerFixture.start(arguments: ["--model", EmbedTests.minilm, "--threads", "2"])
        defer { server.stop() }
        let out = try SecurityTests.run("""

            GGUF, DIR, M = sys.argv[2], sys.argv[3], sys.argv[4]
            def refused(st, b, what):
                assert st in (400, 404), (what, st, b)
                text = json.dumps(b)
                assert "root:" not in text and "GGUF" not in text, (what, text)
            paths = [GGUF, "/etc/passwd", "../../etc/passwd", "./x.gguf", "~/x.gguf", "a/../../b", "x.gguf", "/tmp", DIR + "/../all-MiniLM-L6-v2"]
            for p in paths:
                st, h, b, _ = req("POST", "/api/generate", {"model": p, "prompt": "x", "stream": False})
                refused(st, b, ("generate", p))
                if p.startswith("/") or p.startswith("."): assert st == 400 and "path" in b["error"], (p, st, b)
                st, h, b, _ = req("POST", "/api/show", {"model": p}); refused(st, b, ("show", p))
                st, h, b, _ = req("POST", "/api/embed", {"model": p, "input": "x"}); refused(st, b, ("embed", p))
                st, h, b, _ = req("POST", "/v1/chat/completions", {"model": p, "messages": [{"role": "user", "content": "x"}]})
                assert st in (400, 404) and isinstance(b["error"]["message"], str), (p, st, b)
                for body in ({"model": "evil:1", "from": p, "stream": False},
                             {"model": "evil:1", "modelfile": "FROM " + p + "\\n", "stream": False}):
                    st, h, b, _ = req("POST", "/api/create", body); refused(st, b, ("create", body))
            for bad in ("../evil", "/abs/evil", "a/../b"):
                st, h, b, _ = req("POST", "/api/create", {"model": bad, "from": M, "stream": False}); assert st == 400, (bad, st, b)
                st, h, b, _ = req("POST", "/api/copy", {"source": M, "destination": bad}); assert st == 400, (bad, st, b)
                st, h, b, _ = req("DELETE", "/api/delete", {"model": bad}); assert st in (400, 404), (bad, st, b)
            for digest in ("..%2F..%2Fetc%2Fpasswd", "sha256:..", "sha256:" + "g" * 64):
                st, h, b, _ = req("HEAD", "/api/blobs/" + digest); assert st in (400, 404), (digest, st)
                st, h, b, _ = req("POST", "/api/blobs/" + digest, raw=b"x"); assert st in (400, 404), (digest, st, b)
            st, h, b, _ = req("POST", "/api/create", {"model": "evil:1", "files": {"m.gguf": "../../etc/passwd"}, "stream": False})
            assert st == 400 and "digest" in b["error"], (st, b)
            st, h, b, _ = req("GET", "/api/tags")
            assert [m["model"] for m in b["models"]] == [M], b
            # Still served: the stored model by name, and the operator's --model by its path.
            st, h, b, _ = req("POST", "/api/generate", {"model": M, "prompt": "Hi", "stream": False, "options": {"num_predict": 2}})
            assert st == 200 and b["eval_count"] == 2, (st, b)
            st, h, b, _ = req("POST", "/api/embed", {"model": DIR, "input": "Hi"})
            assert st == 200 and len(b["embeddings"][0]) == 384, (st, b)
            print("ok")
            """, port: server.port, args: [CLI.smollm2, EmbedTests.minilm, ServerFixture.model])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
