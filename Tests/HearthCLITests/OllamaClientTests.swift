import Foundation
import XCTest

/// Ollama's API as the official `ollama` Python client (and raw HTTP for what the client hides) sees it, against a
/// real `hearth serve` over a temporary store holding smollm2:135m (ServerFixture).
final class OllamaClientTests: XCTestCase {
    static let question = "What is the capital of France? Answer in one sentence."

    /// Shared by the scripts: the client, the model name, greedy options and a raw-HTTP helper.
    static let prelude = """
        import json, sys, time, http.client, urllib.request
        import ollama
        HOST = sys.argv[1]
        PORT = int(HOST.rsplit(":", 1)[1])
        M = "\(ServerFixture.model)"
        Q = "\(question)"
        c = ollama.Client(host=HOST)
        G = {"temperature": 0, "num_predict": 24}
        def raw(method, path, body=None, text=None):
            h = http.client.HTTPConnection("127.0.0.1", PORT, timeout=300)
            data = text if text is not None else (json.dumps(body) if body is not None else None)
            h.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = h.getresponse()
            payload = r.read().decode()
            try:
                return r.status, json.loads(payload) if payload else None
            except ValueError:
                return r.status, payload
        def status_of(f):
            try:
                f()
                return 200
            except ollama.ResponseError as e:
                return e.status_code
        def ps_names():
            return [m.model for m in c.ps().models]
        out = {}

        """

    /// Generate and chat, streaming and not, give `hearth run`'s greedy answer; the closing objects carry Ollama's
    /// fields; `context` continues a conversation; stop strings cut the text; unknown models are 404s; bad
    /// requests are 400s and leave the server healthy; format json/schema constrain the output.
    func testGenerateAndChatMatchHearthRun() throws {
        let server = try ServerFixture.start()
        defer { server.stop() }
        let script = Self.prelude + """
            r = c.generate(model=M, prompt=Q, options=G, stream=False)
            out["gen"] = {k: getattr(r, k) for k in ["response", "done", "done_reason", "eval_count", "prompt_eval_count",
                          "total_duration", "load_duration", "eval_duration", "prompt_eval_duration", "model"]}
            out["gen"]["context"] = list(r.context or [])
            parts = list(c.generate(model=M, prompt=Q, options=G, stream=True))
            out["gen_stream"] = {"text": "".join(p.response for p in parts), "n": len(parts), "done": parts[-1].done,
                                 "reason": parts[-1].done_reason, "eval_count": parts[-1].eval_count,
                                 "early_done": any(p.done for p in parts[:-1])}
            msgs = [{"role": "user", "content": Q}]
            r = c.chat(model=M, messages=msgs, options=G, stream=False)
            out["chat"] = {"role": r.message.role, "content": r.message.content, "reason": r.done_reason,
                           "eval_count": r.eval_count, "prompt_eval_count": r.prompt_eval_count}
            parts = list(c.chat(model=M, messages=msgs, options=G, stream=True))
            out["chat_stream"] = {"text": "".join(p.message.content or "" for p in parts), "n": len(parts)}
            r2 = c.generate(model=M, prompt="And of Germany?", context=out["gen"]["context"], options=G, stream=False)
            out["ctx2"] = {"prompt_eval_count": r2.prompt_eval_count, "context_len": len(r2.context)}
            answer = out["gen"]["response"]
            stop = answer[12:17]
            r = c.generate(model=M, prompt=Q, options=dict(G, stop=[stop]), stream=False)
            out["stop"] = {"text": r.response, "expected": answer[:answer.find(stop)], "reason": r.done_reason}
            r = c.generate(model=M, prompt=Q, options=dict(G, num_predict=3), logprobs=True, top_logprobs=2, stream=False)
            out["logprobs"] = [{"token": l.token, "logprob": l.logprob, "top": len(l.top_logprobs or [])} for l in (r.logprobs or [])]
            parts = list(c.chat(model=M, messages=msgs, options=dict(G, num_predict=3), logprobs=True, stream=True))
            out["chat_logprobs"] = sum(len(p.logprobs or []) for p in parts)
            r = c.generate(model=M, prompt=Q, raw=True, options={"temperature": 0, "num_predict": 4}, stream=False)
            out["raw_prompt_tokens"] = r.prompt_eval_count
            out["unknown_generate"] = status_of(lambda: c.generate(model="no-such-model", prompt="hi"))
            out["unknown_chat"] = status_of(lambda: c.chat(model="no-such-model", messages=msgs))
            out["unknown_show"] = status_of(lambda: c.show("no-such-model:7b"))
            out["bad"] = {
                "malformed": raw("POST", "/api/generate", text="{not json"),
                "prompt_type": raw("POST", "/api/generate", {"model": M, "prompt": 5}),
                "options_type": raw("POST", "/api/chat", {"model": M, "messages": msgs, "options": {"temperature": "hot"}}),
                "num_predict": raw("POST", "/api/generate", {"model": M, "prompt": "hi", "options": {"num_predict": -3}}),
                "keep_alive": raw("POST", "/api/generate", {"model": M, "prompt": "hi", "keep_alive": "soon"}),
                "role": raw("POST", "/api/chat", {"model": M, "messages": [{"role": "wizard", "content": "hi"}]}),
                "messages_type": raw("POST", "/api/chat", {"model": M, "messages": "hi"}),
                "images": raw("POST", "/api/chat", {"model": M, "messages": [{"role": "user", "content": "hi", "images": ["aGk="]}]}),
                "suffix": raw("POST", "/api/generate", {"model": M, "prompt": "def f(", "suffix": "return 1"}),
                "schema": raw("POST", "/api/generate", {"model": M, "prompt": "hi", "format": {"type": "array", "uniqueItems": True}}),
                "format_type": raw("POST", "/api/generate", {"model": M, "prompt": "hi", "format": 3}),
                "top_logprobs": raw("POST", "/api/generate", {"model": M, "prompt": "hi", "top_logprobs": 50}),
                "long": raw("POST", "/api/generate", {"model": M, "prompt": "word " * 200, "options": {"num_ctx": 64}}),
            }
            out["truncated"] = raw("POST", "/api/generate", {"model": M, "prompt": "word " * 200, "truncate": True, "stream": False,
                                   "options": {"num_ctx": 64, "num_predict": 2, "temperature": 0}})[0]
            out["healthy"] = raw("GET", "/")[0]
            r = c.generate(model=M, prompt='What is the capital of France? Reply as a JSON object with the key "capital".',
                           format="json", options={"temperature": 0, "num_predict": 40}, stream=False)
            out["json"] = r.response
            schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                      "required": ["name", "age"]}
            r = c.chat(model=M, messages=[{"role": "user", "content": "Describe a cat called Tom."}], format=schema,
                       options={"temperature": 0, "num_predict": 64}, stream=False)
            out["schema"] = r.message.content
            print(json.dumps(out))
            """
        let out = try CLI.clientScript(script, [server.url])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)

