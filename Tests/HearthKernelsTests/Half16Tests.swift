import HearthKernels
import HearthKernelsAVX512
import HearthTensors
import XCTest

/// The AVX-512 fp16 kernels against their scalar references, bit for bit: float → half (`avx512FloatToHalf` vs
/// `floatToHalf`) and ggml's table GeGLU (`Ops.geglu` on AVX-512 vs `Ops.gegluScalar`); and the pool-split
/// RMSNorm against the serial one.
final class Half16Tests: XCTestCase {
    /// Every half value, values halfway between neighbours (round to nearest even), random bit patterns of every
    /// exponent (subnormal halves, overflow to inf), and NaN/inf/±0.
    static func inputs() -> [Float] {
        var xs: [Float] = []
        for h in 0..<65536 {
            let f = halfToFloat(UInt16(h))
            xs.append(f)
            if f.isFinite, let next = Optional(halfToFloat(UInt16(h + 1 < 65536 ? h + 1 : h))), next.isFinite {
                xs.append((f + next) / 2)
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200_000 { xs.append(Float(bitPattern: rng.next())) }
        for _ in 0..<100_000 { xs.append(Float.random(in: -12...12)) }
        xs += [0, -0, .infinity, -.infinity, .nan, -.nan, Float(bitPattern: 0x7FA0_0001), Float(bitPattern: 0xFFC1_2345),
               10, -10, 10.000001, -10.000001, 9.999999, -9.999999, 65504, 65520, -65520, 1e-8, -6e-8, 3e-8]
        return xs
    }

    func testFloatToHalfMatchesScalar() throws {
        try XCTSkipUnless(KernelISA.avx512.isSupported, "no AVX-512 on this CPU")
        let xs = Self.inputs()
        for n in [xs.count, 1, 15, 16, 17, 33] {
            var got = [UInt16](repeating: 0xAAAA, count: n)
            xs.withUnsafeBufferPointer { x in got.withUnsafeMutableBufferPointer { avx512FloatToHalf(x.baseAddress!, $0.baseAddress!, n) } }
            for i in 0..<n where got[i] != floatToHalf(xs[i]) {
                XCTFail("x = \(xs[i]) (bits \(String(xs[i].bitPattern, radix: 16))): got \(String(got[i], radix: 16)), scalar \(String(floatToHalf(xs[i]), radix: 16))")
                return
            }
        }
    }

    func testGeGLUMatchesScalar() throws {
        try XCTSkipUnless(KernelISA.selected == .avx512, "the AVX-512 path is not selected on this CPU")
        let xs = Self.inputs()
        var rng = SystemRandomNumberGenerator()
        let ups = xs.map { _ in Float(Int(rng.next() % 2001) - 1000) / 250 }
        for n in [xs.count, 7, 16, 31] {
            var fast = Array(xs[0..<n]), slow = Array(xs[0..<n])
            fast.withUnsafeMutableBufferPointer { g in ups.withUnsafeBufferPointer { Ops.geglu(g.baseAddress!, $0.baseAddress!, n) } }
            slow.withUnsafeMutableBufferPointer { g in ups.withUnsafeBufferPointer { Ops.gegluScalar(g.baseAddress!, $0.baseAddress!, n) } }
            for i in 0..<n where fast[i].bitPattern != slow[i].bitPattern {
                XCTFail("x = \(xs[i]), up = \(ups[i]): AVX-512 \(fast[i]), scalar \(slow[i])")
                return
            }
        }
        // The pool-split version (large n) too.
        let pool = ThreadPool(threads: 2)
        let n = 70_000
        var fast = Array(xs[0..<n]), slow = Array(xs[0..<n])
        fast.withUnsafeMutableBufferPointer { g in ups.withUnsafeBufferPointer { Ops.geglu(g.baseAddress!, $0.baseAddress!, n, pool: pool) } }
        slow.withUnsafeMutableBufferPointer { g in ups.withUnsafeBufferPointer { Ops.gegluScalar(g.baseAddress!, $0.baseAddress!, n) } }
        XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern))
    }

    func testPoolRMSNormEqualsSerial() {
        let pool = ThreadPool(threads: 2)
        for (n, rows) in [(640, 512), (256, 2048), (1536, 9), (64, 300)] {
            let x = (0..<(n * rows)).map { _ in Float.random(in: -3...3) }
            let w = (0..<n).map { _ in Float.random(in: 0...2) }
            var a = [Float](repeating: 0, count: n * rows), b = a
            a.withUnsafeMutableBufferPointer { Ops.rmsNorm(x, w, $0.baseAddress!, n: n, rows: rows, eps: 1e-6, pool: pool) }
            b.withUnsafeMutableBufferPointer { Ops.rmsNorm(x, w, $0.baseAddress!, n: n, rows: rows, eps: 1e-6) }
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "n \(n) rows \(rows)")
        }
    }
}
