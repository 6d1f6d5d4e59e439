import Foundation
import XCTest
@testable import HearthKernels
import HearthKernelsAVX512

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
        let input = (0..<1000).map { Float($0 - 500) / 50 }   // −10…10, 1000 values: 62 vectors and a tail
        let expected = input.map(Ops.geluErfReference)
        var dispatched = input, portable = input
        dispatched.withUnsafeMutableBufferPointer { Ops.geluErf($0.baseAddress!, $0.count) }
        portable.withUnsafeMutableBufferPointer { Ops.geluErfPortable($0.baseAddress!, $0.count) }
        for i in input.indices {
            XCTAssertEqual(dispatched[i], expected[i], accuracy: 2e-6 * max(1, abs(expected[i])), "x = \(input[i])")
            XCTAssertEqual(portable[i], expected[i], accuracy: 2e-6 * max(1, abs(expected[i])), "x = \(input[i])")
        }
        XCTAssertEqual(Ops.geluErfReference(1), 0.841_344_7, accuracy: 1e-6)
    }

    /// The AVX-512 encoder attention kernel against a Double softmax(QKᵀ·scale)V, for lengths around the 16-lane
    /// blocks and head sizes 32 and 64 (on CPUs without AVX-512 the kernel is never called).
    func testEncoderAttentionKernel() {
        guard KernelISA.avx512.isSupported else { return }
        var seed: UInt64 = 42
        func next() -> Float {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: seed >> 11) % 2000 - 1000) / 500
        }
        for (len, d) in [(1, 32), (15, 32), (16, 32), (17, 64), (40, 64)] {
            let stride = d * 3   // three heads side by side; test the middle one
            let q = (0..<(len * stride)).map { _ in next() }, k = (0..<(len * stride)).map { _ in next() }
            let v = (0..<(len * stride)).map { _ in next() }
            var out = [Float](repeating: .nan, count: len * stride)
            let lp = (len + 15) & ~15
            var kT = [Float](repeating: 0, count: d * lp), scores = [Float](repeating: 0, count: lp)
            let scale = 1 / Float(d).squareRoot()
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer { op in
                    avx512EncoderAttention(q: qp.baseAddress! + d, k: kp.baseAddress! + d, v: vp.baseAddress! + d,
                                           out: op.baseAddress! + d, len: len, stride: stride, d: d, scale: scale,
                                           kT: &kT, scores: &scores)
                }
            } } }
            for i in 0..<len {
                var s = (0..<len).map { j in (0..<d).reduce(0.0) { $0 + Double(q[i * stride + d + $1]) * Double(k[j * stride + d + $1]) } * Double(scale) }
                let m = s.max()!
                s = s.map { exp($0 - m) }
                let sum = s.reduce(0, +)
                for e in 0..<d {
                    let ref = (0..<len).reduce(0.0) { $0 + s[$1] / sum * Double(v[$1 * stride + d + e]) }
                    XCTAssertEqual(Double(out[i * stride + d + e]), ref, accuracy: 1e-5, "len \(len) d \(d) i \(i) e \(e)")
                }
                XCTAssertTrue(out[i * stride].isNaN && out[i * stride + 2 * d].isNaN, "wrote outside its head")
            }
        }
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
