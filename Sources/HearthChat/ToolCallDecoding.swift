import Foundation
import HearthGrammar

/// Turns the JSON a model wrote into `ToolCall`s. Lenient in the ways models and Ollama's parser are (the call
/// object may say `arguments` or `parameters`, may be wrapped as OpenAI's `{"type": "function", "function": …}`,
/// may give the arguments as a JSON string), strict in what it returns: a name and arguments that are a JSON
/// object, or nothing (the caller then reports the text as content).
enum ToolCallDecoding {
    /// One call object. `names`, when given, is the set of tools offered: a call to another name is not a call.
    static func call(from value: JSONValue, names: Set<String>?) -> ToolCall? {
        guard case .object = value else { return nil }
        if let inner = value["function"], case .object = inner, value["name"] == nil {
            return call(from: inner, names: names)
        }
        guard let name = value["name"]?.string, !name.isEmpty else { return nil }
        if let names, !names.contains(name) { return nil }
        let args: JSONValue
        switch value["arguments"] ?? value["parameters"] {
        case nil, .null?: args = .object([])
        case .object(let m)?: args = .object(m)
        case .string(let s)?:
            // Some models (and OpenAI's own wire format) write the arguments as JSON text.
            guard let parsed = try? JSONValue.parse(s), case .object = parsed else { return nil }
            args = parsed
        default: return nil
        }
        return ToolCall(id: newId(), name: name, arguments: args.serialized)
    }

    /// A call object, or an array of them (Mistral v0.3, parallel calls written as a list), as JSON text.
    static func calls(json text: String, names: Set<String>?) -> [ToolCall]? {
        guard let value = try? JSONValue.parse(text) else { return nil }
        return calls(from: value, names: names)
    }

    static func calls(from value: JSONValue, names: Set<String>?) -> [ToolCall]? {
        if case .array(let items) = value {
            guard !items.isEmpty else { return nil }
            var out: [ToolCall] = []
            for item in items {
                guard let c = call(from: item, names: names) else { return nil }
                out.append(c)
            }
            return out
        }
        return call(from: value, names: names).map { [$0] }
    }

    /// Several JSON values one after another, separated by whitespace or `;` (Llama 3 after `<|python_tag|>`
    /// may write `{…}; {…}`), each a call or a list of calls.
    static func callSequence(_ text: String, names: Set<String>?) -> [ToolCall]? {
        let bytes = Array(text.utf8)
        var pos = 0
        var out: [ToolCall] = []
        while true {
            while pos < bytes.count, bytes[pos] == UInt8(ascii: ";") || isSpace(bytes[pos]) { pos += 1 }
            if pos == bytes.count { break }
            guard case .complete(let end) = jsonExtent(bytes, from: pos),
                  let found = calls(json: String(decoding: bytes[pos..<end], as: UTF8.self), names: names)
            else { return nil }
            out += found
            pos = end
        }
        return out.isEmpty ? nil : out
    }

    /// The body after Mistral's `[TOOL_CALLS]`: a JSON array (v0.3), or `name[ARGS]{…}` / `name[CALL_ID]id[ARGS]{…}`
    /// (Mistral Small 3.2, Devstral), further calls each after another `[TOOL_CALLS]`.
    static func mistralCalls(_ body: String, names: Set<String>?) -> [ToolCall]? {
        let trimmed = body.trimmingSpace
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") { return callSequence(trimmed, names: names) }
        var out: [ToolCall] = []
        for part in trimmed.components(separatedBy: "[TOOL_CALLS]") where !part.trimmingSpace.isEmpty {
            guard let argsAt = part.range(of: "[ARGS]") else { return nil }
            var name = String(part[..<argsAt.lowerBound])
            if let idAt = name.range(of: "[CALL_ID]") { name = String(name[..<idAt.lowerBound]) }
            name = name.trimmingSpace
            let args = String(part[argsAt.upperBound...])
            guard let parsed = try? JSONValue.parse(args),
                  let c = call(from: .object([JSONMember("name", .string(name)), JSONMember("arguments", parsed)]),
                               names: names)
            else { return nil }
            out.append(c)
        }
        return out.isEmpty ? nil : out
    }

    /// OpenAI-style call id: `call_` and 24 random letters and digits.
    static func newId() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var rng = SystemRandomNumberGenerator()
        return "call_" + String((0..<24).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }

    enum Extent: Equatable {
        /// The value ends just before this byte offset.
        case complete(Int)
        /// More text is needed.
        case incomplete
        /// The text at `from` does not start an object or array.
        case invalid
    }

    /// Where the JSON object or array starting at `from` (after whitespace) ends, tracking strings and escapes
    /// only (no validation: `JSONValue.parse` does that once the extent is known).
    static func jsonExtent(_ bytes: [UInt8], from: Int) -> Extent {
        var pos = from
        while pos < bytes.count, isSpace(bytes[pos]) { pos += 1 }
        guard pos < bytes.count else { return .incomplete }
        guard bytes[pos] == UInt8(ascii: "{") || bytes[pos] == UInt8(ascii: "[") else { return .invalid }
        var depth = 0
        var inString = false
        var escaped = false
        while pos < bytes.count {
            let b = bytes[pos]
            pos += 1
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return .complete(pos) }
            default: break
            }
        }
        return .incomplete
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }
}

extension String {
    /// The text without leading and trailing whitespace.
    var trimmingSpace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
