#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<harness>/ from the real files (docs/SECURITY.md, "Fuzzing").

Run from the repository root with models/ present: python3 Fuzz/make-seeds.py. Seeds are small slices of the
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


gguf_seeds()
safetensors_seeds()
tokenizer_seeds()
jinja_seeds()
modelfile_seeds()
grammar_seeds()
request_seeds()
total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT, "*", "*")))
print("seed corpus: %d files, %d bytes" % (len(glob.glob(os.path.join(OUT, "*", "*"))), total))
