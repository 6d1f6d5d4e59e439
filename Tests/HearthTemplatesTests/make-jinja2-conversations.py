# Regenerates jinja2-conversations.json: richer conversations (tool calls with ids and string arguments, reasoning,
# content parts, enable_thinking, empty and long histories, control characters) rendered by Python jinja2 3.1.6 in
# Hugging Face's apply_chat_template environment with every template of ../../../shared/reference (the 35 of
# templates-corpus.json with bos <s>/eos </s>, and the two model templates with their own tokens).
# Run: python3 make-jinja2-conversations.py jinja2-conversations.json
import json, sys
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import Extension
from jinja2 import nodes

class AssistantTracker(Extension):
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)
    def _render(self, caller): return caller()

def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def strftime_now(f): return datetime(2026, 11, 26, 12, 0, 0).strftime(f)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception
env.globals['strftime_now'] = strftime_now

W = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather <now> & 'later'", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "days": {"type": "integer", "default": 3, "minimum": 1}, "ratio": {"type": "number", "default": 0.5}, "tags": {"type": "array", "items": {"type": "string"}}, "mode": {"type": ["string", "null"], "enum": ["a", "b"], "nullable": True}, "opt": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "obj": {"type": "object", "properties": {"x": {"type": "boolean"}}, "additionalProperties": False}}, "required": ["city"]}}}
S = {"type": "function", "function": {"name": "search", "description": "Search the web", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}
C = [
 {"name": "empty", "messages": []},
 {"name": "parts_content", "messages": [{"role": "user", "content": [{"type": "text", "text": "Look at this"}, {"type": "text", "text": " and this"}]}]},
 {"name": "null_content_toolcall_ids", "tools": [W, S], "messages": [
   {"role": "system", "content": "Sys"}, {"role": "user", "content": "Weather in Zürich for 2 days?"},
   {"role": "assistant", "content": None, "tool_calls": [{"id": "call12345", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2, "tags": ["a", "b"], "obj": {"x": True}, "ratio": 0.25}}}, {"id": "call67890", "type": "function", "function": {"name": "search", "arguments": {"q": "x<y & 'z'"}}}]},
   {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"t\": 3.5}"},
   {"role": "tool", "tool_call_id": "call67890", "name": "search", "content": "none found"},
   {"role": "assistant", "content": "It is 3.5 degrees."}, {"role": "user", "content": "Thanks!"}]},
 {"name": "string_args", "tools": [S], "messages": [
   {"role": "user", "content": "find cats"},
   {"role": "assistant", "content": "Let me search.", "tool_calls": [{"id": "abcdefghi", "type": "function", "function": {"name": "search", "arguments": "{\"q\": \"cats\"}"}}]},
   {"role": "tool", "tool_call_id": "abcdefghi", "content": "cats are great"}]},
 {"name": "reasoning", "messages": [
   {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "reasoning_content": "Simple arithmetic: 2+2=4."},
   {"role": "user", "content": "and 3+3?"}, {"role": "assistant", "content": "<think>\nadd\n</think>\n\n6"}, {"role": "user", "content": "ok"}]},
 {"name": "think_off", "enable_thinking": False, "messages": [{"role": "user", "content": "hi /no_think"}]},
 {"name": "think_on_no_gen", "enable_thinking": True, "add_generation_prompt": False, "messages": [{"role": "system", "content": "  padded system  "}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "  a  "}]},
 {"name": "multi_system", "messages": [{"role": "system", "content": "one"}, {"role": "system", "content": "two"}, {"role": "user", "content": "u"}]},
 {"name": "specials", "messages": [{"role": "user", "content": "tab\there\r\nnewline \\ backslash \u2028 sep \u0000 nul {{ x }} {% y %}"}]},
 {"name": "assistant_last", "add_generation_prompt": False, "messages": [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "Hi"}]},
 {"name": "long_conversation", "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": "turn %d" % i} for i in range(21)]},
]

ref = '../../../shared/reference/'
d = json.load(open(ref + 'templates-corpus.json'))
temps = [(t['name'], t['template'], d['bos_token'], d['eos_token']) for t in d['templates']]
for m in ['smollm2', 'qwen25coder']:
    q = json.load(open(ref + f'template-{m}.json'))
    temps.append((m, q['template'], q['bos_token'], q['eos_token']))
renders = []
for name, tpl, bos, eos in temps:
    t = env.from_string(tpl)
    for c in C:
        ctx = dict(messages=c['messages'], tools=c.get('tools'), documents=None,
                   add_generation_prompt=c.get('add_generation_prompt', True), bos_token=bos, eos_token=eos)
        for k, v in c.items():
            if k not in ('name', 'messages', 'tools', 'add_generation_prompt'): ctx[k] = v
        r = {'template': name, 'case': c['name']}
        try: r['output'] = t.render(**ctx)
        except Exception as e: r['error'] = type(e).__name__ + ': ' + str(e)
        renders.append(r)
json.dump({'cases': C, 'renders': renders}, open(sys.argv[1], 'w'), ensure_ascii=False, indent=0)
