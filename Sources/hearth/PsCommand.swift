import ArgumentParser
import Foundation
import HearthStore

/// `hearth ps`: the models the running server has loaded, with Ollama's columns (NAME ID SIZE PROCESSOR CONTEXT
/// UNTIL), from `GET /api/ps`.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the models the server has loaded.")

    func run() throws {
        let obj = try ServerClient().object(.GET, "/api/ps")
        let models = obj["models"] as? [[String: Any]] ?? []
        var rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]]
        let now = Date()
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for m in models {
            let digest = m["digest"] as? String ?? ""
            let size = (m["size"] as? NSNumber)?.int64Value ?? 0
            let context = (m["context_length"] as? NSNumber)?.intValue ?? 0
            let until = (m["expires_at"] as? String).flatMap { parser.date(from: $0) }.map { PsCommand.until($0, now: now) } ?? ""
            rows.append([m["name"] as? String ?? "", String(digest.prefix(12)), HumanFormat.bytes(size), "100% CPU",
                         "\(context)", until])
        }
        writeOut(table(rows))
    }

    /// Ollama's UNTIL column: "4 minutes from now", "Forever" (negative keep_alive), "Stopping..." once past.
    static func until(_ date: Date, now: Date) -> String {
        let s = Int(date.timeIntervalSince(now).rounded())
        if s < 0 { return "Stopping..." }
        if s > 86400 * 365 * 10 { return "Forever" }
        func unit(_ n: Int, _ name: String) -> String { n == 1 ? "1 \(name) from now" : "\(n) \(name)s from now" }
        switch s {
        case ..<1: return "Less than a second from now"
        case ..<60: return unit(s, "second")
        case ..<120: return "About a minute from now"
        case ..<3600: return unit(s / 60, "minute")
        case ..<7200: return "About an hour from now"
        case ..<86400: return unit(s / 3600, "hour")
        default: return unit(s / 86400, "day")
        }
    }
}
