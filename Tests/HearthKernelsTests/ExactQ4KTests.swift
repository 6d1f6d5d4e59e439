import HearthKernels
import HearthTensors
import XCTest

/// The Q4_K matmul reproduces llama.cpp's repacked x86 kernels (ExactQ4K.swift): every kernel path gives the bits
/// of the portable `ExactKernels.dotQ4_K` with ggml's choice of GEMM (whole groups of 4 tokens), GEMV (the rest)
/// or the row-wise dot (weights whose row count is not a multiple of 8), and activations quantized the way each
/// of those paths quantizes them.
final class ExactQ4KTests: XCTestCase {
    func testEveryPathGivesTheSameBits() throws {
        var rng = SystemRandomNumberGenerator()
        for (k, rows) in [(512, 40), (768, 72), (256, 37)] {
            let raw = randomQ4KBlocks(rows * k / 256, using: &rng)
            for tokens in [1, 2, 3, 4, 5, 7, 8, 9, 13] {
                let x = (0..<(tokens * k)).map { i in Float.random(in: -2...2, using: &rng) * (i % 61 == 0 ? 30 : 1) }
                let expected = expectedQ4K(raw, k: k, rows: rows, x: x, tokens: tokens)
                for isa in KernelISA.supported {
                    for threads in [1, 2] {
                        let pool = ThreadPool(threads: threads)
                        var y = [Float](repeating: .nan, count: tokens * rows)
                        raw.withUnsafeBytes { w in
                            let view = TensorView(name: "w", type: .q4_K, shape: [k, rows], data: w.baseAddress!,
                                                  byteCount: w.count)
                            x.withUnsafeBufferPointer { xs in
                                y.withUnsafeMutableBufferPointer { ys in
                                    matmul(view, xs.baseAddress!, nTokens: tokens, ys.baseAddress!, pool: pool, isa: isa)
                                }
                            }
                        }
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "k \(k) rows \(rows) \(isa) tokens \(tokens) threads \(threads)")
                    }
                }
            }
        }
    }

    /// All three kernels compute the same real-valued dot product (within float rounding of the dequantized one),
    /// so none of them drops a term; the GEMM and GEMV differ only in float accumulation order.
    func testKernelsAgreeWithDequantizedDot() {
        var rng = SystemRandomNumberGenerator()
        let k = 1024
        let w = randomQ4KBlocks(k / 256, using: &rng)
        let x = (0..<k).map { _ in Float.random(in: -1...1, using: &rng) }
        var a = [UInt8](repeating: 0, count: k / 256 * 292)
        var wf = [Float](repeating: 0, count: k), af = [Float](repeating: 0, count: k)
        w.withUnsafeBytes { wb in
            a.withUnsafeMutableBytes { ab in
                x.withUnsafeBufferPointer { ExactKernels.quantizeRowQ8_KPositiveTies($0.baseAddress!, ab.baseAddress!, k) }
                dequantizeRowQ4_K(wb.baseAddress!, &wf, k)
                dequantizeRowQ8_K(UnsafeRawPointer(ab.baseAddress!), &af, k)
            }
        }
        var want: Double = 0
        for i in 0..<k { want += Double(wf[i]) * Double(af[i]) }
        for kernel in [ExactKernels.Q4KKernel.gemm, .gemv, .rowwise] {
            let got = w.withUnsafeBytes { wb in a.withUnsafeBytes { ExactKernels.dotQ4_K(k, wb.baseAddress!, $0.baseAddress!, kernel: kernel) } }
            XCTAssertEqual(Double(got), want, accuracy: 1e-3 * max(1, abs(want)), "\(kernel)")
        }
    }

    /// `ggml_quantize_mat_q8_K_4x8` gives + the sign when both +amax and −amax occur; `quantize_row_q8_K` takes
    /// the first. Same quants otherwise.
    func testGroupQuantizerTieRule() {
        var x = (0..<256).map { Float($0 % 13) / 10 - 0.6 }
        x[3] = -2; x[200] = 2
        var grouped = [UInt8](repeating: 0, count: 292), single = grouped
        grouped.withUnsafeMutableBytes { ExactKernels.quantizeRowQ8_KPositiveTies(x, $0.baseAddress!, 256) }
        single.withUnsafeMutableBytes { quantizeRowQ8_K(x, $0.baseAddress!, 256) }
        let dg = grouped.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        let ds = single.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        XCTAssertEqual(dg, -ds)
        XCTAssertLessThan(dg, 0)  // iscale = −127/(+2): d = 1/iscale < 0
        x[3] = -1
        grouped.withUnsafeMutableBytes { ExactKernels.quantizeRowQ8_KPositiveTies(x, $0.baseAddress!, 256) }
        single.withUnsafeMutableBytes { quantizeRowQ8_K(x, $0.baseAddress!, 256) }
        XCTAssertEqual(grouped, single)
    }
}

/// ggml's Q4_K matmul of `raw` (rows of `k` columns) with `tokens` activation rows `x`, by the portable
/// `ExactKernels.dotQ4_K` with ggml's kernel choice per token and its activation quantization.
func expectedQ4K(_ raw: [UInt8], k: Int, rows: Int, x: [Float], tokens: Int) -> [Float] {
    let rowBytes = k / 256 * 144, aRow = k / 256 * 292
    var acts = [UInt8](repeating: 0, count: tokens * aRow)
    acts.withUnsafeMutableBytes { a in
        x.withUnsafeBufferPointer {
            ExactKernels.quantizeQ4_KActivations($0.baseAddress!, k: k, tokenStart: 0, tokenEnd: tokens,
                                                 nTokens: tokens, rows: rows, a.baseAddress!)
        }
    }
    var expected = [Float](repeating: 0, count: tokens * rows)
    raw.withUnsafeBytes { w in
        acts.withUnsafeBytes { a in
            for t in 0..<tokens {
                let kernel = ExactKernels.q4KKernel(token: t, nTokens: tokens, rows: rows)
                for r in 0..<rows {
                    expected[t * rows + r] = ExactKernels.dotQ4_K(k, w.baseAddress! + r * rowBytes,
                                                                  a.baseAddress! + t * aRow, kernel: kernel)
                }
            }
        }
    }
    return expected
}

/// `count` Q4_K blocks of random bytes with fp16 d and dmin in [1e-3, 2e-2] (ggml's quantizer stores both ≥ 0).
func randomQ4KBlocks(_ count: Int, using rng: inout SystemRandomNumberGenerator) -> [UInt8] {
    var raw = [UInt8](repeating: 0, count: count * 144)
    for i in raw.indices { raw[i] = UInt8.random(in: 0...255, using: &rng) }
    for b in 0..<count {
        for off in [0, 2] {
            let v = Float16(Float.random(in: 0.001...0.02, using: &rng))
            raw[b * 144 + off] = UInt8(v.bitPattern & 0xFF)
            raw[b * 144 + off + 1] = UInt8(v.bitPattern >> 8)
        }
    }
    return raw
}
