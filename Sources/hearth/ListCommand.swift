import ArgumentParser
import Foundation
import HearthStore

/// `hearth list` / `hearth ls`: the store's models as `ollama list` prints them.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the models in the store.", aliases: ["ls"])

    func run() throws {
        let entries = try storeCall { try openStore().list() }
        var rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
        let now = Date()
        for e in entries {
            rows.append([e.name.description, e.id, HumanFormat.bytes(e.size), HumanFormat.ago(e.modified, now: now)])
        }
        writeOut(table(rows))
    }
}

/// Left-aligned columns, each padded to its widest cell plus 4 spaces (the last column unpadded).
func table(_ rows: [[String]]) -> String {
    guard let columns = rows.map(\.count).max() else { return "" }
    var widths = [Int](repeating: 0, count: columns)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    return rows.map { r in
        r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i] + 4, withPad: " ", startingAt: 0) }
            .joined()
    }.joined(separator: "\n") + "\n"
}
