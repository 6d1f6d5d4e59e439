import Foundation
import XCTest
@testable import HearthKernels

/// The encoder ops against plain references: the vectorized erf against libm's erff, LayerNorm against a
/// Double computation.
final class EncoderOpsTests: XCTestCase {
    func testErfFastAgreesWithLibm() {
        var worst: Float = 0
        var x: Float = -6
        while x <= 6 {
            var lanes = SIMD16<Float>()
            for i in 0..<16 { lanes[i] = x + Float(i) * 1e-4 }
            let y = Ops.erfFast(lanes)
            for i in 0..<16 { worst = max(worst, abs(y[i] - erff(lanes[i]))) }
            x += 0.0037
        }
        XCTAssertLessThan(worst, 1e-6)
    }

    func testGeluErfMatchesReference() {
        var values = (0..<1000).map { Float($0 - 500) / 50 }   // −10…10, 1000 values: 62 vectors and a tail
        let expected = values.map(Ops.geluErfReference)
        values.withUnsafeMutableBufferPointer { Ops.geluErf($0.baseAddress!, $0.count) }
        for (a, b) in zip(values, expected) { XCTAssertEqual(a, b, accuracy: 2e-6 * max(1, abs(b))) }
        XCTAssertEqual(Ops.geluErfReference(1), 0.841_344_7, accuracy: 1e-6)
    }

    func testLayerNorm() {
        let n = 384
        var x = (0..<(2 * n)).map { Float(sin(Double($0))) * 3 + 1 }
        let gamma = (0..<n).map { 1 + Float($0) / 1000 }, beta = (0..<n).map { Float($0) / 100 }
        var expected = [Float]()
        for r in 0..<2 {
            let row = x[(r * n)..<((r + 1) * n)].map(Double.init)
            let mean = row.reduce(0, +) / Double(n)
            let v = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            for i in 0..<n { expected.append(Float((row[i] - mean) / (v + 1e-12).squareRoot()) * gamma[i] + beta[i]) }
        }
        x.withUnsafeMutableBufferPointer { Ops.layerNorm($0.baseAddress!, gamma: gamma, beta: beta, n: n, rows: 2, eps: 1e-12) }
        for (a, b) in zip(x, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }
}
