import ArgumentParser
import Foundation
import HearthStore

/// `hearth pull SOURCE [NAME]`: downloads a GGUF from a URL or Hugging Face into the store, with a progress bar
/// on stderr; an interrupted pull resumes where it stopped when run again.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model: https://HOST/PATH/model.gguf or hf.co/OWNER/REPO[:QUANT].",
        discussion: "HF_ENDPOINT sets the Hugging Face base URL (default https://huggingface.co); HF_TOKEN is sent as a bearer token.")

    @Argument(help: "A .gguf URL or hf.co/OWNER/REPO[:QUANT].") var source: String
    @Argument(help: "The name to store it under (default: hf.co/OWNER/REPO:QUANT, or from the file name).") var name: String?
    @Option(help: "The file's expected sha256 (64 hex digits).") var sha256: String?

    func run() throws {
        let tty = isatty(2) != 0
        let state = ProgressState()
        let puller = Puller(store: openStore())
        let installed = try storeCall {
            try puller.pull(source, name: name, sha256: sha256) { event in
                switch event {
                case .resolving(let s): writeErr("pulling manifest for \(s)\n")
                case .resolved(let file, _, let sha):
                    writeErr("pulling \(file)" + (sha.map { " (sha256:\($0.prefix(12)))" } ?? "") + "\n")
                case .resuming(let from): writeErr("resuming at \(HumanFormat.bytes(from)) (\(from) bytes already here)\n")
                case .progress(let p): state.show(p, tty: tty)
                case .verifying:
                    state.finish(tty: tty)
                    writeErr("verifying sha256 digest\n")
                case .usingExisting(let d): writeErr("using existing layer \(d)\n")
                case .writingManifest: writeErr("writing manifest\n")
                case .success: writeErr("success\n")
                }
            }
        }
        writeOut("\(installed)\n")
    }
}

/// Draws the bar: redrawn in place on a terminal, one line per 10% otherwise (logs stay short).
final class ProgressState: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDecile = -1
    private var drawn = false

    func show(_ p: DownloadProgress, tty: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let line = HumanFormat.progressBar(done: p.done, total: p.total, bytesPerSecond: p.bytesPerSecond, eta: p.eta)
        if tty {
            writeErr("\r\u{1B}[K" + line)
            drawn = true
        } else {
            let decile = p.total.map { $0 > 0 ? Int(p.done * 10 / $0) : 10 } ?? Int(p.done >> 26)
            if decile != lastDecile {
                lastDecile = decile
                writeErr(line + "\n")
            }
        }
    }

    func finish(tty: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if tty && drawn { writeErr("\n") }
        drawn = false
    }
}
