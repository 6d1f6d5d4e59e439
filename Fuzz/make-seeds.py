#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<harness>/ from the real files (docs/SECURITY.md, "Fuzzing").

Run from the repository root with models/ present: python3 Fuzz/make-seeds.py (or make-seeds.py HARNESS for one
harness's seeds, e.g. server-request, which needs no models). Seeds are small slices of the
real inputs (GGUF headers, the MiniLM tokenizer.json cut to a small vocabulary, the reference chat templates,
Modelfiles, grammars, schemas, request bodies) so the whole corpus stays well under 2 MB.
"""
import glob, hashlib, json, os, re, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus")
REF = os.path.join(ROOT, "..", "shared", "reference")


def put(harness, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gguf_seeds():
    for path in sorted(glob.glob(os.path.join(ROOT, "models", "*.gguf"))):
        with open(path, "rb") as f:
            put("gguf", os.path.basename(path) + ".head", f.read(64 << 10))
    import numpy as np
    import gguf
    tmp = os.path.join(OUT, "tiny.gguf.tmp")
    for kind in ("gpt2", "llama"):
        w = gguf.GGUFWriter(tmp, "llama")
        w.add_block_count(1)
        w.add_context_length(64)
        w.add_embedding_length(32)
        w.add_head_count(2)
        w.add_tokenizer_model(kind)
        if kind == "gpt2":
            toks = ["<|endoftext|>", "a", "b", "Ġ", "ab", "Ġa", "<|im_start|>"] + [chr(c) for c in range(0x21, 0x7f)]
            w.add_tokenizer_pre("smollm")
            w.add_token_list(toks)
            w.add_token_types([3] + [1] * (len(toks) - 2) + [3])
            w.add_token_merges(["a b", "Ġ a"])
        else:
            toks = ["<unk>", "<s>", "</s>", "▁", "▁a", "a", "b"] + ["<0x%02X>" % i for i in range(256)]
            w.add_token_list(toks)
            w.add_token_scores([0.0] * 3 + [-float(i) for i in range(len(toks) - 3)])
            w.add_token_types([2, 3, 3] + [1] * 4 + [6] * 256)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_array("fuzz.nested", [[1, 2], [3]])
        w.add_tensor("token_embd.weight", np.arange(64, dtype=np.float32).reshape(2, 32))
        w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float16))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(tmp, "rb") as f:
            put("gguf", "tiny-%s.gguf" % kind, f.read())
        os.remove(tmp)


def safetensors_seeds():
    path = os.path.join(ROOT, "models", "all-MiniLM-L6-v2", "model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        f.seek(0)
        put("safetensors", "minilm.head", f.read(8 + n + 256))

    def tiny(header, payload):
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        return struct.pack("<Q", len(h)) + h + payload

    put("safetensors", "tiny-f32", tiny({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                         "b": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]}}, bytes(24)))
    put("safetensors", "tiny-bf16", tiny({"x": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}, bytes(2)))


def tokenizer_seeds():
    path = os.path.join(ROOT, "models", "all-MiniLM-L6-v2", "tokenizer.json")
    with open(path) as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    keep = {k: v for k, v in vocab.items() if v < 1200 or k in ("hello", "world", "##s", "the")}
    tj["model"]["vocab"] = keep
    put("tokenizer", "minilm-small.json", json.dumps(tj, ensure_ascii=False))
    tj2 = json.loads(json.dumps(tj))
    tj2["normalizer"] = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": False}
    tj2["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}
    tj2["truncation"] = {"max_length": 8, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}
    put("tokenizer", "minilm-bertprocessing.json", json.dumps(tj2, ensure_ascii=False))


def jinja_seeds():
    seen = set()
    with open(os.path.join(REF, "templates-corpus.json")) as f:
        corpus = json.load(f)
    templates = [(t["name"], t["template"]) for t in corpus["templates"]]
    for name in ("template-smollm2.json", "template-qwen25coder.json"):
        with open(os.path.join(REF, name)) as f:
            templates.append((name, json.load(f)["template"]))
    for name, text in templates:
        if text in seen:
            continue
        seen.add(text)
        put("jinja", re.sub(r"[^A-Za-z0-9._-]", "_", name), text)
    put("jinja", "features.jinja", "{% set ns = namespace(x=0) %}{% for i in range(3) if i is odd %}{{ loop.index }}"
        "{% set ns.x = ns.x + i %}{% break %}{% endfor %}{% macro m(a, b=2) %}{{ a ~ b | string }}{% endmacro %}"
        "{{ m(1) }}{{ messages | map(attribute='role') | join(',') }}{{ '%s=%d' % ('a', 1) }}"
        "{{ {'k': [1, 2.5, none, true]} | tojson(indent=2) }}{{ 'x'.upper() * 3 }}{{ strftime_now('%Y-%m-%d') }}"
        "{%- if tools is not none %}{{ tools[0].function.name | trim }}{% endif %}{% raw %}{{ raw }}{% endraw %}"
        "{{ messages[-1]['content'][0].text if messages[-1]['content'] is not string }}"
        "{% filter upper %}f{% endfilter %}{% generation %}g{% endgeneration %}{{ raise_exception('stop') if false }}")


def modelfile_seeds():
    for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.Modelfile"))):
        with open(path) as f:
            put("modelfile", os.path.basename(path), f.read())
    put("modelfile", "all.Modelfile", 'FROM ./model.gguf\nPARAMETER temperature 0.7\nPARAMETER top_k 40\nPARAMETER top_p 0.9\n'
        'PARAMETER min_p 0.05\nPARAMETER seed 42\nPARAMETER num_predict -1\nPARAMETER repeat_penalty 1.1\n'
        'PARAMETER repeat_last_n 64\nPARAMETER num_ctx 4096\nPARAMETER stop "<|im_end|>"\n'
        'TEMPLATE """{{ if .System }}<|system|>{{ .System }}{{ end }}{{ .Prompt }}"""\nSYSTEM """You are\nhelpful."""\n'
        'MESSAGE user Hi\nMESSAGE assistant """Hello\nthere"""\nLICENSE """MIT"""\nLICENSE Apache-2.0\n# comment\n')


def grammar_seeds():
    src = open(os.path.join(ROOT, "Tests", "HearthGrammarTests", "JSONSchemaGrammarTests.swift")).read()
    schemas = re.findall(r'^\s*#+"(\{.*\})"#+,?$', src, re.M)
    for i, s in enumerate(schemas):
        put("jsonschema", "test-%02d.json" % i, s)
    put("jsonschema", "defs.json", json.dumps({"type": "object", "properties": {"a": {"$ref": "#/definitions/x"},
        "b": {"type": "array", "items": {"type": "number"}, "minItems": 2}}, "definitions": {"x": {"type": "string",
        "enum": ["p", "q"]}}, "required": ["a"], "additionalProperties": True}))
    grammars = {
        "chess.gbnf": 'root ::= (\n  "1. " move " " move "\\n"\n  ([1-9] [0-9]? ". " move " " move "\\n")+\n)\n'
                      'move ::= (pawn | nonpawn | castle) [+#]?\npawn ::= [a-h] [1-8]\n'
                      'nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]\ncastle ::= "O-O" "-O"?\n\x001. e4 e5\n2. Nf3 Nc6\n',
        "expr.gbnf": 'root ::= expr\nexpr ::= term (("+" | "-") term)*\nterm ::= factor (("*" | "/") factor)*\n'
                     'factor ::= [0-9]+ | "(" expr ")"\n\x001+2*(3-4)/((5))',
        "json.gbnf": 'root   ::= object\nvalue  ::= object | array | string | number | ("true" | "false" | "null") ws\n'
                     'object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws\n'
                     'array  ::= "[" ws ( value ("," ws value)* )? "]" ws\n'
                     'string ::= "\\"" ( [^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\\"" ws\n'
                     'number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws\n'
                     'ws ::= | " " | "\\n" [ \\t]{0,20}\n\x00{"a": [1, 2.5e3, "x\\u00e9"], "b": null}',
        "unicode.gbnf": 'root ::= [^\\x00-\\x1f] "日本" [\\u00e0-\\u00ff]* "\\U0001F600"? . x{2,} \nx ::= "y" | [a-c]\n\x00Zé日本àà',
    }
    for name, text in grammars.items():
        put("gbnf", name, text)


def request_seeds():
    bodies = {
        "generate.json": {"model": "models/x.gguf", "prompt": "Why is the sky blue?", "raw": True, "stream": False,
                          "options": {"temperature": 0, "top_k": 40, "top_p": 0.9, "min_p": 0.05, "seed": 7,
                                      "num_predict": 16, "num_ctx": 2048, "repeat_penalty": 1.1, "repeat_last_n": 64,
                                      "stop": ["\n"]}, "keep_alive": "5m", "format": "json", "context": [1, 2, 3]},
        "generate-schema.json": {"prompt": "x", "format": {"type": "object", "properties": {"a": {"type": "integer"}},
                                 "required": ["a"]}, "keep_alive": 0, "truncate": True},
        "completion.json": {"model": "m", "prompt": "Once upon a time", "max_tokens": 64, "temperature": 0.5,
                            "top_p": 1, "seed": 1, "stream": True, "stop": ["\n", "."], "logprobs": 2, "n": 1,
                            "echo": False, "stream_options": {"include_usage": True}, "user": "u"},
        "chat.json": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function",
                      "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
                      "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "string"}}}},
    }
    for name, body in bodies.items():
        put("request", name, json.dumps(body, ensure_ascii=False))
    put("request", "weird.json", '[1e400, -0.0, "\\ud83d\\ude00", "\\u0000", {"": {}}, [[[]]], true, null, 12345678901234567890]')


def server_request_seeds():
    """Bodies the tests send (Tests/HearthCLITests: OllamaClientTests, ServeTests, OpenAIClientTests, EmbedHTTPTests,
    ToolCallClientTests, PathRefusalTests; scripts/abuse), good and bad, one route's body each, for the typed
    decoders and their validation (Fuzz/Harnesses/server-request.swift)."""
    M = "smollm2:135m"
    msgs = [{"role": "user", "content": "Hi"}]
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string",
            "enum": ["c", "f"]}}, "required": ["city"]}}}
    bodies = {
        # Ollama /api/generate, /api/chat
        "generate.json": {"model": M, "prompt": "The capital of France is", "raw": True, "stream": False,
                          "options": {"temperature": 0, "num_predict": 3, "top_k": 40, "top_p": 0.9, "min_p": 0.05,
                                      "typical_p": 1, "seed": 42, "num_ctx": 2048, "repeat_penalty": 1.1,
                                      "repeat_last_n": 64, "presence_penalty": 0, "frequency_penalty": 0,
                                      "mirostat": 2, "mirostat_tau": 5, "mirostat_eta": 0.1, "stop": ["\n"],
                                      "num_gpu": 0, "use_mmap": True}, "keep_alive": "1h30m", "context": [1, 2, 3],
                          "logprobs": True, "top_logprobs": 2, "think": "low", "truncate": True},
        "generate-bad.json": {"model": M, "prompt": 5, "options": {"num_predict": -3}, "keep_alive": "soon",
                              "suffix": "return 1", "top_logprobs": 50, "format": 3},
        "generate-schema.json": {"model": M, "prompt": "hi", "format": {"type": "object", "properties": {
                                 "name": {"type": "string", "maxLength": 12}, "legs": {"type": "integer", "minimum": 0,
                                 "maximum": 8}}, "required": ["name", "legs"], "additionalProperties": False},
                                 "keep_alive": -1, "system": "You are terse.", "template": "{{ messages[0]['content'] }}"},
        "chat.json": {"model": M, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"},
                      {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather",
                       "arguments": {"city": "Paris"}}}]}, {"role": "tool", "content": "18C", "tool_name": "get_weather"}],
                      "tools": [tool], "format": "json", "options": {"temperature": "hot"}, "keep_alive": 0, "think": True},
        "chat-bad.json": {"model": M, "messages": [{"role": "wizard", "content": "hi", "images": ["aGk="]}],
                          "format": {"type": "array", "uniqueItems": True}, "tools": [{"type": "function"}]},
        # Ollama model management
        "create.json": {"model": "pirate:1", "from": M, "system": "Talk like a pirate.", "template": "{{ .Prompt }}",
                        "license": ["MIT", "Apache-2.0"], "parameters": {"temperature": 0.7, "stop": ["<|im_end|>", "\n\n"],
                        "num_ctx": 4096}, "messages": [{"role": "user", "content": "Ahoy"}, {"role": "assistant", "content": "Arr"}],
                        "stream": False},
        "create-modelfile.json": {"model": "mf:2", "modelfile": "FROM smollm2:135m\nSYSTEM \"\"\"Answer in French.\"\"\"\n"
                                  "PARAMETER temperature 0\nPARAMETER stop \"<|im_end|>\"\nMESSAGE user Hi\n", "stream": False},
        "create-bad.json": {"model": "../etc:1", "files": {"m.gguf": "../../etc/passwd"}, "from": "/etc/passwd",
                            "quantize": "q4_0", "parameters": {"top_k": "many"}, "messages": [{"role": "wizard", "content": ""}]},
        "copy.json": {"source": M, "destination": "a/b/c/d:e"},
        "show.json": {"model": "pirate:1", "verbose": True, "name": ""},
        "pull.json": {"model": "hf.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:Q4_K_M", "insecure": False, "stream": True},
        # Embeddings (Ollama and OpenAI)
        "embed.json": {"model": "all-minilm", "input": ["The capital of France is Paris.", "x"], "truncate": False,
                       "dimensions": 0, "keep_alive": "5m", "options": {"num_ctx": 512, "temperature": 0}},
        "embed-bad.json": {"model": M, "input": [1, 2], "dimensions": -3, "options": {"num_ctx": 1}, "truncate": "no"},
        "embeddings-legacy.json": {"model": M, "prompt": "", "options": {"num_ctx": 4}},
        "v1-embeddings.json": {"model": M, "input": [[101, 7592, 102], [101, 2088, 102]], "encoding_format": "base64",
                               "dimensions": 16},
        # OpenAI
        "v1-chat.json": {"model": M, "messages": [{"role": "developer", "content": "Be brief."},
                         {"role": "user", "content": [{"type": "text", "text": "Tell me "}, {"type": "text", "text": "a story."}]},
                         {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                          "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                         {"role": "tool", "tool_call_id": "call_1", "content": "18C"}],
                         "tools": [tool], "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                         "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "seed": -1, "stop": "\n",
                         "presence_penalty": 0.5, "frequency_penalty": -0.5, "logit_bias": {"42": -100, " 7": 5},
                         "logprobs": True, "top_logprobs": 3, "n": 2, "max_completion_tokens": 64, "stream": True,
                         "stream_options": {"include_usage": True}, "chat_template_kwargs": {"enable_thinking": False,
                         "n": 3, "x": 1.5, "s": "t"}, "options": {"num_ctx": 1024}, "user": "u"},
        "v1-chat-schema.json": {"model": M, "messages": msgs, "response_format": {"type": "json_schema", "json_schema":
                                {"name": "s", "strict": True, "schema": {"type": "object", "properties": {"a": {"type": "array",
                                "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}, "b": {"anyOf": [{"type": "null"},
                                {"type": "string", "pattern": "^[a-z]+(-[a-z]+)*$"}]}}, "required": ["a"]}}}, "tool_choice": "none"},
        "v1-chat-bad.json": {"model": "x", "messages": [{"role": "user", "content": [{"type": "image_url"}]}], "n": 17,
                             "grammar": "root ::= \"a\"", "response_format": {"type": "json_object"}, "logit_bias": {"a": 1},
                             "stop": ["a", "b", "c", "d", "e"], "tool_choice": "required", "top_logprobs": 5},
        "v1-completions.json": {"model": M, "prompt": ["Once upon a time", "The capital of France is"], "max_tokens": 24,
                                "temperature": 0, "stop": ["\n", "."], "logprobs": 2, "n": 1, "echo": False, "stream": True,
                                "ignore_eos": True, "grammar": "root ::= [a-z ]+", "best_of": 1},
        "v1-completions-tokens.json": {"prompt": [1, 2, 3, 2147483647], "max_tokens": 4000, "echo": True, "logprobs": 21,
                                       "suffix": "x", "n": 0},
        "tokenize.json": {"content": "Hello <|im_start|>", "add_special": True, "parse_special": False, "with_pieces": True},
        "detokenize.json": {"tokens": [-1, 1, 2]},
    }
    for name, body in bodies.items():
        put("server-request", name, json.dumps(body, ensure_ascii=False))
    put("server-request", "malformed.json", '{"model": "x", "messages": [')
    put("server-request", "keep-alive.txt", "-1.5h30m0.5s")


if len(sys.argv) > 1:  # one harness's seeds: python3 Fuzz/make-seeds.py server-request
    globals()[sys.argv[1].replace('-', '_') + '_seeds']()
    sys.exit(0)
gguf_seeds()
safetensors_seeds()
tokenizer_seeds()
jinja_seeds()
modelfile_seeds()
grammar_seeds()
request_seeds()
server_request_seeds()
total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT, "*", "*")))
print("seed corpus: %d files, %d bytes" % (len(glob.glob(os.path.join(OUT, "*", "*"))), total))
