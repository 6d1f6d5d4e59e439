import HearthGrammar

/// `tool_choice: required` or a named function as a grammar (llama.cpp does the same in common/chat.cpp: a
/// "lazy"/forced grammar per format): the model's whole output must be one call written in its own format, whose
/// name is one of the allowed tools and whose arguments match that tool's JSON Schema
/// (`JSONSchemaGrammar.gbnf(schema:)`, rules renamed per tool so several schemas share one grammar).
///
/// The call is written the way the template writes calls back into the prompt (`{"name": "f", "arguments": …}`);
/// marker tokens that are control tokens (`[TOOL_CALLS]`, `<|python_tag|>`) have no text to force and are left out,
/// which `ChatOutputParser` reads as a whole-answer call.
extension ChatOutputParser {
    /// The grammar the generation must follow for `choice`, or nil when the output is free (`auto`, `none`).
    /// Throws when the choice names a tool that was not offered, when there are no tools, or when a tool's
    /// parameters schema cannot be compiled (a `GrammarError` naming the schema path).
    public func grammar(for choice: ToolChoice) throws -> Grammar? {
        guard let text = try grammarText(for: choice) else { return nil }
        return try Grammar(gbnf: allowingThinking(text))
    }

    /// `gbnf` (a grammar for the answer: a tool call, a JSON Schema, `format: "json"`) with the model's thinking
    /// allowed before it, when this parser separates thinking: without it a grammar would forbid a reasoning
    /// model's `<think>` and force it to answer unthinking (the Ollama failure issue 7 names). The thought may not
    /// contain `</`; it must be closed before the answer. Unchanged when thinking is not separated.
    public func allowingThinking(_ gbnf: String) -> String {
        guard let tags = thinkingTags else { return gbnf }
        let open = GBNFRename.literal(tags.open), close = GBNFRename.literal(tags.close)
        let thought = #"think-text ::= ( [^<] | "<" [^/] )*"#
        let root = startsInThinking
            ? "root ::= think-text \(close) [ \\t\\n]* answer-root"
            : "root ::= ( [ \\t\\n]* \(open) think-text \(close) [ \\t\\n]* )? answer-root"
        return [root, thought, GBNFRename.prefixRules(gbnf, with: "answer-")].joined(separator: "\n") + "\n"
    }

    /// The GBNF text behind `grammar(for:)`, or nil when the output is free.
    public func grammarText(for choice: ToolChoice) throws -> String? {
        let chosen: [(name: String, schema: JSONValue)]
        switch choice {
        case .auto, .none: return nil
        case .required:
            guard !tools.isEmpty else { throw ChatToolsError("tool_choice \"required\" needs at least one tool in tools") }
            chosen = tools.compactMap { t in ChatTools.name(of: t).map { (name: $0, schema: ChatTools.parameters(of: t)) } }
        case .function(let name):
            guard let tool = tools.first(where: { ChatTools.name(of: $0) == name }) else {
                let offered = tools.compactMap(ChatTools.name(of:)).map { "\"\($0)\"" }.joined(separator: ", ")
                throw ChatToolsError("tool_choice names the function \"\(name)\", which is not in tools (offered: \(offered.isEmpty ? "none" : offered))")
            }
            chosen = [(name: name, schema: ChatTools.parameters(of: tool))]
        }
        guard !chosen.isEmpty else { throw ChatToolsError("tool_choice needs tools with a function.name") }
        let key = format.argumentsKey
        var rules: [String] = []
        var alternatives: [String] = []
        for (i, tool) in chosen.enumerated() {
            let prefix = "tool\(i)-"
            let args: String
            do { args = try JSONSchemaGrammar.gbnf(schema: tool.schema) } catch {
                throw ChatToolsError("tools[\(tool.name)].function.parameters: \(error)")
            }
            rules.append(GBNFRename.prefixRules(args, with: prefix))
            let head = GBNFRename.literal("{\"name\": \"\(tool.name)\", \"\(key)\": ")
            alternatives.append("\(head) \(prefix)root \"}\"")
        }
        let call = "call ::= " + alternatives.joined(separator: " | ")
        let root: String
        switch format {
        case .hermes: root = #"root ::= "<tool_call>\n" call "\n</tool_call>""#
        case .mistral: root = #"root ::= "[" call "]""#
        case .llama3, .none: root = "root ::= call"
        }
        return ([root, call] + rules).joined(separator: "\n") + "\n"
    }
}

/// Rewrites GBNF text so every rule name carries a prefix (so two grammars' rules can live in one grammar without
/// clashing). Names are llama.cpp's word characters (`[a-zA-Z0-9_-]`); string literals, character classes,
/// `{m,n}` counts and comments are copied untouched.
enum GBNFRename {
    static func prefixRules(_ gbnf: String, with prefix: String) -> String {
        let s = Array(gbnf.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func copyQuoted(until close: Unicode.Scalar) {
            out.append(s[i]); i += 1
            while i < s.count {
                let c = s[i]
                out.append(c); i += 1
                if c == "\\", i < s.count { out.append(s[i]); i += 1; continue }
                if c == close { return }
            }
        }
        while i < s.count {
            let c = s[i]
            switch c {
            case "\"": copyQuoted(until: "\"")
            case "[": copyQuoted(until: "]")
            case "{":
                while i < s.count, s[i] != "}" { out.append(s[i]); i += 1 }
            case "#":
                while i < s.count, s[i] != "\n" { out.append(s[i]); i += 1 }
            default:
                if isWord(c) {
                    out.append(contentsOf: prefix.unicodeScalars)
                    while i < s.count, isWord(s[i]) { out.append(s[i]); i += 1 }
                } else {
                    out.append(c); i += 1
                }
            }
        }
        return String(out)
    }

    /// `text` as a GBNF string literal (HearthGrammar's one escaper).
    static func literal(_ text: String) -> String { Grammar.literal(text) }

    static func isWord(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
    }
}
