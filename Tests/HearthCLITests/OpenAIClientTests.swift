import Foundation
import XCTest

/// The OpenAI side of `hearth serve`, driven by the official `openai` Python client (and plain urllib where the
/// client has no method: /metrics, /tokenize, malformed bodies), against one real server on a loopback port
/// serving SmolLM2-135M-Instruct with 8 parallel sequences.
final class OpenAIClientTests: XCTestCase {
    nonisolated(unsafe) static var server: Process?
    nonisolated(unsafe) static var serverLog: URL?
    nonisolated(unsafe) static var port = 0
    static let modelID = "SmolLM2-135M-Instruct.Q4_1"

    override class func setUp() {
        super.setUp()
        do {
            port = try ServeTests.freePort()
            let (p, log) = try ServeTests.startServer(port: port, env: ["HEARTH_NUM_PARALLEL": "8"])
            server = p
            serverLog = log
        } catch {
            server = nil
        }
    }

    override class func tearDown() {
        if let s = server, s.isRunning { s.terminate(); s.waitUntilExit() }
        if let l = serverLog { try? FileManager.default.removeItem(at: l) }
        super.tearDown()
    }

    /// Runs `body` after a prelude that makes `client` (openai.OpenAI on the test server), `raw(method, path,
    /// body)` (urllib, returns status and text), `chat(**kw)`, `stream_chat(**kw)` (joins a stream: content, finish
    /// reason, chunks) and `metrics()` (name{labels} → value); the script prints one JSON value, returned parsed.
    func client(_ body: String) throws -> Any {
        guard Self.server?.isRunning == true else {
            throw Missing("hearth serve did not start: \(String(decoding: FileManager.default.contents(atPath: Self.serverLog?.path ?? "") ?? Data(), as: UTF8.self))")
        }
        let out = try CLI.clientScript(Self.prelude + body, ["\(Self.port)", Self.modelID])
        guard let last = out.split(separator: "\n").last, let data = last.data(using: .utf8) else {
            throw Missing("the client script printed nothing")
        }
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    static let prelude = """
        import json, sys, threading, time, urllib.request, urllib.error, http.client
        import openai
        PORT, MODEL = int(sys.argv[1]), sys.argv[2]
        BASE = f"http://127.0.0.1:{PORT}"
        client = openai.OpenAI(base_url=BASE + "/v1", api_key="unused", max_retries=0, timeout=300)
        def raw(method, path, body=None):
            data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
            req = urllib.request.Request(BASE + path, data=data, method=method, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=300) as r: return r.status, r.read().decode()
            except urllib.error.HTTPError as e: return e.code, e.read().decode()
        FRANCE = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
        def chat(**kw):
            kw.setdefault("model", MODEL); kw.setdefault("messages", FRANCE); kw.setdefault("temperature", 0)
            return client.chat.completions.create(**kw)
        def stream_chat(**kw):
            kw.setdefault("model", MODEL); kw.setdefault("messages", FRANCE); kw.setdefault("temperature", 0)
            texts, finish, chunks, roles, logprobs = {}, {}, [], {}, {}
            for ch in client.chat.completions.create(stream=True, **kw):
                chunks.append(ch)
                for c in ch.choices:
                    if c.delta.role: roles[c.index] = c.delta.role
                    texts[c.index] = texts.get(c.index, "") + (c.delta.content or "")
                    if c.finish_reason: finish[c.index] = c.finish_reason
                    if c.logprobs and c.logprobs.content: logprobs.setdefault(c.index, []).extend(c.logprobs.content)
            return {"texts": texts, "finish": finish, "chunks": chunks, "roles": roles, "logprobs": logprobs}
        def metrics():
            status, text = raw("GET", "/metrics")
            assert status == 200, status
            out = {}
            for line in text.splitlines():
                if line and not line.startswith("#"):
                    k, v = line.rsplit(" ", 1); out[k] = float(v)
            return out
        def metric(m, name, **labels):
            return sum(v for k, v in m.items() if k.split("{")[0] == name and all(f'{a}="{b}"' in k for a, b in labels.items()))

        """

    /// Greedy chat, streaming and not: the answer names Paris, the streamed text is the same text, the first chunk
    /// carries the role, `include_usage` adds a last chunk with empty choices and the same usage.
    func testChatStreamingEqualsNonStreaming() throws {
        let r = try XCTUnwrap(try client("""
            r = chat(max_tokens=40)
            s = stream_chat(max_tokens=40, stream_options={"include_usage": True})
            last = s["chunks"][-1]
            print(json.dumps({"text": r.choices[0].message.content, "role": r.choices[0].message.role,
                "finish": r.choices[0].finish_reason, "object": r.object, "usage": r.usage.model_dump(),
                "stream": s["texts"][0], "sfinish": s["finish"][0], "srole": s["roles"].get(0),
                "first_object": s["chunks"][0].object, "first_role": s["chunks"][0].choices[0].delta.role,
                "last_choices": len(last.choices), "last_usage": last.usage.model_dump() if last.usage else None,
                "middle_usage": [c.usage for c in s["chunks"][:-1] if c.usage is not None]}))
            """) as? [String: Any])
        let text = try XCTUnwrap(r["text"] as? String)
        XCTAssert(text.contains("Paris"), text)
        XCTAssertEqual(r["stream"] as? String, text, "streamed text == non-streamed text")
        XCTAssertEqual(r["role"] as? String, "assistant")
        XCTAssertEqual(r["object"] as? String, "chat.completion")
        XCTAssertEqual(r["first_object"] as? String, "chat.completion.chunk")
        XCTAssertEqual(r["first_role"] as? String, "assistant")
        XCTAssertEqual(r["finish"] as? String, r["sfinish"] as? String)
        let usage = try XCTUnwrap(r["usage"] as? [String: Any])
        XCTAssertGreaterThan(usage["prompt_tokens"] as? Int ?? 0, 5)
        XCTAssertEqual((usage["prompt_tokens"] as? Int ?? 0) + (usage["completion_tokens"] as? Int ?? 0), usage["total_tokens"] as? Int)
        XCTAssertEqual(r["last_choices"] as? Int, 0, "the usage chunk has empty choices")
        let last = try XCTUnwrap(r["last_usage"] as? [String: Any])
        XCTAssertEqual(last["completion_tokens"] as? Int, usage["completion_tokens"] as? Int)
        XCTAssertEqual(last["prompt_tokens"] as? Int, usage["prompt_tokens"] as? Int)
        XCTAssertEqual((r["middle_usage"] as? [Any])?.count, 0, "only the last chunk carries usage")
    }

    /// `max_tokens` and `max_completion_tokens` cut the answer with finish_reason "length" and exactly that many
    /// tokens; a system message and a list of text parts are accepted.
    func testMaxTokensGiveLength() throws {
        let r = try XCTUnwrap(try client("""
            a = chat(max_tokens=5)
            b = chat(max_completion_tokens=3, messages=[{"role": "developer", "content": "You are terse."},
                     {"role": "user", "content": [{"type": "text", "text": "Tell me "}, {"type": "text", "text": "a story."}]}])
            s = stream_chat(max_tokens=5)
            print(json.dumps([a.choices[0].finish_reason, a.usage.completion_tokens, b.choices[0].finish_reason,
                              b.usage.completion_tokens, s["finish"][0], s["texts"][0] == a.choices[0].message.content]))
            """) as? [Any])
        XCTAssertEqual(r[0] as? String, "length")
        XCTAssertEqual(r[1] as? Int, 5)
        XCTAssertEqual(r[2] as? String, "length")
        XCTAssertEqual(r[3] as? Int, 3)
        XCTAssertEqual(r[4] as? String, "length")
        XCTAssertEqual(r[5] as? Bool, true)
    }

    /// Legacy completions: default max_tokens 16 as OpenAI, n = 2 (choices 0 and 1), echo, streaming == whole.
    func testCompletions() throws {
        let r = try XCTUnwrap(try client("""
            P = "The capital of France is"
            a = client.completions.create(model=MODEL, prompt=P, temperature=0, extra_body={"ignore_eos": True})
            b = client.completions.create(model=MODEL, prompt=P, temperature=0, max_tokens=8)
            c = client.completions.create(model=MODEL, prompt=P, temperature=0, max_tokens=8, n=2)
            e = client.completions.create(model=MODEL, prompt=P, temperature=0, max_tokens=8, echo=True)
            st = "".join(ch.choices[0].text for ch in client.completions.create(model=MODEL, prompt=P, temperature=0,
                         max_tokens=8, stream=True) if ch.choices)
            print(json.dumps({"a": [a.usage.completion_tokens, a.choices[0].finish_reason], "b": b.choices[0].text,
                "bfinish": b.choices[0].finish_reason, "c": [[x.index, x.text] for x in c.choices], "e": e.choices[0].text,
                "st": st, "object": b.object, "cusage": c.usage.completion_tokens, "bprompt": b.usage.prompt_tokens,
                "cprompt": c.usage.prompt_tokens}))
            """) as? [String: Any])
        XCTAssertEqual(r["a"] as? [AnyHashable], [16, "length"], "OpenAI's default max_tokens is 16")
        let b = try XCTUnwrap(r["b"] as? String)
        XCTAssertFalse(b.isEmpty)
        XCTAssertEqual(r["bfinish"] as? String, "length")
        XCTAssertEqual(r["object"] as? String, "text_completion")
        let c = try XCTUnwrap(r["c"] as? [[Any]])
        XCTAssertEqual(c.map { $0[0] as? Int }, [0, 1])
        XCTAssertEqual(c.map { $0[1] as? String }, [b, b], "greedy: both choices are the greedy text")
        XCTAssertEqual(r["cusage"] as? Int, 16)
        XCTAssertEqual(r["cprompt"] as? Int, r["bprompt"] as? Int, "the prompt counts once")
        XCTAssertEqual(r["e"] as? String, "The capital of France is" + b)
        XCTAssertEqual(r["st"] as? String, b)
    }

    /// Chat logprobs: five alternatives per token, sorted, ≤ 0, the chosen (greedy) token first, and the chosen
    /// token's logprob equal to `hearth run --json` on the same conversation.
    func testChatLogprobsMatchHearthRun() throws {
        let r = try XCTUnwrap(try client("""
            r = chat(max_tokens=8, logprobs=True, top_logprobs=5)
            s = stream_chat(max_tokens=8, logprobs=True, top_logprobs=5)
            lp = [{"token": t.token, "logprob": t.logprob, "bytes": t.bytes,
                   "top": [[a.token, a.logprob] for a in t.top_logprobs]} for t in r.choices[0].logprobs.content]
            print(json.dumps({"lp": lp, "text": r.choices[0].message.content,
                              "stream": [[t.token, t.logprob] for t in s["logprobs"][0]]}))
            """) as? [String: Any])
        let lp = try XCTUnwrap(r["lp"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(lp.count, 5, "the greedy answer is 7 tokens, then end of turn")
        for t in lp {
            let top = try XCTUnwrap(t["top"] as? [[Any]])
            XCTAssertEqual(top.count, 5)
            let values = top.compactMap { $0[1] as? Double }
            XCTAssertEqual(values, values.sorted(by: >), "sorted, most likely first")
            XCTAssert(values.allSatisfy { $0 <= 0 })
            XCTAssertEqual(top[0][0] as? String, t["token"] as? String, "greedy picks the most likely token")
            let bytes = try XCTUnwrap(t["bytes"] as? [Int])
            XCTAssertEqual(String(decoding: bytes.map { UInt8($0) }, as: UTF8.self), t["token"] as? String)
        }
        let stream = try XCTUnwrap(r["stream"] as? [[Any]])
        XCTAssertEqual(stream.map { $0[0] as? String }, lp.map { $0["token"] as? String }, "streamed logprobs: same tokens")
        let run = try CLI.run(["run", CLI.smollm2, "What is the capital of France? Answer in one sentence.", "--temperature", "0", "--json",
                               "--num-predict", "8"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.filter { $0["token"] != nil }
        XCTAssertEqual(lines.count, lp.count)
        for (a, b) in zip(lines, lp) {
            XCTAssertEqual(a["piece"] as? String, b["token"] as? String)
            XCTAssertEqual(a["logprob"] as? Double ?? 1, b["logprob"] as? Double ?? 0, accuracy: 1e-3)
        }
    }

    /// n = 2 with a seed at temperature 1: two choices (index 0 and 1), the same texts again for the same seed,
    /// and streaming chunks carry their choice's index.
    func testTwoChoicesWithSeed() throws {
        let r = try XCTUnwrap(try client("""
            kw = dict(max_tokens=12, temperature=1.0, seed=1234, n=2, messages=[{"role": "user", "content": "Write a story about a dragon."}])
            a = chat(**kw); b = chat(**kw)
            s = stream_chat(**kw)
            print(json.dumps({"a": [[c.index, c.message.content] for c in a.choices], "b": [c.message.content for c in b.choices],
                              "s": s["texts"], "sfinish": s["finish"], "usage": a.usage.completion_tokens}))
            """) as? [String: Any])
        let a = try XCTUnwrap(r["a"] as? [[Any]])
        XCTAssertEqual(a.map { $0[0] as? Int }, [0, 1])
        let texts = a.compactMap { $0[1] as? String }
        XCTAssertEqual(texts.count, 2)
        XCTAssertEqual(r["b"] as? [String], texts, "a seed makes the request reproducible")
        let s = try XCTUnwrap(r["s"] as? [String: String])
        XCTAssertEqual(s["0"], texts[0])
        XCTAssertEqual(s["1"], texts[1])
        XCTAssertEqual((r["sfinish"] as? [String: String])?.count, 2)
        let usage = try XCTUnwrap(r["usage"] as? Int)
        XCTAssert(usage > 2 && usage <= 24, "completion tokens of both choices: \(usage)")
    }

    /// A stop string that spans two tokens ends the answer before it, streaming and not, with finish_reason stop.
    func testStopStringSpanningTwoTokens() throws {
        let r = try XCTUnwrap(try client("""
            full = chat(max_tokens=30, logprobs=True)
            text = full.choices[0].message.content
            toks = [t.token for t in full.choices[0].logprobs.content]
            stop = None
            pos = 0
            for i in range(len(toks) - 1):
                a, b = toks[i], toks[i + 1]
                pos += len(a)
                if len(a.strip()) >= 2 and len(b.strip()) >= 2 and i > 1:
                    cand = a[-2:] + b[:2]
                    if text.find(cand) == pos - 2:
                        stop = cand; break
            assert stop, toks
            r = chat(max_tokens=30, stop=[stop, "never-appears"])
            s = stream_chat(max_tokens=30, stop=stop)
            print(json.dumps({"stop": stop, "expected": text[:text.find(stop)], "got": r.choices[0].message.content,
                "finish": r.choices[0].finish_reason, "stream": s["texts"][0], "sfinish": s["finish"][0]}))
            """) as? [String: Any])
        let expected = try XCTUnwrap(r["expected"] as? String)
        XCTAssertEqual(r["got"] as? String, expected, "cut before the stop string \(r["stop"] ?? "")")
        XCTAssertEqual(r["stream"] as? String, expected)
        XCTAssertEqual(r["finish"] as? String, "stop")
        XCTAssertEqual(r["sfinish"] as? String, "stop")
    }

    /// Errors in OpenAI's shape: unknown model → NotFoundError (404); malformed JSON, a wrong type, negative
    /// max_tokens, top_logprobs out of range → BadRequestError (400); the server answers normally afterwards.
    func testErrorsAreOpenAIShapedAndServerStaysHealthy() throws {
        let r = try XCTUnwrap(try client("""
            out = {}
            def expect(name, cls, **kw):
                try:
                    chat(**kw); out[name] = "no error"
                except cls as e:
                    out[name] = [e.status_code, e.body.get("message") if isinstance(e.body, dict) else str(e.body)]
            expect("unknown", openai.NotFoundError, model="no-such-model")
            expect("negative", openai.BadRequestError, max_tokens=-1)
            expect("type", openai.BadRequestError, max_tokens="five")
            expect("top", openai.BadRequestError, logprobs=True, top_logprobs=21)
            expect("role", openai.BadRequestError, messages=[{"role": "wizard", "content": "hi"}])
            expect("empty", openai.BadRequestError, messages=[])
            expect("temp", openai.BadRequestError, temperature=3)
            expect("bias", openai.BadRequestError, logit_bias={"abc": 1})
            st, body = raw("POST", "/v1/chat/completions", b'{"model": "x", "messages": [')
            out["malformed"] = [st, json.loads(body)]
            r = chat(max_tokens=4)
            out["after"] = [r.choices[0].finish_reason, raw("GET", "/health")[0]]
            print(json.dumps(out))
            """) as? [String: Any])
        XCTAssertEqual((r["unknown"] as? [Any])?.first as? Int, 404)
        XCTAssert("\(r["unknown"] ?? "")".contains("no-such-model"))
        for key in ["negative", "type", "top", "role", "empty", "temp", "bias"] {
            let e = try XCTUnwrap(r[key] as? [Any], "\(key): \(r[key] ?? "nil")")
            XCTAssertEqual(e.first as? Int, 400, key)
            XCTAssertFalse((e.last as? String ?? "").isEmpty, key)
        }
        XCTAssert("\(r["negative"] ?? "")".contains("max_tokens"), "the error names the field")
        XCTAssert("\(r["type"] ?? "")".contains("max_tokens"), "the error names the field")
        let malformed = try XCTUnwrap(r["malformed"] as? [Any])
        XCTAssertEqual(malformed.first as? Int, 400)
        let err = try XCTUnwrap((malformed.last as? [String: Any])?["error"] as? [String: Any])
        XCTAssertNotNil(err["message"] as? String)
        XCTAssertEqual(err["type"] as? String, "invalid_request_error")
        XCTAssertEqual(r["after"] as? [AnyHashable], ["length", 200])
    }

    /// response_format json_schema: the answer parses and validates against the schema (Python's jsonschema);
    /// json_object gives a JSON object or array; an unsupported keyword is a 400 naming it; a GBNF grammar is obeyed.
    func testResponseFormat() throws {
        let schema = """
            {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
             "population": {"type": "integer", "minimum": 0, "maximum": 100000000},
             "continent": {"enum": ["Europe", "Asia", "Africa", "America", "Oceania"]},
             "landmarks": {"type": "array", "items": {"type": "string", "maxLength": 20}, "minItems": 1, "maxItems": 3}},
             "required": ["city", "population", "continent", "landmarks"], "additionalProperties": false}
            """
        let r = try XCTUnwrap(try client("""
            SCHEMA = json.loads('''\(schema)''')
            outs = []
            for seed in range(3):
                r = chat(max_tokens=250, temperature=1.0, seed=seed, response_format={"type": "json_schema",
                         "json_schema": {"name": "city", "schema": SCHEMA, "strict": True}})
                outs.append(r.choices[0].message.content)
            s = stream_chat(max_tokens=250, response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": SCHEMA}})
            outs.append(s["texts"][0])
            obj = chat(max_tokens=200, response_format={"type": "json_object"}).choices[0].message.content
            try:
                chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema":
                     {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}}})
                bad = "no error"
            except openai.BadRequestError as e:
                bad = e.body.get("message")
            g = chat(max_tokens=20, temperature=1.0, seed=7, extra_body={"grammar": 'root ::= [0-9]{4} "-" [0-9]{2} "-" [0-9]{2}'})
            print(json.dumps({"outs": outs, "obj": obj, "bad": bad, "date": g.choices[0].message.content}))
            """) as? [String: Any])
        let outs = try XCTUnwrap(r["outs"] as? [String])
        XCTAssertEqual(outs.count, 4)
        // Validate with the system Python's jsonschema (the clients' venv is shared and left as it is).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("schema-outputs-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: ["schema": try JSONSerialization.jsonObject(with: Data(schema.utf8)),
                                                    "outputs": outs]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = try ServeTests.python("""
            import json, jsonschema
            d = json.load(open("\(file.path)"))
            for o in d["outputs"]:
                jsonschema.validate(json.loads(o), d["schema"])
            print("valid")
            """)
        XCTAssertEqual(check.trimmingCharacters(in: .whitespacesAndNewlines), "valid", outs.joined(separator: "\n"))
        let obj = try XCTUnwrap(r["obj"] as? String)
        let parsed = try JSONSerialization.jsonObject(with: Data(obj.utf8))
        XCTAssert(parsed is [String: Any] || parsed is [Any], obj)
        XCTAssert((r["bad"] as? String ?? "").contains("uniqueItems"), "\(r["bad"] ?? "")")
        let date = try XCTUnwrap(r["date"] as? String)
        XCTAssertNotNil(date.range(of: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#, options: .regularExpression), date)
    }

    /// GET /v1/models lists the served model; GET /v1/models/{id} finds it, and an unknown id is a 404.
    func testModels() throws {
        let r = try XCTUnwrap(try client("""
            ids = [m.id for m in client.models.list().data]
            m = client.models.retrieve(MODEL)
            try:
                client.models.retrieve("no-such-model"); missing = "no error"
            except openai.NotFoundError as e:
                missing = e.status_code
            print(json.dumps({"ids": ids, "one": [m.id, m.object, m.owned_by, "created" if m.created > 0 else "no date"], "missing": missing}))
            """) as? [String: Any])
        XCTAssert((r["ids"] as? [String] ?? []).contains(Self.modelID), "\(r["ids"] ?? "")")
        XCTAssertEqual(r["one"] as? [String], [Self.modelID, "model", "hearth", "created"])
        XCTAssertEqual(r["missing"] as? Int, 404)
    }

    /// POST /tokenize and /detokenize (llama-server's shapes): the ids equal `hearth tokenize --no-bos`, the
    /// pieces join to the text, and detokenizing gives the text back.
    func testTokenizeRoundTrip() throws {
        let text = "Hello, world! Ünïcödé and <|im_start|> tokens."
        let r = try XCTUnwrap(try client("""
            TEXT = \(String(data: try JSONSerialization.data(withJSONObject: [text]), encoding: .utf8)!)[0]
            st, body = raw("POST", "/tokenize", {"content": TEXT})
            ids = json.loads(body)["tokens"]
            st2, body2 = raw("POST", "/tokenize", {"content": TEXT, "with_pieces": True})
            pieces = json.loads(body2)["tokens"]
            st3, body3 = raw("POST", "/detokenize", {"tokens": ids})
            st4, body4 = raw("POST", "/detokenize", {"tokens": [-1]})
            print(json.dumps({"ids": ids, "status": [st, st2, st3, st4], "pieces": pieces, "back": json.loads(body3)["content"]}))
            """) as? [String: Any])
        XCTAssertEqual(r["status"] as? [Int], [200, 200, 200, 400])
        let ids = try XCTUnwrap(r["ids"] as? [Int])
        let cli = try CLI.run(["tokenize", CLI.smollm2, text, "--no-bos", "--json"])
        XCTAssertEqual(cli.status, 0, cli.stderr)
        XCTAssertEqual(try JSONSerialization.jsonObject(with: cli.stdout) as? [Int], ids)
        let pieces = try XCTUnwrap(r["pieces"] as? [[String: Any]])
        XCTAssertEqual(pieces.compactMap { $0["id"] as? Int }, ids)
        XCTAssertEqual(r["back"] as? String, text)
    }

    /// 8 concurrent streams: 8 identical greedy requests each give the request's text alone, token for token with
    /// the same logprobs (batch invariance), and 8 different prompts each get their own text.
    func testEightConcurrentStreams() throws {
        let r = try XCTUnwrap(try client("""
            def run(msgs, out, i):
                s = stream_chat(messages=msgs, max_tokens=24, logprobs=True)
                out[i] = [s["texts"][0], [[t.token, t.logprob] for t in s["logprobs"][0]]]
            prompts = ["What is the capital of France?", "Name three colors.", "What is 2 + 2?", "Say hello in Spanish.",
                       "What is the largest planet?", "Write a haiku about rain.", "Who wrote Hamlet?", "What is water made of?"]
            alone = [None]
            run(FRANCE, alone, 0)
            same = [None] * 8
            ts = [threading.Thread(target=run, args=(FRANCE, same, i)) for i in range(8)]
            [t.start() for t in ts]; [t.join() for t in ts]
            own_alone = [None] * 8
            for i, p in enumerate(prompts): run([{"role": "user", "content": p}], own_alone, i)
            own = [None] * 8
            ts = [threading.Thread(target=run, args=([{"role": "user", "content": p}], own, i)) for i, p in enumerate(prompts)]
            [t.start() for t in ts]; [t.join() for t in ts]
            print(json.dumps({"alone": alone[0], "same": same, "own_alone": own_alone, "own": own}))
            """) as? [String: Any])
        let alone = try XCTUnwrap(r["alone"] as? [Any])
        let same = try XCTUnwrap(r["same"] as? [[Any]])
        XCTAssertEqual(same.count, 8)
        for (i, s) in same.enumerated() {
            XCTAssertEqual(s[0] as? String, alone[0] as? String, "stream \(i): same text as alone")
            let a = try XCTUnwrap(alone[1] as? [[Any]]), b = try XCTUnwrap(s[1] as? [[Any]])
            XCTAssertEqual(a.map { $0[0] as? String }, b.map { $0[0] as? String }, "stream \(i): same tokens")
            XCTAssertEqual(a.map { $0[1] as? Double }, b.map { $0[1] as? Double }, "stream \(i): same logprobs, bit for bit")
        }
        let ownAlone = try XCTUnwrap(r["own_alone"] as? [[Any]]), own = try XCTUnwrap(r["own"] as? [[Any]])
        XCTAssertEqual(own.map { $0[0] as? String }, ownAlone.map { $0[0] as? String })
        XCTAssertEqual(Set(own.compactMap { $0[0] as? String }).count, 8, "eight prompts, eight texts")
    }

    /// /metrics counts requests by route and status and tokens, has latency histograms, and shows a stream's
    /// sequence active while it runs and freed (0) once its client disconnects mid-stream.
    func testMetricsAndDisconnectFreesSequence() throws {
        let r = try XCTUnwrap(try client("""
            chat(max_tokens=4)
            try: chat(model="no-such-model")
            except openai.NotFoundError: pass
            before = metrics()
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            c.request("POST", "/v1/chat/completions", body=json.dumps({"model": MODEL, "messages": FRANCE, "stream": True,
                      "max_tokens": 4000, "ignore_eos": True}), headers={"Content-Type": "application/json"})
            resp = c.getresponse()
            for _ in range(12): resp.readline()
            during = metric(metrics(), "hearth_active_sequences")
            c.sock.close(); c.close()
            after = None
            for _ in range(100):
                time.sleep(0.1)
                after = metric(metrics(), "hearth_active_sequences")
                if after == 0: break
            m = metrics()
            print(json.dumps({
                "ok": metric(before, "hearth_http_requests_total", route="/v1/chat/completions", status="200"),
                "notfound": metric(before, "hearth_http_requests_total", route="/v1/chat/completions", status="404"),
                "generated": metric(before, "hearth_generated_tokens_total"),
                "prompt": metric(before, "hearth_prompt_tokens_total"),
                "ttft": metric(before, "hearth_time_to_first_token_seconds_count"),
                "itl": metric(before, "hearth_inter_token_latency_seconds_count"),
                "blocks": metric(before, "hearth_kv_blocks_total"),
                "has": [k for k in ["hearth_queue_depth", "hearth_kv_blocks_used", "hearth_prefix_cache_hit_ratio"]
                        if any(x.startswith(k) for x in m)],
                "during": during, "after": after}))
            """) as? [String: Any])
        XCTAssertGreaterThanOrEqual(r["ok"] as? Double ?? 0, 1)
        XCTAssertGreaterThanOrEqual(r["notfound"] as? Double ?? 0, 1)
        XCTAssertGreaterThanOrEqual(r["generated"] as? Double ?? 0, 4)
        XCTAssertGreaterThan(r["prompt"] as? Double ?? 0, 5)
        XCTAssertGreaterThanOrEqual(r["ttft"] as? Double ?? 0, 1)
        XCTAssertGreaterThanOrEqual(r["itl"] as? Double ?? 0, 3)
        XCTAssertGreaterThan(r["blocks"] as? Double ?? 0, 0)
        XCTAssertEqual(r["has"] as? [String], ["hearth_queue_depth", "hearth_kv_blocks_used", "hearth_prefix_cache_hit_ratio"])
        XCTAssertEqual(r["during"] as? Double, 1, "the stream's sequence is active while it runs")
        XCTAssertEqual(r["after"] as? Double, 0, "the disconnected client's sequence was freed")
    }
}
