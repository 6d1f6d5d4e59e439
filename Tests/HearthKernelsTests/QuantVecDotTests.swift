import Foundation
import XCTest
import HearthKernels
import HearthTensors

/// Each scalar reference dot product equals the dot product of its dequantized operands.
///
/// Tolerance: the kernels sum per-block (or per-lane) float products, so they may differ from the exact dot of
/// the dequantized rows by float rounding: allowed |ref − exact| ≤ 2e-6·Σ|w_i·a_i| (a few ulps of float per
/// block over ≤ 20 blocks). For the Q8_1 pairs the min term uses the activation block's fp16 `s = fp16(d·Σq)`
/// computed from the unrounded d, which differs from fp16(d)·Σq by up to about 2^-10 relative: each such block
/// adds |m_w|·|s_a|·2^-9 to the allowance.
final class QuantVecDotTests: XCTestCase {
    typealias DotFn = (Int, UnsafeRawPointer, UnsafeRawPointer) -> Float

    /// The named references, checked directly (so their exact names and signatures are part of the test).
    let named: [(GGMLType, DotFn)] = [
        (.f32, vecDotF32), (.f16, vecDotF16F32), (.bf16, vecDotBF16F32),
        (.q4_0, vecDotQ4_0Q8_0), (.q4_1, vecDotQ4_1Q8_1), (.q5_0, vecDotQ5_0Q8_0), (.q5_1, vecDotQ5_1Q8_1),
        (.q8_0, vecDotQ8_0Q8_0), (.q2_K, vecDotQ2_KQ8_K), (.q3_K, vecDotQ3_KQ8_K), (.q4_K, vecDotQ4_KQ8_K),
        (.q5_K, vecDotQ5_KQ8_K), (.q6_K, vecDotQ6_KQ8_K),
        (.q8_1, vecDotQ8_1Q8_1), (.q8_K, vecDotQ8_KQ8_K),
    ]

    private func dequantize(_ t: GGMLType, _ raw: [UInt8], _ n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        raw.withUnsafeBytes { s in
            out.withUnsafeMutableBufferPointer { d in
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                QuantKernels.dequantizeRow(t, sp, dp, n)
            }
        }
        return out
    }

    private func quantize(_ t: GGMLType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: t.byteCount(elements: x.count) ?? 0)
        x.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBytes { d in
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                QuantKernels.quantizeRow(t, sp, dp, x.count)
            }
        }
        return out
    }

    /// Weight rows: the committed random-bit blocks for quantized types (finite, edge-case scales included),
    /// random floats encoded here for F32/F16/BF16.
    private func weights(_ t: GGMLType, _ v: QuantVectors, _ rng: inout TestRNG) throws -> (raw: [UInt8], n: Int) {
        if !t.isQuantized {
            let x = rng.activations(512)
            return (quantize(t, x), 512)
        }
        guard let e = v.manifest.types.first(where: { $0.name == t.description }) else {
            throw XCTSkip("no vectors for \(t)")
        }
        return (try v.bytes("\(e.name).blocks"), e.elements)
    }

    func testVecDotMatchesDequantizedDot() throws {
        let v = try QuantVectors()
        var rng = TestRNG(seed: 7)
        for (t, fn) in named {
            let (wRaw, n) = try weights(t, v, &rng)
            let at = QuantKernels.activationType(for: t)
            let x = rng.activations(n, block: at.blockSize > 32 ? 256 : 32)
            let aRaw = quantize(at, x)
            let wd = dequantize(t, wRaw, n)
            let ad = dequantize(at, aRaw, n)
            var exact: Double = 0
            var absSum: Double = 0
            for i in 0..<n {
                exact += Double(wd[i]) * Double(ad[i])
                absSum += abs(Double(wd[i]) * Double(ad[i]))
            }
            var tol = 2e-6 * absSum + 1e-30
            if at == .q8_1 && t != .q8_1 {
                let mOff = 2
                for b in 0..<(n / 32) {
                    let wo = b * t.blockBytes + mOff
                    let ao = b * 36 + 2
                    let m = halfToFloat(UInt16(wRaw[wo]) | UInt16(wRaw[wo + 1]) << 8)
                    let s = halfToFloat(UInt16(aRaw[ao]) | UInt16(aRaw[ao + 1]) << 8)
                    tol += Double(abs(m) * abs(s)) * 0x1p-9
                }
            }
            var direct: Float = .nan
            var dispatched: Float = .nan
            wRaw.withUnsafeBytes { w in
                aRaw.withUnsafeBytes { a in
                    guard let wp = w.baseAddress, let ap = a.baseAddress else { return }
                    direct = fn(n, wp, ap)
                    dispatched = QuantKernels.vecDotReference(t, n, wp, ap)
                }
            }
            XCTAssertEqual(direct.bitPattern, dispatched.bitPattern, "\(t): dispatcher calls the named reference")
            XCTAssertTrue(exact.isFinite && absSum > 0, "\(t): test data has a finite, non-zero dot")
            XCTAssertLessThanOrEqual(abs(Double(direct) - exact), tol,
                                     "\(t)×\(at): reference \(direct) vs dequantized dot \(exact) (tol \(tol))")
        }
    }

    /// A row of one block per type where a single weight/activation pair is non-zero finds exactly that product:
    /// catches a reference that pairs weight e with the wrong activation index.
    func testVecDotPairsMatchingIndices() throws {
        let v = try QuantVectors()
        var rng = TestRNG(seed: 9)
        for (t, fn) in named where t.isQuantized {
            let (wRaw, n) = try weights(t, v, &rng)
            let at = QuantKernels.activationType(for: t)
            let wd = dequantize(t, wRaw, n)
            for probe in [0, 1, 7, 8, 15, 16, 17, 31, n - 1] + (n > 128 ? [40, 100, 127, 128, 200, 255] : []) {
                var x = [Float](repeating: 0, count: n)
                x[probe] = 1
                let aRaw = quantize(at, x)
                let ad = dequantize(at, aRaw, n)
                var exact: Double = 0
                for i in 0..<n { exact += Double(wd[i]) * Double(ad[i]) }
                var got: Float = .nan
                wRaw.withUnsafeBytes { w in
                    aRaw.withUnsafeBytes { a in
                        guard let wp = w.baseAddress, let ap = a.baseAddress else { return }
                        got = fn(n, wp, ap)
                    }
                }
                // One non-zero activation: only Q8_1's fp16 s (= fp16(d·1), d = 1/127) differs from exact.
                let tol = 1e-5 * abs(exact) + 1e-3 * Double(abs(wd.map { abs($0) }.max() ?? 0)) / 127 + 1e-30
                XCTAssertLessThanOrEqual(abs(Double(got) - exact), tol, "\(t) probe \(probe): \(got) vs \(exact)")
            }
        }
    }
}
