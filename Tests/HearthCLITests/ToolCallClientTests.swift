import Foundation
import XCTest

/// Issue 7's tool-call bar through the official `openai` Python client against a real `hearth serve`: a weather
/// tool request returns `tool_calls` (function name + arguments that parse as JSON), streaming and not; the tool
/// result round-trips to a final text answer; `tool_choice: "required"` forces a call. Qwen2.5-Coder-0.5B, whose
/// GGUF template renders tools in the Hermes `<tool_call>` format, served by path from the fixture's store server.
final class ToolCallClientTests: XCTestCase {
    static let qwen = CLI.repoRoot.appendingPathComponent("models/qwen2.5-coder-0.5b-instruct.gguf").path

    static let script = #"""
import json, sys
import openai
url, model = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=url + "/v1", api_key="unused")
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                         "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "description": "Local time in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
# The system line makes the 0.5B model answer in words once it has the result (without it, it repeats the call).
question = [{"role": "system", "content": "You are a helpful assistant. When a tool result is given, answer the user's question in plain words."},
            {"role": "user", "content": "What is the weather like in Paris right now?"}]

# Not streaming: a call, finish_reason tool_calls, arguments that parse as JSON.
r = client.chat.completions.create(model=model, messages=question, tools=tools, temperature=0, max_tokens=96)
choice = r.choices[0]
calls = choice.message.tool_calls
assert calls and len(calls) == 1, f"expected one tool call, got {choice.message}"
call = calls[0]
assert choice.finish_reason == "tool_calls", choice.finish_reason
assert call.type == "function" and call.id.startswith("call_"), call
assert call.function.name == "get_weather", call
args = json.loads(call.function.arguments)
assert "paris" in args["city"].lower(), args
assert not (choice.message.content or "").strip(), f"call text leaked into content: {choice.message.content!r}"

# Streaming: delta.tool_calls chunks that assemble to the same call.
name, arguments, finish, ids = "", "", None, set()
for chunk in client.chat.completions.create(model=model, messages=question, tools=tools, temperature=0,
                                             max_tokens=96, stream=True):
    if not chunk.choices:
        continue
    d = chunk.choices[0].delta
    for tc in d.tool_calls or []:
        assert tc.index == 0, tc
        if tc.id: ids.add(tc.id)
        if tc.function and tc.function.name: name += tc.function.name
        if tc.function and tc.function.arguments: arguments += tc.function.arguments
    assert not (d.content or "").strip(), f"call text leaked into streamed content: {d.content!r}"
    finish = chunk.choices[0].finish_reason or finish
assert name == "get_weather" and len(ids) == 1 and finish == "tool_calls", (name, ids, finish)
assert json.loads(arguments) == args, (arguments, args)

# The tool result round trip: the call and its result go back; the answer is plain text using the result.
# (tool_choice "none", as clients send to get prose: shown the tools again, the 0.5B model calls again.)
follow = question + [
    {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function",
        "function": {"name": "get_weather", "arguments": call.function.arguments}}]},
    {"role": "tool", "tool_call_id": call.id,
     "content": json.dumps({"city": "Paris", "temperature": 18, "unit": "celsius", "condition": "sunny"})}]
r = client.chat.completions.create(model=model, messages=follow, tools=tools, tool_choice="none",
                                   temperature=0, max_tokens=96)
final = r.choices[0].message
assert not final.tool_calls, final
assert final.content and ("18" in final.content or "sunny" in final.content.lower()), final.content
print("final:", final.content.strip().replace("\n", " ")[:120])

# tool_choice required at temperature 1: always a valid call; a named function forces that function.
for seed in range(3):
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Tell me about Lisbon."}],
                                       tools=tools, tool_choice="required", temperature=1.0, seed=seed, max_tokens=96)
    c = r.choices[0].message.tool_calls
    assert c and c[0].function.name in ("get_weather", "get_time"), r.choices[0].message
    assert isinstance(json.loads(c[0].function.arguments)["city"], str)
r = client.chat.completions.create(model=model, messages=question, tools=tools, temperature=0, max_tokens=96,
                                   tool_choice={"type": "function", "function": {"name": "get_time"}})
assert r.choices[0].message.tool_calls[0].function.name == "get_time", r.choices[0].message

# A tool_choice naming a function that is not offered is a 400.
try:
    client.chat.completions.create(model=model, messages=question, tools=tools,
                                   tool_choice={"type": "function", "function": {"name": "nope"}})
    raise AssertionError("expected a 400")
except openai.BadRequestError as e:
    assert "nope" in str(e), e
print("ok")
"""#

    func testWeatherToolCallsThroughTheOpenAIClient() throws {
        try CLI.requireFiles(Self.qwen)
        // The 0.5B model as the server's --model (a request may name it by that path; other paths are refused).
        let server = try ServerFixture.start(arguments: ["--model", Self.qwen])
        defer { server.stop() }
        let out = try CLI.clientScript(Self.script, [server.url, Self.qwen])
        XCTAssertTrue(out.hasSuffix("ok\n"), out)
    }
}
