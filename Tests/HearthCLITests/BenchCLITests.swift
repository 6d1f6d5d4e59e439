import Foundation
import XCTest

/// `hearth bench` speaks llama-bench's formats (issue 3, point 6): JSON objects with llama-bench's field names
/// and consistent values, markdown with its columns, CSV with a header, the file type named as llama.cpp names
/// it, and bad arguments as one-line errors. (Speed itself is measured in bench/RESULTS.md, not here.)
final class BenchCLITests: XCTestCase {
    func testJSONMarkdownAndCSV() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2, CLI.gemma3)
        let r = try CLI.run(["bench", CLI.smollm2, "-p", "16", "-n", "4", "-r", "2", "-t", "2", "-o", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]], r.out)
        XCTAssertEqual(rows.count, 2)
        for (row, (np, ng)) in zip(rows, [(16, 0), (0, 4)]) {
            XCTAssertEqual(row["n_prompt"] as? Int, np)
            XCTAssertEqual(row["n_gen"] as? Int, ng)
            XCTAssertEqual(row["n_threads"] as? Int, 2)
            XCTAssertEqual(row["model_filename"] as? String, CLI.smollm2)
            XCTAssertEqual(row["model_type"] as? String, "llama 135M Q4_1")
            XCTAssertGreaterThan(row["model_n_params"] as? Int ?? 0, 130_000_000)
            let samples = try XCTUnwrap(row["samples_ts"] as? [Double])
            let ns = try XCTUnwrap(row["samples_ns"] as? [Int])
            XCTAssertEqual(samples.count, 2)
            XCTAssertEqual(ns.count, 2)
            for (t, n) in zip(samples, ns) {
                // t/s of a sample = tokens / its time.
                XCTAssertEqual(t, Double(np + ng) / (Double(n) / 1e9), accuracy: t * 1e-6)
            }
            let avg = try XCTUnwrap(row["avg_ts"] as? Double)
            XCTAssertEqual(avg, samples.reduce(0, +) / 2, accuracy: avg * 1e-9)
            XCTAssertNotNil(row["stddev_ts"] as? Double)
        }
        let md = try CLI.run(["bench", CLI.gemma3, "-p", "8", "-n", "2", "-r", "1", "-t", "1"])
        XCTAssertEqual(md.status, 0, md.stderr)
        let lines = md.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) },
                       ["model", "size", "params", "threads", "test", "t/s"])
        XCTAssert(lines.contains { $0.contains("gemma3 270M Q4_K - Medium") && $0.contains("pp8") }, md.out)
        XCTAssert(lines.contains { $0.contains("tg2") }, md.out)
        let csv = try CLI.run(["bench", CLI.smollm2, "-p", "8", "-n", "0", "-r", "1", "-o", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let csvLines = csv.out.split(separator: "\n")
        XCTAssertEqual(csvLines.count, 2, csv.out)
        XCTAssert(csvLines.first?.contains("avg_ts") == true, csv.out)
    }

    func testBadArgumentsAreOneLineErrors() throws {
        try CLI.requireFiles(CLI.binary, CLI.smollm2)
        for args in [["-o", "xml"], ["-r", "0"], ["-p", "-3"], ["-t", "0"]] {
            let r = try CLI.run(["bench", CLI.smollm2] + args)
            XCTAssertFalse(r.crashed, "\(args)")
            XCTAssertNotEqual(r.status, 0, "\(args): \(r.out)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args)")
        }
        let missing = try CLI.run(["bench", "/no/such/model.gguf"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssert(missing.stderr.contains("/no/such/model.gguf"), missing.stderr)
    }
}
