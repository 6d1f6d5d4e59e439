import Foundation

// No Hummingbird here, so that scripts/fuzz can build this file for its `server-request` harness (OllamaBodies.swift
// says which files are kept so, and why).

/// How long a model stays loaded after its last request finished: Ollama's `keep_alive` (docs/api.md, "keep_alive
/// parameter"; api/types.go `Duration.UnmarshalJSON`). A JSON number is seconds; a string is a Go duration
/// (`time.ParseDuration`: "5m", "1h30m", "300ms", "1.5h"); zero unloads the model as soon as its requests are
/// done; a negative value keeps it loaded until the server stops.
public enum KeepAlive: Sendable, Equatable, CustomStringConvertible {
    case seconds(Double)
    case forever

    /// Ollama's default: five minutes.
    public static let standard = KeepAlive.seconds(300)

    /// A negative count of seconds means forever.
    public init(seconds: Double) throws(KeepAliveError) {
        guard seconds.isFinite else { throw KeepAliveError("\(seconds) is not a finite number of seconds") }
        self = seconds < 0 ? .forever : .seconds(seconds)
    }

    /// A Go duration string ("5m", "-1s", "0"), or a plain number of seconds ("300", as OLLAMA_KEEP_ALIVE takes).
    public init(parsing text: String) throws(KeepAliveError) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let v = Double(t) {
            try self.init(seconds: v)
            return
        }
        try self.init(seconds: try KeepAlive.goDuration(t))
    }

    /// HEARTH_KEEP_ALIVE, else five minutes; a value that does not parse is an error naming the variable.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws(KeepAliveError)
        -> KeepAlive {
        guard let raw = env["HEARTH_KEEP_ALIVE"], !raw.isEmpty else { return .standard }
        do { return try KeepAlive(parsing: raw) } catch {
            throw KeepAliveError("HEARTH_KEEP_ALIVE=\(raw): \(error.description)")
        }
    }

    /// Seconds, nil for forever.
    public var duration: Double? {
        if case .seconds(let s) = self { return s }
        return nil
    }

    public var description: String {
        switch self {
        case .forever: return "forever"
        case .seconds(let s): return s == s.rounded() ? "\(Int(s))s" : "\(s)s"
        }
    }

    /// Go's `time.ParseDuration` grammar: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or "0"; units ns, us (µs), ms, s, m, h.
    static func goDuration(_ s: String) throws(KeepAliveError) -> Double {
        let expected = "expected a duration such as \"5m\", \"1h30m\", \"300ms\" or a number of seconds"
        var chars = Array(s.unicodeScalars)
        guard !chars.isEmpty else { throw KeepAliveError("the duration is empty (\(expected))") }
        var sign = 1.0
        if chars[0] == "-" || chars[0] == "+" {
            if chars[0] == "-" { sign = -1 }
            chars.removeFirst()
        }
        if chars.count == 1 && chars[0] == "0" { return 0 }
        guard !chars.isEmpty else { throw KeepAliveError("\"\(s)\": \(expected)") }
        let units: [String: Double] = ["ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600]
        func isDigit(_ u: Unicode.Scalar) -> Bool { u.value >= 48 && u.value <= 57 }
        var total = 0.0
        var i = 0
        while i < chars.count {
            var number = ""
            while i < chars.count, isDigit(chars[i]) || chars[i] == "." {
                number.unicodeScalars.append(chars[i])
                i += 1
            }
            var unit = ""
            while i < chars.count, !isDigit(chars[i]), chars[i] != "." {
                unit.unicodeScalars.append(chars[i])
                i += 1
            }
            guard !number.isEmpty, number != ".", let value = Double(number.hasPrefix(".") ? "0" + number : number) else {
                throw KeepAliveError("\"\(s)\": \(expected)")
            }
            guard !unit.isEmpty else { throw KeepAliveError("\"\(s)\": missing unit after \(number) (\(expected))") }
            guard let scale = units[unit] else {
                throw KeepAliveError("\"\(s)\": unknown unit \"\(unit)\" (expected ns, us, ms, s, m or h)")
            }
            total += value * scale
        }
        return sign * total
    }
}

extension KeepAlive: Decodable {
    /// A JSON number (seconds) or string (duration); anything else is a decoding error naming the field.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let value: KeepAlive
        if let v = try? c.decode(Double.self) {
            do { value = try KeepAlive(seconds: v) } catch {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
            }
        } else if let text = try? c.decode(String.self) {
            do { value = try KeepAlive(parsing: text) } catch {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
            }
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription:
                "expected a number of seconds or a duration string such as \"5m\"")
        }
        self = value
    }
}

public struct KeepAliveError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ m: String) { description = m }
}
