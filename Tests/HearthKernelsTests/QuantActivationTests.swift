import Foundation
import XCTest
import HearthKernels
import HearthTensors

/// Field-level checks of the activation quantizers: Q8_1's `s` and Q8_K's `bsums`.
final class QuantActivationTests: XCTestCase {
    private func quantize(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: type.byteCount(elements: x.count) ?? 0)
        x.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBytes { d in
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                QuantKernels.quantizeActivations(type, sp, dp, x.count)
            }
        }
        return out
    }

    private func half(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }

    func testQ8_1SumFieldAndAgreementWithQ8_0() {
        var rng = TestRNG(seed: 11)
        var x = rng.activations(32 * 24)
        for j in 0..<32 { x[j] = 0 }              // all-zero block
        for j in 32..<64 { x[j] = 2.5 }           // constant block
        let q81 = quantize(.q8_1, x)
        let q80 = quantize(.q8_0, x)
        for b in 0..<24 {
            let blk = Array(q81[(b * 36)..<(b * 36 + 36)])
            let ref = Array(q80[(b * 34)..<(b * 34 + 34)])
            XCTAssertEqual(half(blk, 0), half(ref, 0), "block \(b): Q8_1 d equals Q8_0 d")
            XCTAssertEqual(Array(blk[4...]), Array(ref[2...]), "block \(b): Q8_1 quants equal Q8_0 quants")
            let sum = blk[4...].reduce(Int32(0)) { $0 + Int32(Int8(bitPattern: $1)) }
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[b * 32 + j])) }
            let d = amax / 127                       // the unrounded scale ggml multiplies by
            XCTAssertEqual(half(blk, 2), floatToHalf(Float(sum) * d), "block \(b): s = fp16(d·Σq)")
            let s = halfToFloat(half(blk, 2))
            let approx = halfToFloat(half(blk, 0)) * Float(sum)
            XCTAssertLessThanOrEqual(abs(s - approx), abs(approx) * 0x1p-9 + 1e-30, "block \(b): s ≈ d·Σq")
        }
    }

    func testQ8_KBsumsAndScale() {
        var rng = TestRNG(seed: 12)
        var x = rng.activations(256 * 6, block: 256)
        for j in 0..<256 { x[256 + j] = 0 }                       // all-zero super-block
        x[512 + 17] = -1000                                         // negative extreme
        let q = quantize(.q8_K, x)
        for b in 0..<6 {
            let blk = Array(q[(b * 292)..<(b * 292 + 292)])
            let d = Float(bitPattern: UInt32(blk[0]) | UInt32(blk[1]) << 8 | UInt32(blk[2]) << 16 | UInt32(blk[3]) << 24)
            let qs = blk[4..<260].map { Int8(bitPattern: $0) }
            for g in 0..<16 {
                let want = qs[(16 * g)..<(16 * g + 16)].reduce(Int16(0)) { $0 + Int16($1) }
                let got = Int16(bitPattern: UInt16(blk[260 + 2 * g]) | UInt16(blk[261 + 2 * g]) << 8)
                XCTAssertEqual(got, want, "block \(b) bsums[\(g)]")
            }
            if b == 1 {
                XCTAssertEqual(blk, [UInt8](repeating: 0, count: 292), "all-zero block encodes as zeros")
                continue
            }
            var amax: Float = 0
            var maxv: Float = 0
            for j in 0..<256 where abs(x[b * 256 + j]) > amax { amax = abs(x[b * 256 + j]); maxv = x[b * 256 + j] }
            XCTAssertEqual(d, 1 / (-127 / maxv), "block \(b) d = 1/iscale")
            for j in 0..<256 {
                let err = abs(x[b * 256 + j] - d * Float(qs[j]))
                XCTAssertLessThanOrEqual(err, abs(d) * 0.5001, "block \(b) element \(j) within half a step")
            }
            XCTAssertTrue(qs.contains { $0 == -127 }, "block \(b): the largest magnitude maps to −127")
        }
    }
}
