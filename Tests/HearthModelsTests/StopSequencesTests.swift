import XCTest
@testable import HearthEngine

final class StopSequencesTests: XCTestCase {
    /// Feeds pieces one by one and returns what was shown and whether it stopped.
    private func run(_ stops: [String], _ pieces: [String]) -> (String, Bool) {
        var s = StopSequences(stops)
        var out = ""
        for p in pieces {
            out += s.append(p)
            if s.stopped { return (out, true) }
        }
        return (out + s.flush(), false)
    }

    func testStopSpanningTokens() {
        XCTAssertEqual(run(["</answer>"], ["The ", "answer</", "ans", "wer> more"]).0, "The answer")
        XCTAssertTrue(run(["</answer>"], ["x</", "answer>"]).1)
    }

    func testHeldBackTextIsReleasedWhenNoStop() {
        var s = StopSequences(["STOP"])
        XCTAssertEqual(s.append("abc ST"), "abc ")  // "ST" could still become STOP
        XCTAssertEqual(s.append("AR"), "STAR")
        XCTAssertEqual(s.append("S"), "")
        XCTAssertEqual(s.flush(), "S")
        XCTAssertFalse(s.stopped)
    }

    func testEarliestStopWins() {
        XCTAssertEqual(run(["bb", "a"], ["xxbba"]).0, "xx")
        XCTAssertEqual(run(["\n\n"], ["line\n", "\nnext"]).0, "line")
    }

    func testNoStops() {
        XCTAssertEqual(run([], ["a", "b"]).0, "ab")
        XCTAssertEqual(run([""], ["a"]).0, "a")
    }
}