        let run = try CLI.run(["run", ServerFixture.model, Self.question, "--temperature", "0", "--num-predict", "24"],
                              environment: server.environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        let expected = run.out.trimmingCharacters(in: .whitespacesAndNewlines)
        func trimmed(_ v: Any?) -> String? { (v as? String)?.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssert(expected.contains("Paris"), expected)

        let gen = try XCTUnwrap(obj["gen"] as? [String: Any])
        XCTAssertEqual(trimmed(gen["response"]), expected, "generate = hearth run")
        XCTAssertEqual(gen["done"] as? Bool, true)
        XCTAssertEqual(gen["model"] as? String, ServerFixture.model)
        XCTAssertNotNil(gen["done_reason"] as? String)
        for key in ["eval_count", "prompt_eval_count", "total_duration", "load_duration", "eval_duration", "prompt_eval_duration"] {
            XCTAssertNotNil(gen[key] as? Int, key)
        }
        XCTAssertGreaterThan(gen["prompt_eval_count"] as? Int ?? 0, 10, "the prompt went through the chat template")
        let context = try XCTUnwrap(gen["context"] as? [Int])
        XCTAssertEqual(context.count, (gen["prompt_eval_count"] as? Int ?? 0) + (gen["eval_count"] as? Int ?? 0))

        let stream = try XCTUnwrap(obj["gen_stream"] as? [String: Any])
        XCTAssertEqual(trimmed(stream["text"]), expected, "streamed generate = hearth run")
        XCTAssertGreaterThan(stream["n"] as? Int ?? 0, 5, "token by token")
        XCTAssertEqual(stream["done"] as? Bool, true)
        XCTAssertEqual(stream["early_done"] as? Bool, false)
        let chat = try XCTUnwrap(obj["chat"] as? [String: Any])
        XCTAssertEqual(chat["role"] as? String, "assistant")
        XCTAssertEqual(trimmed(chat["content"]), expected, "chat = hearth run (same template, SYSTEM, MESSAGEs)")
        XCTAssertEqual(trimmed((obj["chat_stream"] as? [String: Any])?["text"]), expected)
        XCTAssertGreaterThan((obj["chat_stream"] as? [String: Any])?["n"] as? Int ?? 0, 5)

        let ctx2 = try XCTUnwrap(obj["ctx2"] as? [String: Any])
        XCTAssertGreaterThan(ctx2["prompt_eval_count"] as? Int ?? 0, context.count, "context + the new turn")
        let stop = try XCTUnwrap(obj["stop"] as? [String: Any])
        XCTAssertEqual(stop["text"] as? String, stop["expected"] as? String, "text cut before the stop string")
        XCTAssertEqual(stop["reason"] as? String, "stop")
        let logprobs = try XCTUnwrap(obj["logprobs"] as? [[String: Any]])
        XCTAssertEqual(logprobs.count, 3, "one entry per generated token")
        XCTAssertEqual(logprobs.first?["token"] as? String, "The")
        for l in logprobs {
            XCTAssertEqual(l["top"] as? Int, 2)
            XCTAssertLessThanOrEqual(l["logprob"] as? Double ?? 1, 0)
        }
        XCTAssertEqual(obj["chat_logprobs"] as? Int, 3, "streamed chat: every token's entry arrives")
        XCTAssertEqual(obj["raw_prompt_tokens"] as? Int, 12, "raw: the question's own tokens, no template")

        for key in ["unknown_generate", "unknown_chat", "unknown_show"] { XCTAssertEqual(obj[key] as? Int, 404, key) }
        let bad = try XCTUnwrap(obj["bad"] as? [String: [Any]])
        let fields = ["prompt_type": "prompt", "options_type": "temperature", "num_predict": "num_predict",
                      "keep_alive": "keep_alive", "role": "role", "messages_type": "messages", "images": "images",
                      "suffix": "suffix", "schema": "uniqueItems", "format_type": "format", "long": "64",
                      "top_logprobs": "top_logprobs"]
        for (key, r) in bad {
            XCTAssertEqual(r.first as? Int, 400, "\(key): \(r)")
            let message = (r.last as? [String: Any])?["error"] as? String ?? ""
            XCTAssertFalse(message.isEmpty, key)
            if let f = fields[key] { XCTAssert(message.contains(f), "\(key): the error names \(f): \(message)") }
        }
        XCTAssertEqual(obj["truncated"] as? Int, 200, "truncate: true cuts the prompt instead")
        XCTAssertEqual(obj["healthy"] as? Int, 200)

        let json = try XCTUnwrap(obj["json"] as? String)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.utf8)), "format json: \(json)")
        let schema = try XCTUnwrap(obj["schema"] as? String)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(schema.utf8)) as? [String: Any], schema)
        XCTAssertNotNil(parsed["name"] as? String, schema)
        XCTAssertNotNil(parsed["age"] as? Int, schema)
        XCTAssert(server.log.contains("POST /api/chat 200"), server.log)
    }

    /// list/show/ps/copy/delete/version/create through the client; keep_alive: 0 unloads; an empty prompt loads;
    /// a client that disconnects mid-stream has its sequence freed; `hearth ps` and `hearth stop` talk to the server.
    func testModelManagementLifecycleAndPsStop() throws {
        let server = try ServerFixture.start()
        defer { server.stop() }
        let script = Self.prelude + """
            out["version"] = raw("GET", "/api/version")
            out["head_tags"] = raw("HEAD", "/api/tags")[0]
            tags = c.list().models
            out["list"] = [{"model": m.model, "size": m.size, "digest": m.digest, "family": m.details.family,
                            "quant": m.details.quantization_level} for m in tags]
            s = c.show(M)
            out["show"] = {"modelfile": s.modelfile, "parameters": s.parameters, "template": s.template,
                           "capabilities": s.capabilities, "arch": s.modelinfo.get("general.architecture"),
                           "format": s.details.format}
            out["ps_before"] = ps_names()
            r = c.generate(model=M, prompt="")
            out["load"] = r.done_reason
            ps = c.ps().models
            out["ps"] = [{"model": m.model, "size": m.size, "context": m.context_length,
                          "expires_in": (m.expires_at.timestamp() - time.time())} for m in ps]
            r = c.generate(model=M, prompt="", keep_alive=0)
            out["unload"] = r.done_reason
            out["ps_after_unload"] = ps_names()
            c.chat(model=M, messages=[{"role": "user", "content": "Hi"}], options={"num_predict": 2}, keep_alive=0)
            deadline = time.time() + 5
            while ps_names() and time.time() < deadline: time.sleep(0.1)
            out["ps_after_keep_alive_0"] = ps_names()
            out["copy"] = c.copy(M, "copied:1").status
            out["copy_listed"] = "copied:1" in [m.model for m in c.list().models]
            out["delete"] = c.delete("copied:1").status
            out["delete_again"] = status_of(lambda: c.delete("copied:1"))
            out["copy_unknown"] = status_of(lambda: c.copy("no-such:1", "x:1"))
            st = c.create(model="pirate:1", from_=M, system="You are a pirate.",
                          parameters={"temperature": 0, "num_predict": 8, "stop": ["<|im_end|>"]}, stream=False)
            out["create"] = st.status
            p = c.show("pirate:1")
            out["pirate"] = {"system": raw("POST", "/api/show", {"model": "pirate:1"})[1].get("system"),
                             "parameters": p.parameters, "modelfile": p.modelfile}
            r = c.generate(model="pirate:1", prompt="Hello", stream=False)
            out["pirate_gen"] = {"eval_count": r.eval_count, "model": r.model}
            lines = [x.status for x in c.create(model="mf:1", from_=M, template="{{ messages[0]['content'] }}", stream=True)]
            out["create_stream"] = lines
            out["create_modelfile"] = raw("POST", "/api/create", {"model": "mf:2", "stream": False,
                                          "modelfile": "FROM " + M + "\\nSYSTEM Be brief.\\nPARAMETER top_k 7\\n"})
            out["create_unknown"] = status_of(lambda: c.create(model="x:1", from_="no-such-base:1", stream=False))
            out["create_bad_param"] = status_of(lambda: c.create(model="x:1", from_=M, parameters={"top_k": "many"}, stream=False))
            out["mf2"] = raw("POST", "/api/show", {"model": "mf:2"})[1].get("system")
            # A client that goes away mid-stream: its sequence is freed (ps shows no active sequence).
            h = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            h.request("POST", "/api/generate", body=json.dumps({"model": M, "prompt": "Tell me a long story.",
                      "options": {"num_predict": 4000, "temperature": 0}}), headers={"Content-Type": "application/json"})
            resp = h.getresponse()
            first = [resp.readline() for _ in range(4)]
            active = raw("GET", "/api/ps")[1]["models"][0]["active_sequences"]
            h.sock.close(); h.close()
            deadline = time.time() + 10
            while time.time() < deadline:
                m = raw("GET", "/api/ps")[1]["models"][0]
                if m["active_sequences"] == 0 and m["requests"] == 0: break
                time.sleep(0.1)
            out["disconnect"] = {"active_while_streaming": active, "after": m["active_sequences"], "lines": len(first),
                                 "kv_used_after": m["kv_blocks_used"]}
            print(json.dumps(out))
            """
        let out = try CLI.clientScript(script, [server.url])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        let version = try XCTUnwrap(obj["version"] as? [Any])
        XCTAssertEqual(version.first as? Int, 200)
        XCTAssertNotNil((version.last as? [String: Any])?["version"] as? String)
        XCTAssertEqual(obj["head_tags"] as? Int, 200)
        let list = try XCTUnwrap(obj["list"] as? [[String: Any]])
        XCTAssertEqual(list.map { $0["model"] as? String }, [ServerFixture.model])
        XCTAssertEqual(list.first?["family"] as? String, "llama")
        XCTAssertEqual(list.first?["quant"] as? String, "Q4_1")
        XCTAssertGreaterThan(list.first?["size"] as? Int ?? 0, 50_000_000)
        XCTAssertEqual((list.first?["digest"] as? String)?.count, 64)
        let show = try XCTUnwrap(obj["show"] as? [String: Any])
        XCTAssert((show["modelfile"] as? String ?? "").contains("FROM "), "\(show)")
        XCTAssert((show["parameters"] as? String ?? "").contains("num_ctx"), "\(show)")
        XCTAssert((show["parameters"] as? String ?? "").contains("\"<|im_end|>\""), "\(show)")
        XCTAssert((show["template"] as? String ?? "").contains("im_start"), "the GGUF's chat template")
        XCTAssertEqual(show["arch"] as? String, "llama")
        XCTAssertEqual(show["format"] as? String, "gguf")
        XCTAssert((show["capabilities"] as? [String] ?? []).contains("completion"))

        XCTAssertEqual(obj["ps_before"] as? [String], [])
        XCTAssertEqual(obj["load"] as? String, "load")
        let ps = try XCTUnwrap(obj["ps"] as? [[String: Any]])
        XCTAssertEqual(ps.first?["model"] as? String, ServerFixture.model)
        XCTAssertEqual(ps.first?["context"] as? Int, 8192, "the Modelfile's num_ctx")
        XCTAssertGreaterThan(ps.first?["size"] as? Int ?? 0, 100_000_000, "weights + KV cache")
        let expiresIn = ps.first?["expires_in"] as? Double ?? 0
        XCTAssert(expiresIn > 250 && expiresIn <= 301, "default keep-alive 5m: \(expiresIn)")
        XCTAssertEqual(obj["unload"] as? String, "unload")
        XCTAssertEqual(obj["ps_after_unload"] as? [String], [])
        XCTAssertEqual(obj["ps_after_keep_alive_0"] as? [String], [], "keep_alive 0 unloads after the request")

        XCTAssertEqual(obj["copy"] as? String, "success")
        XCTAssertEqual(obj["copy_listed"] as? Bool, true)
        XCTAssertEqual(obj["delete"] as? String, "success")
        XCTAssertEqual(obj["delete_again"] as? Int, 404)
        XCTAssertEqual(obj["copy_unknown"] as? Int, 404)
        XCTAssertEqual(obj["create"] as? String, "success")
        let pirate = try XCTUnwrap(obj["pirate"] as? [String: Any])
        XCTAssertEqual(pirate["system"] as? String, "You are a pirate.")
        XCTAssert((pirate["parameters"] as? String ?? "").contains("num_predict"), "\(pirate)")
        XCTAssert((pirate["modelfile"] as? String ?? "").contains("SYSTEM"), "\(pirate)")
        let pirateGen = try XCTUnwrap(obj["pirate_gen"] as? [String: Any])
        XCTAssertLessThanOrEqual(pirateGen["eval_count"] as? Int ?? 99, 8, "the created model's num_predict")
        XCTAssertEqual(pirateGen["model"] as? String, "pirate:1")
        let lines = try XCTUnwrap(obj["create_stream"] as? [String])
        XCTAssertEqual(lines.last, "success")
        XCTAssert(lines.contains("writing manifest"), "\(lines)")
        XCTAssertEqual((obj["create_modelfile"] as? [Any])?.first as? Int, 200)
        XCTAssertEqual(obj["mf2"] as? String, "Be brief.")
        XCTAssertEqual(obj["create_unknown"] as? Int, 404)
        XCTAssertEqual(obj["create_bad_param"] as? Int, 400)

        let disconnect = try XCTUnwrap(obj["disconnect"] as? [String: Any])
        XCTAssertEqual(disconnect["active_while_streaming"] as? Int, 1)
        XCTAssertEqual(disconnect["after"] as? Int, 0, "the disconnected sequence was freed")
        XCTAssertEqual(disconnect["kv_used_after"] as? Int, 0, "and its KV blocks")
        XCTAssert(server.log.contains("POST /api/generate 499"), server.log)

        // hearth ps / hearth stop against the server.
        let psOut = try CLI.run(["ps"], environment: server.environment)
        XCTAssertEqual(psOut.status, 0, psOut.stderr)
        let header = psOut.out.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertEqual(header.split(separator: " ").map(String.init), ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"])
        XCTAssert(psOut.out.contains(ServerFixture.model) && psOut.out.contains("100% CPU") && psOut.out.contains("from now"),
                  psOut.out)
        let stop = try CLI.run(["stop", ServerFixture.model], environment: server.environment)
        XCTAssertEqual(stop.status, 0, stop.stderr)
        let psAfter = try CLI.run(["ps"], environment: server.environment)
        XCTAssertFalse(psAfter.out.contains(ServerFixture.model), psAfter.out)
        let stopAgain = try CLI.run(["stop", ServerFixture.model], environment: server.environment)
        XCTAssertNotEqual(stopAgain.status, 0)
        XCTAssert(stopAgain.stderr.contains("couldn't find model"), stopAgain.stderr)
        let noServer = try CLI.run(["ps"], environment: ["HEARTH_HOST": "127.0.0.1:\(try ServerFixture.freePort())"])
        XCTAssertNotEqual(noServer.status, 0)
        XCTAssert(noServer.stderr.contains("cannot reach the Hearth server"), noServer.stderr)
    }

    /// HEARTH_KEEP_ALIVE sets the default; a model that cannot fit in memory is refused with both figures; a
    /// negative keep_alive keeps the model for ever.
    func testKeepAliveEnvironmentAndMemoryRefusal() throws {
        let server = try ServerFixture.start(env: ["HEARTH_KEEP_ALIVE": "1s"])
        defer { server.stop() }
        let script = Self.prelude + """
            c.generate(model=M, prompt="")
            out["loaded"] = ps_names()
            time.sleep(2.5)
            out["after_1s"] = ps_names()
            c.generate(model=M, prompt="", keep_alive=-1)
            time.sleep(1.5)
            m = c.ps().models
            out["forever"] = [x.expires_at.year for x in m]
            c.generate(model=M, prompt="", keep_alive="1h30m")
            m = c.ps().models
            out["ninety"] = [(x.expires_at.timestamp() - time.time()) for x in m]
            print(json.dumps(out))
            """
        let out = try CLI.clientScript(script, [server.url])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        XCTAssertEqual(obj["loaded"] as? [String], [ServerFixture.model])
        XCTAssertEqual(obj["after_1s"] as? [String], [], "HEARTH_KEEP_ALIVE=1s unloaded the idle model")
        XCTAssertGreaterThan((obj["forever"] as? [Int])?.first ?? 0, 2200, "negative keep_alive: no expiry")
        let ninety = (obj["ninety"] as? [Double])?.first ?? 0
        XCTAssert(ninety > 5300 && ninety <= 5401, "keep_alive 1h30m: \(ninety)")

        // Far more parallel sequences than memory holds: refused before loading, naming both figures.
        let big = try ServerFixture.start(env: ["HEARTH_NUM_PARALLEL": "200000"])
        defer { big.stop() }
        let refused = try CLI.clientScript(Self.prelude + """
            try:
                c.generate(model=M, prompt="hi")
                print("loaded")
            except ollama.ResponseError as e:
                print(e.status_code, e.error)
            """, [big.url])
        XCTAssert(refused.hasPrefix("500 "), refused)
        XCTAssert(refused.contains("KV cache") && refused.contains("available"), refused)
        XCTAssert(refused.contains("GiB") || refused.contains("TiB"), refused)
    }
    /// HEARTH_MAX_LOADED_MODELS=1: loading a second model unloads the idle first one (LRU); while the loaded one
    /// streams, another cannot load and the request gets a 503 saying why.
    func testMaxLoadedModelsEvictsIdleAndRefusesWhenBusy() throws {
        let server = try ServerFixture.start(env: ["HEARTH_MAX_LOADED_MODELS": "1"])
        defer { server.stop() }
        let script = Self.prelude + """
            c.generate(model=M, prompt="")
            c.copy(M, "other:1")
            c.generate(model="other:1", prompt="")
            out["after_second"] = ps_names()
            h = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            h.request("POST", "/api/generate", body=json.dumps({"model": "other:1", "prompt": "Tell me a long story.",
                      "options": {"num_predict": 4000}}), headers={"Content-Type": "application/json"})
            resp = h.getresponse()
            [resp.readline() for _ in range(2)]
            out["busy"] = raw("POST", "/api/generate", {"model": M, "prompt": ""})
            h.sock.close(); h.close()
            deadline = time.time() + 10
            while time.time() < deadline:
                m = raw("GET", "/api/ps")[1]["models"]
                if m and m[0]["requests"] == 0 and m[0]["active_sequences"] == 0: break
                time.sleep(0.1)
            r = c.generate(model=M, prompt="")
            out["after_idle"] = ps_names()
            print(json.dumps(out))
            """
        let out = try CLI.clientScript(script, [server.url])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        XCTAssertEqual(obj["after_second"] as? [String], ["other:1"], "the idle first model made room")
        let busy = try XCTUnwrap(obj["busy"] as? [Any])
        XCTAssertEqual(busy.first as? Int, 503)
        XCTAssert("\(busy)".contains("HEARTH_MAX_LOADED_MODELS"), "\(busy)")
        XCTAssertEqual(obj["after_idle"] as? [String], [ServerFixture.model])
    }

    /// `POST /api/pull` from a loopback stand-in for the Hugging Face Hub (Tests/Fixtures/hf_fixture_server.py),
    /// streamed status objects; `create_blob` + `create(files=)` installs an uploaded GGUF; blob digests are checked.
    func testPullAndBlobUpload() throws {
        let hub = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-hub-\(UUID().uuidString)")
        let repo = hub.appendingPathComponent("testowner/SmolLM2-GGUF")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: hub) }
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path,
                                                   withDestinationPath: CLI.smollm2)
        let control = hub.appendingPathComponent("control.json")
        try Data("{}".utf8).write(to: control)
        let fixture = Process()
        fixture.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        fixture.arguments = ["python3", CLI.repoRoot.appendingPathComponent("Tests/Fixtures/hf_fixture_server.py").path,
                             "--root", hub.path, "--control", control.path, "--log", hub.appendingPathComponent("log").path]
        let pipe = Pipe()
        fixture.standardOutput = pipe
        try fixture.runUnpinned()
        defer { fixture.terminate(); fixture.waitUntilExit() }
        var bytes = Data()
        while !bytes.contains(UInt8(ascii: "\n")) {
            let more = pipe.fileHandleForReading.availableData
            if more.isEmpty { break }
            bytes += more
        }
        let hubPort = try XCTUnwrap(Int(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        let server = try ServerFixture.start(env: ["HF_ENDPOINT": "http://127.0.0.1:\(hubPort)"])
        defer { server.stop() }
        let script = Self.prelude + """
            out["pull"] = [p.status for p in c.pull("hf.co/testowner/SmolLM2-GGUF:Q4_1", stream=True)]
            out["listed"] = sorted(m.model for m in c.list().models)
            try:
                c.pull("hf.co/testowner/NoSuchRepo:Q4_1", stream=False)
                out["pull_missing"] = "ok"
            except ollama.ResponseError as e:
                out["pull_missing"] = e.error
            digest = c.create_blob(sys.argv[2])
            out["digest"] = digest
            out["head"] = raw("HEAD", "/api/blobs/" + digest)[0]
            out["head_missing"] = raw("HEAD", "/api/blobs/sha256:" + "0" * 64)[0]
            out["bad_digest"] = raw("POST", "/api/blobs/sha256:" + "1" * 64, text="not the right bytes")[0]
            out["not_digest"] = raw("HEAD", "/api/blobs/md5:abc")[0]
            out["create"] = c.create(model="uploaded:1", files={"model.gguf": digest}, stream=False).status
            out["missing_blob"] = status_of(lambda: c.create(model="x:1", files={"m.gguf": "sha256:" + "2" * 64}, stream=False))
            r = c.generate(model="uploaded:1", prompt=Q, options=G, stream=False)
            out["uploaded_answer"] = r.response
            print(json.dumps(out))
            """
        let out = try CLI.clientScript(script, [server.url, CLI.smollm2])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], out)
        let pull = try XCTUnwrap(obj["pull"] as? [String])
        XCTAssertEqual(pull.first, "pulling manifest")
        XCTAssertEqual(pull.last, "success")
        XCTAssert(pull.contains("writing manifest"), "\(pull)")
        XCTAssertEqual(obj["listed"] as? [String], ["hf.co/testowner/SmolLM2-GGUF:Q4_1", ServerFixture.model])
        XCTAssertNotEqual(obj["pull_missing"] as? String, "ok")
        XCTAssertEqual(obj["digest"] as? String, "sha256:\(PullCLITests.smollm2SHA)")
        XCTAssertEqual(obj["head"] as? Int, 200)
        XCTAssertEqual(obj["head_missing"] as? Int, 404)
        XCTAssertEqual(obj["bad_digest"] as? Int, 400)
        XCTAssertEqual(obj["not_digest"] as? Int, 400)
        XCTAssertEqual(obj["create"] as? String, "success")
        XCTAssertEqual(obj["missing_blob"] as? Int, 400)
        XCTAssert((obj["uploaded_answer"] as? String ?? "").contains("Paris"), "\(obj)")
    }
}
