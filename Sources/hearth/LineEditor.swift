import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one call to `LineEditor.readLine` produced.
enum LineInput: Equatable {
    case line(String)
    /// Ctrl-C: drop the line being typed.
    case interrupt
    /// Ctrl-D on an empty line, or the end of input.
    case endOfInput
}

/// A small line editor for the interactive chat, in the spirit of readline/linenoise: the terminal in raw mode,
/// left/right/home/end and Ctrl-A/E/B/F to move, backspace/delete, Ctrl-U/K/W to cut, up/down through this
/// session's history. Escape sequences are the VT100/xterm ones (ESC [ A … ESC [ D, ESC [ H/F, ESC [ n ~).
/// Columns are counted one per Character, which is right for the scripts most prompts use.
final class LineEditor {
    private(set) var history: [String] = []
    private let fd: Int32 = 0

    /// Reads one line, echoing and editing it; the terminal is back in its normal mode when this returns.
    func readLine(prompt: String) -> LineInput {
        guard let saved = enterRawMode() else { return readPlainLine(prompt: prompt) }
        defer { restore(saved) }
        var buffer: [Character] = []
        var cursor = 0
        var historyIndex = history.count
        var draft: [Character] = []
        write(prompt)

        func redraw() {
            var s = "\r" + prompt + String(buffer) + "\u{1B}[K"
            let back = buffer.count - cursor
            if back > 0 { s += "\u{1B}[\(back)D" }
            write(s)
        }
        func recall(_ index: Int) {
            historyIndex = index
            buffer = index < history.count ? Array(history[index]) : draft
            cursor = buffer.count
            redraw()
        }

        while true {
            guard let byte = readByte() else {
                write("\r\n")
                return buffer.isEmpty ? .endOfInput : .line(String(buffer))
            }
            switch byte {
            case 0x0D, 0x0A:  // Enter
                write("\r\n")
                let line = String(buffer)
                if !line.trimmingCharacters(in: .whitespaces).isEmpty, history.last != line { history.append(line) }
                return .line(line)
            case 0x03:  // Ctrl-C
                write("^C\r\n")
                return .interrupt
            case 0x04:  // Ctrl-D: end of input on an empty line, else delete forward
                if buffer.isEmpty { write("\r\n"); return .endOfInput }
                if cursor < buffer.count { buffer.remove(at: cursor); redraw() }
            case 0x7F, 0x08:  // Backspace
                if cursor > 0 { cursor -= 1; buffer.remove(at: cursor); redraw() }
            case 0x01: cursor = 0; redraw()                               // Ctrl-A
            case 0x05: cursor = buffer.count; redraw()                    // Ctrl-E
            case 0x02: if cursor > 0 { cursor -= 1; redraw() }            // Ctrl-B
            case 0x06: if cursor < buffer.count { cursor += 1; redraw() } // Ctrl-F
            case 0x0B: buffer.removeSubrange(cursor...); redraw()         // Ctrl-K
            case 0x15: buffer.removeSubrange(..<cursor); cursor = 0; redraw()  // Ctrl-U
            case 0x17:  // Ctrl-W: the word before the cursor
                var i = cursor
                while i > 0, buffer[i - 1] == " " { i -= 1 }
                while i > 0, buffer[i - 1] != " " { i -= 1 }
                buffer.removeSubrange(i..<cursor); cursor = i; redraw()
            case 0x0C: write("\u{1B}[H\u{1B}[2J"); redraw()              // Ctrl-L
            case 0x1B:
                switch readEscape() {
                case "[A", "OA": if historyIndex > 0 {
                    if historyIndex == history.count { draft = buffer }
                    recall(historyIndex - 1)
                }
                case "[B", "OB": if historyIndex < history.count { recall(historyIndex + 1) }
                case "[C", "OC": if cursor < buffer.count { cursor += 1; redraw() }
                case "[D", "OD": if cursor > 0 { cursor -= 1; redraw() }
                case "[H", "OH", "[1~", "[7~": cursor = 0; redraw()
                case "[F", "OF", "[4~", "[8~": cursor = buffer.count; redraw()
                case "[3~": if cursor < buffer.count { buffer.remove(at: cursor); redraw() }
                default: break
                }
            default:
                guard byte >= 0x20, let ch = readCharacter(first: byte) else { continue }
                buffer.insert(ch, at: cursor)
                cursor += 1
                if cursor == buffer.count { write(String(ch)) } else { redraw() }
            }
        }
    }

    /// Without a terminal (or when raw mode is refused) lines come as they are typed, with no editing.
    private func readPlainLine(prompt: String) -> LineInput {
        write(prompt)
        var bytes: [UInt8] = []
        while let b = readByte() {
            if b == 0x0A { return .line(String(decoding: bytes, as: UTF8.self)) }
            bytes.append(b)
        }
        return bytes.isEmpty ? .endOfInput : .line(String(decoding: bytes, as: UTF8.self))
    }

    /// The rest of an escape sequence after ESC: `[` or `O`, optional digits, a final byte.
    private func readEscape() -> String {
        guard let b1 = readByte() else { return "" }
        var s = String(UnicodeScalar(b1))
        guard b1 == UInt8(ascii: "[") || b1 == UInt8(ascii: "O") else { return s }
        while let b = readByte() {
            s.append(Character(UnicodeScalar(b)))
            if !(0x30...0x3F).contains(b) { break }  // parameter bytes are 0x30–0x3F; anything else ends it
        }
        return s
    }

    /// Completes a UTF-8 sequence that starts with `first`; nil for a malformed one.
    private func readCharacter(first: UInt8) -> Character? {
        var bytes = [first]
        let extra = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
        if first >= 0x80 && extra == 0 { return nil }
        for _ in 0..<extra {
            guard let b = readByte(), b & 0xC0 == 0x80 else { return nil }
            bytes.append(b)
        }
        guard let s = String(validating: bytes, as: UTF8.self), let c = s.first else { return nil }
        return c
    }

    private func readByte() -> UInt8? {
        var b: UInt8 = 0
        while true {
            let n = read(fd, &b, 1)
            if n == 1 { return b }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    private func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    /// Turns off canonical mode, echo and signal keys (Ctrl-C arrives as a byte) but keeps output processing.
    private func enterRawMode() -> termios? {
        guard isatty(fd) == 1 else { return nil }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(fd, TCSADRAIN, &raw) == 0 else { return nil }
        return saved
    }

    private func restore(_ saved: termios) {
        var t = saved
        _ = tcsetattr(fd, TCSADRAIN, &t)
    }
}
