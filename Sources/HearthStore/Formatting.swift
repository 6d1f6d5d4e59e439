import Foundation

/// Human-readable sizes, rates and times, as Ollama's CLI prints them (`format/bytes.go`, `format/time.go`):
/// decimal units (1 MB = 1000² bytes), "2 seconds ago".
public enum HumanFormat {
    public static func bytes(_ n: Int64) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")]
        let d = Double(n)
        for (scale, unit) in units where d >= scale {
            // As Ollama's format.HumanBytes: whole units from 10 up, one decimal below.
            let v = d / scale
            if v >= 10 || v == v.rounded(.down) { return "\(Int(v)) \(unit)" }
            return String(format: "%.1f ", v) + unit
        }
        return "\(n) B"
    }

    /// A duration in seconds as "1h2m", "3m4s", "5s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\((s % 3600) / 60)m" }
        if s >= 60 { return "\(s / 60)m\(s % 60)s" }
        return "\(s)s"
    }

    /// "2 seconds ago", "About a minute ago", "3 hours ago", "5 days ago", "2 months ago".
    public static func ago(_ date: Date, now: Date = Date()) -> String {
        let s = max(0, Int(now.timeIntervalSince(date)))
        func unit(_ n: Int, _ name: String) -> String { n == 1 ? "1 \(name) ago" : "\(n) \(name)s ago" }
        switch s {
        case ..<1: return "Less than a second ago"
        case ..<60: return unit(s, "second")
        case ..<120: return "About a minute ago"
        case ..<3600: return unit(s / 60, "minute")
        case ..<7200: return "About an hour ago"
        case ..<86400: return unit(s / 3600, "hour")
        case ..<(86400 * 60): return unit(s / 86400, "day")
        case ..<(86400 * 365 * 2): return unit(s / (86400 * 30), "month")
        default: return unit(s / (86400 * 365), "year")
        }
    }

    /// A one-line progress bar: `45% ▕█████     ▏ 44 MB/98 MB  12 MB/s  4s`.
    public static func progressBar(done: Int64, total: Int64?, bytesPerSecond: Double, eta: Double?, width: Int = 25) -> String {
        var line = ""
        if let t = total, t > 0 {
            let frac = min(max(Double(done) / Double(t), 0), 1)
            let filled = Int((frac * Double(width)).rounded(.down))
            line += String(repeating: " ", count: max(0, 3 - String(Int(frac * 100)).count)) + "\(Int(frac * 100))% ▕" + String(repeating: "█", count: filled)
                + String(repeating: " ", count: width - filled) + "▏ " + "\(bytes(done))/\(bytes(t))"
        } else {
            line += bytes(done)
        }
        line += "  \(bytes(Int64(bytesPerSecond)))/s"
        if let e = eta { line += "  \(duration(e))" }
        return line
    }
}
