import Foundation
@testable import HearthTemplates

/// libFuzzer harness: the input (UTF-8, invalid sequences repaired) is a chat template. It is lexed and parsed
/// (`ChatTemplate(source:)`) and, when it parses, rendered over a conversation with a system prompt, a tool
/// definition, an assistant tool call and a tool result (the shapes chat-cases.json uses), with the sandbox
/// limits on — tightened so that one input takes milliseconds, not the default's 10 s: a template that loops or
/// grows output without bound must stop with a `.limit` error. Errors are fine; crashes, leaks and hangs are bugs.
///
/// It calls the parser and interpreter that `ChatTemplate` wraps directly (the module is built with
/// `-enable-testing`), on libFuzzer's thread: `ChatTemplate` starts a 64 MiB-stack thread per parse and per render,
/// which under ASan costs milliseconds an input. scripts/fuzz raises the stack limit (`ulimit -s`) to match.
let conversation = try! TemplateValue(jsonString: #"""
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Weather in Paris? 日本語 🙂"},
     {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "id": "call_1",
       "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
     {"role": "tool", "content": "{\"temp\": 18}", "tool_call_id": "call_1"},
     {"role": "assistant", "content": "18 °C.", "reasoning_content": "easy"},
     {"role": "user", "content": [{"type": "text", "text": "thanks"}]}]
    """#)
let tools = try! TemplateValue(jsonString: #"""
    [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"},
      "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}]
    """#)
let limits = TemplateLimits(maxLoopIterations: 20_000, maxCallDepth: 100, maxOutputBytes: 1 << 20,
                            timeout: .seconds(2))
let clock = TemplateClock(date: Date(timeIntervalSince1970: 1_795_694_400), timeZone: TimeZone(identifier: "UTC")!)

let context: [String: TemplateValue] = [
    "messages": conversation, "tools": tools, "documents": .none, "add_generation_prompt": true,
    "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false,
]

func run(_ source: String) {
    guard let nodes = try? Parser.parse(source) else { return }
    let interpreter = TemplateInterpreter(context: context, clock: clock, limits: limits)
    _ = try? interpreter.render(nodes)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    run(source)
    return 0
}
