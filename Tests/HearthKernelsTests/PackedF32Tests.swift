import Foundation
import XCTest
@testable import HearthKernels
import HearthTensors

/// The packed F32 GEMM (AVX-512 outer-product kernel and its scalar reference) against a Double reference, on
/// shapes that exercise the row padding, the token tail and F16/BF16 sources.
final class PackedF32Tests: XCTestCase {
    func check(rows: Int, k: Int, tokens: Int, type: GGMLType, file: StaticString = #filePath, line: UInt = #line) {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(rows * 1000 + k)
        func next() -> Float {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: seed >> 11) % 2000 - 1000) / 1000
        }
        let wf = (0..<(rows * k)).map { _ in next() }
        let x = (0..<(tokens * k)).map { _ in next() }
        var bytes: [UInt8] = []
        for v in wf {
            switch type {
            case .f16: bytes += withUnsafeBytes(of: floatToHalf(v).littleEndian, Array.init)
            case .bf16: bytes += withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian, Array.init)
            default: bytes += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
            }
        }
        bytes.withUnsafeBytes { raw in
            let view = TensorView(name: "w", type: type, shape: [k, rows], data: raw.baseAddress!, byteCount: raw.count)
            let packed = PackedF32Matrix(view)
            // The weights as the matrix holds them (after F16/BF16 rounding).
            let w = (0..<rows).map { r in (0..<k).map { packed.value(row: r, $0) } }
            var expected = [Double](repeating: 0, count: tokens * rows)
            for t in 0..<tokens { for r in 0..<rows {
                var s = 0.0
                for kk in 0..<k { s += Double(w[r][kk]) * Double(x[t * k + kk]) }
                expected[t * rows + r] = s
            } }
            let pool = ThreadPool(threads: 2)
            for isa in KernelISA.supported {
                var y = [Float](repeating: .nan, count: tokens * rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        matmul(packed, xp.baseAddress!, nTokens: tokens, yp.baseAddress!, pool: pool, isa: isa)
                    }
                }
                for i in 0..<(tokens * rows) {
                    XCTAssertEqual(Double(y[i]), expected[i], accuracy: 1e-4 * Double(k).squareRoot(),
                                   "\(isa) \(type) rows \(rows) k \(k) tokens \(tokens) at \(i)", file: file, line: line)
                }
            }
        }
    }

    func testShapes() {
        check(rows: 384, k: 384, tokens: 37, type: .f32)
        check(rows: 100, k: 70, tokens: 13, type: .f32)
        check(rows: 7, k: 5, tokens: 1, type: .f32)
        check(rows: 130, k: 64, tokens: 6, type: .f16)
        check(rows: 65, k: 33, tokens: 12, type: .bf16)
    }
}
