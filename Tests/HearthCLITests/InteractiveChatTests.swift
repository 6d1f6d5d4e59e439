import Foundation
import XCTest

/// `hearth run MODEL` with a terminal: the interactive chat, driven through a pseudo-terminal by
/// Tests/Fixtures/chat_pty.py (Python pexpect, installed by scripts/test). The script checks that two turns are
/// remembered (the second answer equals a one-shot run of the whole rendered conversation), that
/// `/set parameter temperature 0` applies, line editing and `"""` input, and that Ctrl-C stops an answer and
/// returns to the prompt.
final class InteractiveChatTests: XCTestCase {
    func testChatThroughAPseudoTerminal() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        let script = CLI.repoRoot.appendingPathComponent("Tests/Fixtures/chat_pty.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, CLI.binary, CLI.smollm2]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.runUnpinned()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "chat_pty.py failed:\n\(text.suffix(4000))")
        XCTAssertTrue(text.hasSuffix("OK\n"), text.suffix(2000).description)
    }
}
