import Foundation
import XCTest

/// The embedding endpoints of `hearth serve` (Ollama `/api/embed`, `/api/embeddings`, OpenAI `/v1/embeddings`)
/// through the official `openai` and `ollama` Python clients and raw HTTP, against sentence-transformers'
/// reference (../shared/reference/embeddings-minilm.json: cosine ≥ 0.999 for every text).
final class EmbedHTTPTests: XCTestCase {
    /// Starts `hearth serve --model MODEL` on a free loopback port; waits until GET / answers.
    static func startServer(model: String, env: [String: String] = [:]) throws -> (Process, URL, Int) {
        try CLI.requireFiles(CLI.binary, model)
        let port = try ServeTests.freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["serve", "--model", model, "--threads", "2"]
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
            if let r = try? ServeTests.python("import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(port)/').read().decode())"),
               r.contains("Hearth is running") {
                return (p, log, port)
            }
            if !p.isRunning { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        p.terminate()
        throw Missing("hearth serve did not answer on port \(port): \(String(decoding: FileManager.default.contents(atPath: log.path) ?? Data(), as: UTF8.self))")
    }

    static func stop(_ p: Process, _ log: URL) {
        p.terminate()
        p.waitUntilExit()
        try? FileManager.default.removeItem(at: log)
    }

    /// Python helpers shared by the scripts: raw HTTP with the standard library, cosine, base64 decoding.
    static let helpers = """
        import base64, json, math, struct, sys, urllib.request, urllib.error
        PORT, MODEL = int(sys.argv[1]), sys.argv[2]
        BASE = "http://127.0.0.1:%d" % PORT
        def post(path, body, raw=None):
            data = raw if raw is not None else json.dumps(body).encode()
            req = urllib.request.Request(BASE + path, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=300) as r: return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())
        def cos(a, b):
            ab = sum(x * y for x, y in zip(a, b)); aa = sum(x * x for x in a); bb = sum(y * y for y in b)
            return ab / math.sqrt(aa * bb)
        def norm(a): return math.sqrt(sum(x * x for x in a))
        def unpack(b64):
            raw = base64.b64decode(b64); return list(struct.unpack("<%df" % (len(raw) // 4), raw))
        def f32(xs): return list(struct.unpack("<%df" % len(xs), struct.pack("<%df" % len(xs), *xs)))
        """

    func referenceFile() throws -> String {
        let path = CLI.reference.appendingPathComponent("embeddings-minilm.json").path
        try CLI.requireFiles(path)
        return path
    }

    /// Every reference text through both official clients (OpenAI: base64 as the client asks by default, and
    /// float; Ollama: embed and the legacy embeddings), cosine ≥ 0.999 each, base64 == float bit for bit.
    func testOfficialClientsMatchSentenceTransformers() throws {
        let ref = try referenceFile()
        let (server, log, port) = try Self.startServer(model: EmbedTests.minilm)
        defer { Self.stop(server, log) }
        let script = Self.helpers + """

            import openai, ollama
            items = json.load(open(sys.argv[3]))["items"]
            texts = [it["text"] for it in items]
            refs = [it["embedding"] for it in items]
            tokens = sum(len(it["input_ids"]) for it in items)
            client = openai.OpenAI(base_url=BASE + "/v1", api_key="unused")
            default = client.embeddings.create(model=MODEL, input=texts)
            floats = client.embeddings.create(model=MODEL, input=texts, encoding_format="float")
            assert default.object == "list" and default.model == MODEL, default
            assert [d.index for d in default.data] == list(range(len(texts)))
            assert all(d.object == "embedding" for d in default.data)
            assert default.usage.prompt_tokens == tokens and default.usage.total_tokens == tokens, (default.usage, tokens)
            # The raw base64 body equals the float body, value for value (float32).
            st, raw = post("/v1/embeddings", {"model": MODEL, "input": texts[:5], "encoding_format": "base64"})
            assert st == 200, raw
            for i in range(5):
                assert unpack(raw["data"][i]["embedding"]) == f32(floats.data[i].embedding), i
            worst = 1.0
            oc = ollama.Client(host=BASE)
            emb = oc.embed(model=MODEL, input=texts)
            assert emb.model == MODEL and len(emb.embeddings) == len(texts)
            assert emb.prompt_eval_count == tokens, (emb.prompt_eval_count, tokens)
            assert emb.total_duration > 0 and emb.load_duration >= 0
            for i, r in enumerate(refs):
                for name, v in (("openai-base64", default.data[i].embedding), ("openai-float", floats.data[i].embedding),
                                ("ollama-embed", emb.embeddings[i])):
                    assert len(v) == 384, (name, len(v))
                    c = cos(v, r); worst = min(worst, c)
                    assert c >= 0.999, (name, i, texts[i][:60], c)
            for i in (0, 7, 59):
                legacy = oc.embeddings(model=MODEL, prompt=texts[i])
                c = cos(legacy.embedding, refs[i]); worst = min(worst, c)
                assert c >= 0.999, ("ollama-embeddings", i, c)
            one = oc.embed(model=MODEL, input=texts[3])
            assert len(one.embeddings) == 1 and cos(one.embeddings[0], refs[3]) >= 0.999
            print("worst", worst)
            """
        let out = try CLI.clientScript(script, ["\(port)", EmbedTests.minilm, ref])
        XCTAssertTrue(out.contains("worst"), out)
        print("embeddings over HTTP: \(out)")
    }

    /// `dimensions` keeps the first N values and normalizes them again (Ollama and OpenAI); token-id inputs; an
    /// LLM GGUF embeds too.
    func testDimensionsTokenInputsAndLLM() throws {
        // A store holding smollm2 (a request names a stored model; paths over the API are refused), MiniLM the default.
        let server = try ServerFixture.start(arguments: ["--model", EmbedTests.minilm, "--threads", "2"])
        defer { server.stop() }
        let port = server.port
        let script = Self.helpers + """

            import openai, ollama
            client = openai.OpenAI(base_url=BASE + "/v1", api_key="unused")
            full = client.embeddings.create(model=MODEL, input=["Hello world"], encoding_format="float").data[0].embedding
            cut = client.embeddings.create(model=MODEL, input="Hello world", dimensions=16).data[0].embedding
            assert len(cut) == 16 and abs(norm(cut) - 1) < 1e-5, (len(cut), norm(cut))
            n = norm(full[:16])
            assert max(abs(a - b / n) for a, b in zip(cut, full[:16])) < 1e-5
            ocut = ollama.Client(host=BASE).embed(model=MODEL, input=["Hello world"], dimensions=16).embeddings[0]
            assert max(abs(a - b) for a, b in zip(ocut, cut)) < 1e-6
            # Token ids of the model's vocabulary: [CLS] hello world [SEP] is the text's own tokenization.
            st, r = post("/v1/embeddings", {"model": MODEL, "input": [101, 7592, 2088, 102], "encoding_format": "float"})
            assert st == 200, r
            assert cos(r["data"][0]["embedding"], full) > 0.99999, cos(r["data"][0]["embedding"], full)
            assert r["usage"]["prompt_tokens"] == 4, r["usage"]
            st, r = post("/v1/embeddings", {"model": MODEL, "input": [[101, 7592, 102], [101, 2088, 102]]})
            assert st == 200 and len(r["data"]) == 2 and r["usage"]["prompt_tokens"] == 6, r
            # An LLM GGUF (a stored model): mean-pooled, normalized.
            st, r = post("/api/embed", {"model": sys.argv[3], "input": ["The capital of France is Paris."]})
            assert st == 200, r
            v = r["embeddings"][0]
            assert len(v) == 576 and abs(norm(v) - 1) < 1e-4 and r["prompt_eval_count"] > 5, (len(v), norm(v), r["prompt_eval_count"])
            print("ok")
            """
        let out = try CLI.clientScript(script, ["\(port)", EmbedTests.minilm, ServerFixture.model])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    /// Bad input gets a 400 in the API's error shape (the message names what was wrong); empty Ollama input
    /// is an empty result, as Ollama answers; the server keeps serving after each.
    func testBadInputIsA400() throws {
        let (server, log, port) = try Self.startServer(model: EmbedTests.minilm)
        defer { Self.stop(server, log) }
        let script = Self.helpers + """

            import openai
            long = "word " * 400
            def ollama_error(path, body, status, *words, raw=None):
                st, r = post(path, body, raw)
                assert st == status and isinstance(r.get("error"), str), (path, body, st, r)
                for w in words: assert w in r["error"], (w, r["error"])
            def openai_error(body, *words, raw=None):
                st, r = post("/v1/embeddings", body, raw)
                assert st == 400 and r["error"]["type"] == "invalid_request_error", (body, st, r)
                for w in words: assert w in r["error"]["message"], (w, r["error"]["message"])
            # Ollama /api/embed
            ollama_error("/api/embed", {"model": MODEL, "input": long, "truncate": False}, 400, "402 tokens", "256")
            st, r = post("/api/embed", {"model": MODEL, "input": long})
            assert st == 200 and r["prompt_eval_count"] == 256, (st, r.get("prompt_eval_count"))
            ollama_error("/api/embed", {"model": MODEL, "input": [1, 2]}, 400, "input")
            ollama_error("/api/embed", {"model": MODEL, "input": ["a", 3]}, 400, "input")
            ollama_error("/api/embed", {"model": MODEL, "input": "a", "dimensions": 1000}, 400, "dimensions", "384")
            ollama_error("/api/embed", {"model": MODEL, "input": "a", "dimensions": -3}, 400, "dimensions")
            ollama_error("/api/embed", {"model": MODEL, "input": "a", "options": {"num_ctx": 1}}, 400, "num_ctx")
            ollama_error("/api/embed", {"model": MODEL, "input": "a", "truncate": "no"}, 400, "truncate")
            ollama_error("/api/embed", None, 400, "JSON", raw=b"{not json")
            ollama_error("/api/embed", {"model": "no-such-model:1", "input": "a"}, 404, "no-such-model:1")
            ollama_error("/api/embed", {"model": "/no/such/model", "input": "a"}, 400, "/no/such/model", "path")
            st, r = post("/api/embed", {"model": MODEL, "input": long, "truncate": False, "options": {"num_ctx": 512}})
            assert st == 400, r
            st, r = post("/api/embed", {"model": MODEL, "input": "one two three", "options": {"num_ctx": 4}, "truncate": False})
            assert st == 400 and "limit of 4" in r["error"], r
            for empty in ("", []):
                st, r = post("/api/embed", {"model": MODEL, "input": empty})
                assert st == 200 and r["embeddings"] == [] and r["model"] == MODEL, (empty, st, r)
            st, r = post("/api/embeddings", {"model": MODEL, "prompt": ""})
            assert st == 200 and r == {"embedding": []}, r
            st, r = post("/api/embed", {"model": MODEL, "input": "a", "keep_alive": "5m", "options": {"temperature": 0}})
            assert st == 200 and len(r["embeddings"][0]) == 384, r
            # OpenAI /v1/embeddings
            openai_error({"model": MODEL, "input": ""}, "empty string")
            openai_error({"model": MODEL, "input": []}, "empty list")
            openai_error({"model": MODEL, "input": ["a", ""]}, "input[1]")
            openai_error({"model": MODEL}, "'input' is required")
            openai_error({"model": MODEL, "input": "a", "encoding_format": "int8"}, "encoding_format", "int8")
            openai_error({"model": MODEL, "input": [5, 999999]}, "999999", "vocabulary")
            openai_error({"model": MODEL, "input": [[101], []]}, "input[1]")
            openai_error({"model": MODEL, "input": [{"a": 1}]}, "input")
            openai_error({"model": MODEL, "input": "a", "dimensions": 0}, "dimensions")
            openai_error({"model": MODEL, "input": ["x"] * 2049}, "2048")
            openai_error({"model": MODEL, "input": long, "truncate": False}, "402 tokens")
            client = openai.OpenAI(base_url=BASE + "/v1", api_key="unused", max_retries=0)
            try:
                client.embeddings.create(model=MODEL, input="")
                raise AssertionError("no error for an empty input")
            except openai.BadRequestError as e:
                assert "empty string" in str(e), e
            st, r = post("/v1/embeddings", {"model": "no-such-model:1", "input": "a"})
            assert st == 404 and "no-such-model:1" in r["error"]["message"], (st, r)
            # Still healthy.
            st, r = post("/v1/embeddings", {"model": MODEL, "input": "still fine"})
            assert st == 200 and len(r["data"][0]["embedding"]) == 384, r
            print("ok")
            """
        let out = try CLI.clientScript(script, ["\(port)", EmbedTests.minilm])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
