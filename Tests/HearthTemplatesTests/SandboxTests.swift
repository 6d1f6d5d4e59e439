import Foundation
import HearthTemplates
import XCTest

/// A hostile template cannot hang the process, exhaust memory or overflow the stack: every bound is an error.
final class SandboxTests: XCTestCase {
    let clock = try? TemplateClock(iso8601: "2026-11-26T12:00:00")

    func render(_ source: String, limits: TemplateLimits = .default) throws -> String {
        try ChatTemplate(source: source).render(context: [:], clock: XCTUnwrap(clock), limits: limits)
    }

    func assertLimit(_ source: String, limits: TemplateLimits = .default, _ mention: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try render(source, limits: limits), file: file, line: line) { error in
            guard let e = error as? TemplateError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .limit, "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(mention), "\(e)", file: file, line: line)
        }
    }

    func testNestedLoopsHitTheIterationBound() {
        let nested = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
            + "{% endfor %}{% endfor %}{% endfor %}"
        assertLimit(nested, limits: TemplateLimits(maxLoopIterations: 50_000), "loop iterations")
    }

    func testHugeRangeIsRefusedBeforeAllocating() {
        assertLimit("{% for i in range(10 ** 15) %}{% endfor %}", "range too big")
        assertLimit("{{ range(-5, 9223372036854775807) | length }}", "range too big")
    }

    func testUnboundedRecursionHitsTheCallDepth() {
        assertLimit("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "nested more than 100")
        // Mutual recursion through caller() as well.
        assertLimit("{% macro g() %}{% call g() %}x{% endcall %}{% endmacro %}{{ g() }}", "nested more than")
    }

    func testOutputGrowthIsBounded() {
        let limits = TemplateLimits(maxOutputBytes: 1 << 20)
        assertLimit("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", limits: limits, "output exceeds")
        assertLimit("{{ 'x' * 1000000000000 }}", limits: limits, "would exceed")
        assertLimit("{{ [1, 2] * 100000000000 }}", limits: limits, "would exceed")
        assertLimit("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                    limits: limits, "would exceed")
        assertLimit("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                    limits: limits, "would exceed")
        assertLimit("{% set s = 'x' * 2000 %}{{ s.replace('x', s) }}", limits: limits, "would exceed")
        // Output captured in a block set counts as well.
        assertLimit("{% set b %}{% for i in range(100000) %}{{ 'y' * 100 }}{% endfor %}{% endset %}", limits: limits,
                    "output exceeds")
    }

    func testOneBigStringManyTimesIsBounded() {
        // A list may hold the same large string many times (shared storage); printing or joining it is refused.
        let big = "{% set s = 'x' * 100000 %}{% set l = [s] * 1000 %}"
        let limits = TemplateLimits(maxOutputBytes: 1 << 20)
        for expr in ["l", "l | join", "''.join(l)", "l | tojson", "l | string | length", "'%s' % l", "l ~ ''", "'{}'.format(l)"] {
            assertLimit(big + "{{ \(expr) }}", limits: limits, "would exceed")
        }
        assertLimit("{{ [0] * 100000000 }}", "would exceed")
    }

    func testHugeWidthsAreRefused() {
        for expr in ["'a\\nb' | indent(10 ** 12)", "'a' | center(10 ** 12)", "[1] | tojson(indent=10 ** 12)",
                     "{'a': 1} | tojson(indent=10 ** 7)", "'x' | replace('', 'y' * 1000000)"] {
            assertLimit("{{ \(expr) }}", limits: TemplateLimits(maxOutputBytes: 1 << 20), "exceed")
        }
        assertLimit("{{ [1] | batch(10 ** 12, 0) | list }}", "exceed")
    }

    func testNamespacesCannotNestWithoutBound() throws {
        assertLimit("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}",
                    "nested more than 512")
        // A namespace holding itself prints as jinja2 prints it.
        XCTAssertEqual(try render("{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }}"),
                       "<Namespace {'a': 1, 'me': <Namespace {...}>}>")
    }

    func testSlowTemplatesHitTheTimeout() {
        let limits = TemplateLimits(maxLoopIterations: .max, timeout: .milliseconds(200))
        assertLimit("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                    limits: limits, "longer than")
    }

    func testDeepNestingIsASyntaxLimitNotACrash() {
        for source in ["{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}",
                       "{{ " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + " }}",
                       "{{ " + String(repeating: "not ", count: 5000) + "1 }}",
                       "{{ " + String(repeating: "-", count: 5000) + "1 }}",
                       String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000)] {
            XCTAssertThrowsError(try ChatTemplate(source: source)) { error in
                XCTAssertEqual((error as? TemplateError)?.kind, .limit, "\(error)")
            }
        }
        // Moderate nesting is fine.
        XCTAssertEqual(try render("{{ " + String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40) + " }}"), "1")
    }

    func testIntegerOverflowIsAnError() {
        assertLimit("{{ 9223372036854775807 + 1 }}", "overflow")
        assertLimit("{{ 2 ** 64 }}", "overflow")
        assertLimit("{{ -9223372036854775807 - 2 }}", "overflow")
        XCTAssertEqual(try render("{{ 2 ** 62 }}"), "4611686018427387904")
    }

    func testNoFileOrModuleAccess() {
        for source in ["{% include 'x.jinja' %}", "{% extends 'base' %}", "{% import 'm' as m %}",
                       "{% from 'm' import x %}"] {
            XCTAssertThrowsError(try ChatTemplate(source: source), source)
        }
        // Python internals are not reachable through attributes.
        XCTAssertEqual(try render("[{{ ''.__class__ }}][{{ namespace.__init__ }}][{{ range.__globals__ }}]"), "[][][]")
        XCTAssertThrowsError(try render("{{ ''.__class__.__mro__ }}"))
    }

    func testLimitsApplyOnSmallStackThreads() throws {
        // A caller on a thread with a small stack still gets errors, not a crash: rendering runs on its own stack.
        let done = expectation(description: "rendered")
        let clock = try XCTUnwrap(clock)
        let thread = Thread {
            let deep = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
            do {
                _ = try ChatTemplate(source: deep).render(context: [:], clock: clock)
                XCTFail("unbounded recursion rendered")
            } catch {
                XCTAssertEqual((error as? TemplateError)?.kind, .limit)
            }
            done.fulfill()
        }
        thread.stackSize = 256 << 10
        thread.start()
        wait(for: [done], timeout: 30)
    }
}
