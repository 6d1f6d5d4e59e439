import Foundation

/// The globals a chat template sees: jinja2's `range`, `namespace`, `dict`, and the two Hugging Face adds,
/// `raise_exception(message)` and `strftime_now(format)` (transformers' `_compile_jinja_template`).
enum Builtins {
    static func globals() -> [String: TemplateValue] {
        [
            "range": .callable(TemplateCallable(name: "range") { args, interp in try range(args, interp) }),
            "namespace": .callable(TemplateCallable(name: "namespace") { args, interp in
                var attrs = TemplateValue.TemplateObject()
                for p in args.positional {
                    guard case .object(let o) = p else {
                        throw TemplateError(.type, "namespace() takes a mapping, not \(p.typeName)")
                    }
                    for (k, v) in o.pairs { attrs[k] = v }
                }
                for (k, v) in args.keyword { attrs[k] = v }
                let ns = TemplateValue.Namespace(attrs)
                interp.namespaces.append(ns)
                return .namespace(ns)
            }),
            "dict": .callable(TemplateCallable(name: "dict") { args, _ in
                var o = TemplateValue.TemplateObject()
                if case .object(let base)? = args.positional.first { o = base }
                for (k, v) in args.keyword { o[k] = v }
                return .object(o)
            }),
            "raise_exception": .callable(TemplateCallable(name: "raise_exception") { args, _ in
                throw TemplateError(.raised, args.positional.first?.pyStr ?? "")
            }),
            "strftime_now": .callable(TemplateCallable(name: "strftime_now") { args, interp in
                guard case .string(let format)? = args.positional.first else {
                    throw TemplateError(.type, "strftime_now() needs a format string")
                }
                return .string(Strftime.format(format, interp.clock))
            }),
        ]
    }

    /// Python's `range`, materialized as a list; jinja2's sandbox caps it (MAX_RANGE), here at the loop limit.
    private static func range(_ args: CallArguments, _ interp: TemplateInterpreter) throws -> TemplateValue {
        let ints = try args.positional.map { v -> Int in
            guard let i = v.intValue else {
                throw TemplateError(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
            }
            return i
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw TemplateError(.type, "range expected 1 to 3 integer arguments, got \(ints.count)")
        }
        guard step != 0 else { throw TemplateError(.value, "range() arg 3 must not be zero") }
        let (span, overflow) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
        let count = overflow ? Int.max : span <= 0 ? 0 : Int((UInt(span) - 1) / step.magnitude + 1)
        guard count <= interp.limits.maxLoopIterations else {
            throw TemplateError(.limit, "range too big (\(count) items; the limit is \(interp.limits.maxLoopIterations))")
        }
        return .array((0..<count).map { .int(start + $0 * step) })
    }
}

/// A wall-clock time for `strftime_now`, broken down as C's `struct tm` (transformers calls
/// `datetime.now().strftime(format)`: local time, no zone).
public struct TemplateClock: Sendable, Equatable {
    public var year, month, day, hour, minute, second: Int
    /// 0 = Sunday … 6 = Saturday.
    public var weekday: Int
    public var dayOfYear: Int

    public init(date: Date, timeZone: TimeZone = .current) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        year = c.year ?? 1970; month = c.month ?? 1; day = c.day ?? 1
        hour = c.hour ?? 0; minute = c.minute ?? 0; second = c.second ?? 0
        weekday = (c.weekday ?? 1) - 1
        dayOfYear = cal.ordinality(of: .day, in: .year, for: date) ?? 1
    }

    /// The local wall clock now.
    public static func now() -> TemplateClock { TemplateClock(date: Date()) }

