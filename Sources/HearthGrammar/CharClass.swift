/// A set of Unicode code points, as a GBNF terminal: `[a-z]`, `[^"\\]`, a literal character, or `.`.
///
/// Ranges are kept sorted and merged so that membership and "could a character starting with these UTF-8 bytes
/// be in the set" (needed when a token ends inside a multi-byte character) are single scans.
public struct CharClass: Hashable, Sendable {
    /// Sorted, non-overlapping, non-adjacent inclusive ranges.
    public let ranges: [ClosedRange<UInt32>]
    /// When true the class matches every code point NOT in `ranges` (`[^…]`; `.` is the negation of nothing).
    public let negated: Bool

    public init(ranges: [ClosedRange<UInt32>], negated: Bool) {
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in sorted {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
        self.negated = negated
    }

    public static func single(_ c: UInt32) -> CharClass { CharClass(ranges: [c...c], negated: false) }
    public static let any = CharClass(ranges: [], negated: true)

    public func matches(_ c: UInt32) -> Bool {
        var inside = false
        for r in ranges {
            if c < r.lowerBound { break }
            if c <= r.upperBound { inside = true; break }
        }
        return inside != negated
    }

    /// Whether some code point in `lo...hi` is in the class (the code points a partial UTF-8 sequence may become).
    public func intersects(_ lo: UInt32, _ hi: UInt32) -> Bool {
        if negated {
            // Matches unless one range covers the whole interval (ranges are merged, so one must).
            for r in ranges where r.lowerBound <= lo && hi <= r.upperBound { return false }
            return true
        }
        for r in ranges where r.lowerBound <= hi && lo <= r.upperBound { return true }
        return false
    }
}
