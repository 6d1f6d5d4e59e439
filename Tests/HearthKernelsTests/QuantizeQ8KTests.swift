import HearthKernels
import HearthKernelsAVX512
import XCTest

/// The AVX-512 Q8_K activation quantizer gives the bits of the scalar references (`quantizeRowQ8_K` and
/// `ExactKernels.quantizeRowQ8_KPositiveTies`), including blocks where +amax and −amax both occur (the two
/// rules differ there), all-zero blocks and outliers.
final class QuantizeQ8KTests: XCTestCase {
    func testAVX512QuantizerMatchesScalar() throws {
        try XCTSkipUnless(KernelISA.avx512.isSupported, "no AVX-512 on this CPU")
        var rng = SystemRandomNumberGenerator()
        let k = 256 * 6
        for round in 0..<200 {
            var x = (0..<k).map { i in Float.random(in: -3...3, using: &rng) * (i % 37 == 0 ? 25 : 1) }
            if round % 4 == 1 { for i in 256..<512 { x[i] = 0 } }  // an all-zero block
            if round % 4 == 2 {  // ties of magnitude: +amax and −amax in the same block, either first
                let a: Float = 99
                x[300] = round % 8 < 4 ? -a : a
                x[400] = round % 8 < 4 ? a : -a
                x[700] = -a
            }
            for positiveTies in [false, true] {
                var expected = [UInt8](repeating: 0xAA, count: k / 256 * 292)
                var got = [UInt8](repeating: 0x55, count: k / 256 * 292)
                x.withUnsafeBufferPointer { xs in
                    expected.withUnsafeMutableBytes { e in
                        if positiveTies {
                            ExactKernels.quantizeRowQ8_KPositiveTies(xs.baseAddress!, e.baseAddress!, k)
                        } else {
                            quantizeRowQ8_K(xs.baseAddress!, e.baseAddress!, k)
                        }
                    }
                    got.withUnsafeMutableBytes { avx512QuantizeQ8K(xs.baseAddress!, k: k, positiveTies: positiveTies, $0.baseAddress!) }
                }
                XCTAssertEqual(got, expected, "round \(round) positiveTies \(positiveTies)")
            }
        }
    }
}
