import HearthKernels
import HearthTensors
import XCTest

/// The Q4_1/Q5_0/Q8_0 matmul reproduces ggml's x86 arithmetic bit for bit on every kernel path: the AVX-512 version
/// must give exactly the bits of the portable `ExactKernels.dot`, for decode (1 token), odd and paired tokens,
/// odd row counts and both thread counts.
final class ExactMatmulTests: XCTestCase {
    func testEveryPathGivesTheSameBits() throws {
        var rng = SystemRandomNumberGenerator()
        for type in [GGMLType.q4_1, .q5_0, .q8_0] {
            let k = 576, rows = 37
            let rowBytes = k / 32 * type.blockBytes
            var raw = [UInt8](repeating: 0, count: rows * rowBytes)
            var src = [Float](repeating: 0, count: k)
            for r in 0..<rows {
                // Real quantized rows (finite scales), with an outlier now and then, as activations have.
                for i in 0..<k { src[i] = Float.random(in: -1...1, using: &rng) * (i % 97 == 0 ? 20 : 1) }
                raw.withUnsafeMutableBytes { dst in
                    src.withUnsafeBufferPointer {
                        _ = QuantKernels.quantizeRow(type, $0.baseAddress!, dst.baseAddress! + r * rowBytes, k)
                    }
                }
            }
            for tokens in [1, 2, 3, 5, 8] {
                let x = (0..<(tokens * k)).map { i in Float.random(in: -2...2, using: &rng) * (i % 61 == 0 ? 30 : 1) }
                let aType = try XCTUnwrap(ExactKernels.activationType(for: type))
                let aRow = k / 32 * aType.blockBytes
                var acts = [UInt8](repeating: 0, count: tokens * aRow)
                acts.withUnsafeMutableBytes { a in
                    x.withUnsafeBufferPointer { xs in
                        for t in 0..<tokens { ExactKernels.quantizeRow(aType, xs.baseAddress! + t * k, a.baseAddress! + t * aRow, k) }
                    }
                }
                var expected = [Float](repeating: 0, count: tokens * rows)
                raw.withUnsafeBytes { w in
                    acts.withUnsafeBytes { a in
                        for t in 0..<tokens {
                            for r in 0..<rows {
                                expected[t * rows + r] = ExactKernels.dot(type, k, w.baseAddress! + r * rowBytes,
                                                                          a.baseAddress! + t * aRow)
                            }
                        }
                    }
                }
                for isa in KernelISA.supported {
                    for threads in [1, 2] {
                        let pool = ThreadPool(threads: threads)
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        raw.withUnsafeBytes { w in
                            let view = TensorView(name: "w", type: type, shape: [k, rows], data: w.baseAddress!,
                                                  byteCount: w.count)
                            x.withUnsafeBufferPointer { xs in
                                y.withUnsafeMutableBufferPointer { ys in
                                    matmul(view, xs.baseAddress!, nTokens: tokens, ys.baseAddress!, pool: pool, isa: isa)
                                }
                            }
                        }
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "\(type) \(isa) tokens \(tokens) threads \(threads)")
                    }
                }
            }
        }
    }
}