    /// A wall-clock time written as ISO 8601 `YYYY-MM-DD[THH:MM[:SS[.fraction]]]`, optionally followed by `Z` or
    /// `±HH:MM`: the time as written is what `strftime_now` shows (the zone suffix is accepted and not applied).
    public init(iso8601 text: String) throws {
        let bad = TemplateError(.value, "'\(text)' is not an ISO 8601 date-time (expected YYYY-MM-DDTHH:MM:SS)")
        var s = Substring(text)
        if s.hasSuffix("Z") || s.hasSuffix("z") {
            s = s.dropLast()
        } else if s.count > 16, let sign = s.dropFirst(16).lastIndex(where: { $0 == "+" || $0 == "-" }) {
            s = s[..<sign]
        }
        let parts = s.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3, let y = Int(date[0]), let m = Int(date[1]), let d = Int(date[2]) else { throw bad }
        var hms = [0, 0, 0]
        if parts.count == 2 {
            let time = parts[1].split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(time.count) else { throw bad }
            for (i, t) in time.enumerated() {
                let whole = i == 2 ? t.split(separator: ".", maxSplits: 1).first ?? "" : t
                guard whole.count == 2, let v = Int(whole) else { throw bad }
                hms[i] = v
            }
        }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (y, m, d, hms[0], hms[1], hms[2])
        var cal = Calendar(identifier: .gregorian)
        let utc = TimeZone(identifier: "UTC") ?? TimeZone.current
        cal.timeZone = utc
        guard (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d), hms[0] < 24, hms[1] < 60,
              hms[2] < 61, let instant = cal.date(from: c), cal.component(.day, from: instant) == d
        else { throw bad }
        self.init(date: instant, timeZone: utc)
    }
}

/// C `strftime` in the C locale (what Python's `datetime.strftime` calls on Linux), including glibc's `%-d`-style
/// no-padding flag.
enum Strftime {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ format: String, _ t: TemplateClock) -> String {
        var out = ""
        var it = Array(format).makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard var spec = it.next() else { out.append("%"); break }
            var pad = true
            if spec == "-" {
                pad = false
                guard let s = it.next() else { out += "%-"; break }
                spec = s
            }
            func num(_ n: Int, _ width: Int) -> String {
                let s = String(n)
                return pad && s.count < width ? String(repeating: "0", count: width - s.count) + s : s
            }
            let hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12
            let month = months[max(0, min(11, t.month - 1))]
            let day = days[max(0, min(6, t.weekday))]
            switch spec {
            case "Y": out += String(t.year)
            case "y": out += num(t.year % 100, 2)
            case "C": out += num(t.year / 100, 2)
            case "m": out += num(t.month, 2)
            case "d": out += num(t.day, 2)
            case "e": out += pad ? (t.day < 10 ? " " : "") + String(t.day) : String(t.day)
            case "H": out += num(t.hour, 2)
            case "I": out += num(hour12, 2)
            case "M": out += num(t.minute, 2)
            case "S": out += num(t.second, 2)
            case "j": out += num(t.dayOfYear, 3)
            case "p": out += t.hour < 12 ? "AM" : "PM"
            case "B": out += month
            case "b", "h": out += String(month.prefix(3))
            case "A": out += day
            case "a": out += String(day.prefix(3))
            case "w": out += String(t.weekday)
            case "u": out += String(t.weekday == 0 ? 7 : t.weekday)
            case "F": out += "\(t.year)-\(num(t.month, 2))-\(num(t.day, 2))"
            case "D": out += "\(num(t.month, 2))/\(num(t.day, 2))/\(num(t.year % 100, 2))"
            case "T": out += "\(num(t.hour, 2)):\(num(t.minute, 2)):\(num(t.second, 2))"
            case "R": out += "\(num(t.hour, 2)):\(num(t.minute, 2))"
            case "c":
                out += "\(day.prefix(3)) \(month.prefix(3)) \(t.day < 10 ? " " : "")\(t.day) "
                    + "\(num(t.hour, 2)):\(num(t.minute, 2)):\(num(t.second, 2)) \(t.year)"
            case "x": out += "\(num(t.month, 2))/\(num(t.day, 2))/\(num(t.year % 100, 2))"
            case "X": out += "\(num(t.hour, 2)):\(num(t.minute, 2)):\(num(t.second, 2))"
            case "Z", "z": break  // a naive datetime has no zone
            case "n": out += "\n"
            case "t": out += "\t"
            case "%": out += "%"
            default: out += "%" + (pad ? "" : "-") + String(spec)
            }
        }
        return out
    }
}
