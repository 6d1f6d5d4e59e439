import HearthKernels
import HearthTensors
import XCTest

/// The small-batch kernel (HearthKernelsAVX512/SmallBatch.swift: Q4_1/Q5_0/Q8_0 × 2…16 tokens) against its scalar
/// reference `ExactKernels.dot` and against the prefill GEMM it replaces, bit for bit, for every batch size 1…17
/// (tile widths 8, 4, 2, 1 and their remainders), row counts that are not multiples of the 4-row tile, 1 and 2
/// threads, and weights with extreme values (Q8_0 −128 and 127, which the unsigned-activation form must sum
/// exactly).
final class SmallBatchTests: XCTestCase {
    func testSmallBatchMatchesScalarReferenceAndGEMM() throws {
        guard KernelISA.supported.contains(.avx512) else {
            // The kernel exists only on AVX-512; the other paths are covered by ExactMatmulTests.
            XCTAssertFalse(KernelISA.selected == .avx512)
            return
        }
        var rng = MatmulTests.RNG(state: 0x5AA11)
        let saved = (SmallBatch.maxTokens, SmallBatch.maxTokensQ4_1)
        defer { (SmallBatch.maxTokens, SmallBatch.maxTokensQ4_1) = saved }
        SmallBatch.maxTokensQ4_1 = 64  // every width, not only the 2–3 tokens the dispatcher gives it
        for type in [GGMLType.q4_1, .q5_0, .q8_0] {
            let k = 576, rows = 23
            let rowBytes = k / 32 * type.blockBytes
            var raw = [UInt8](repeating: 0, count: rows * rowBytes)
            var src = [Float](repeating: 0, count: k)
            for r in 0..<rows {
                for i in 0..<k { src[i] = rng.float() * (i % 97 == 0 ? 20 : 1) }
                raw.withUnsafeMutableBytes { dst in
                    src.withUnsafeBufferPointer {
                        _ = QuantKernels.quantizeRow(type, $0.baseAddress!, dst.baseAddress! + r * rowBytes, k)
                    }
                }
            }
            if type == .q8_0 {
                // Row 5: every quant at the extremes (−128 is never produced by the quantizer, but a file may hold it).
                for b in 0..<(k / 32) {
                    for i in 0..<32 { raw[5 * rowBytes + b * 34 + 2 + i] = i % 3 == 0 ? 0x80 : (i % 3 == 1 ? 0x7F : 0x81) }
                }
            }
            let aType = try XCTUnwrap(ExactKernels.activationType(for: type))
            let aRow = k / 32 * aType.blockBytes
            let maxT = 17
            let x = (0..<(maxT * k)).map { i in rng.float() * 2 * (i % 61 == 0 ? 30 : 1) }
            var acts = [UInt8](repeating: 0, count: maxT * aRow)
            acts.withUnsafeMutableBytes { a in
                x.withUnsafeBufferPointer { xs in
                    for t in 0..<maxT { ExactKernels.quantizeRow(aType, xs.baseAddress! + t * k, a.baseAddress! + t * aRow, k) }
                }
            }
            var expected = [UInt32](repeating: 0, count: maxT * rows)
            raw.withUnsafeBytes { w in
                acts.withUnsafeBytes { a in
                    for t in 0..<maxT {
                        for r in 0..<rows {
                            expected[t * rows + r] = ExactKernels.dot(type, k, w.baseAddress! + r * rowBytes,
                                                                      a.baseAddress! + t * aRow).bitPattern
                        }
                    }
                }
            }
            for threads in [1, 2] {
                let pool = ThreadPool(threads: threads)
                for tokens in 1...maxT {
                    func run(_ limit: Int) -> [UInt32] {
                        SmallBatch.maxTokens = limit
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        raw.withUnsafeBytes { w in
                            let view = TensorView(name: "w", type: type, shape: [k, rows], data: w.baseAddress!,
                                                  byteCount: w.count)
                            x.withUnsafeBufferPointer { xs in
                                y.withUnsafeMutableBufferPointer { ys in
                                    matmul(view, xs.baseAddress!, nTokens: tokens, ys.baseAddress!, pool: pool, isa: .avx512)
                                }
                            }
                        }
                        return y.map(\.bitPattern)
                    }
                    let small = run(64), gemm = run(0)
                    let want = Array(expected[0..<(tokens * rows)])
                    XCTAssertEqual(small, want, "\(type) small-batch kernel, \(tokens) tokens, \(threads) threads")
                    XCTAssertEqual(gemm, want, "\(type) GEMM/GEMV, \(tokens) tokens, \(threads) threads")
                }
            }
        }
    }
}
