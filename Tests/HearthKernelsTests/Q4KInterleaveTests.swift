import HearthKernels
import HearthTensors
import XCTest

/// The sixteen-row Q4_K layout (Q4KInterleave.swift): the repack loses nothing, and the AVX-512 kernels reading
/// it give exactly the bits of the portable `ExactKernels.dotQ4_K` on the original rows (GEMV arithmetic for one
/// to three tokens and the tail, GEMM arithmetic for whole groups of four), as the row-major kernels do.
final class Q4KInterleaveTests: XCTestCase {
    func testRepackKeepsEveryByte() {
        var rng = SystemRandomNumberGenerator()
        let k = 768, rows = 32, nb = k / 256
        let raw = randomQ4KBlocks(rows * nb, using: &rng)
        var packed = [UInt8](repeating: 0, count: rows / 16 * nb * Q4KInterleave.blockBytes)
        raw.withUnsafeBytes { src in
            packed.withUnsafeMutableBytes { dst in
                Q4KInterleave.repack(src: src.baseAddress!, k: k, groupStart: 0, groupEnd: rows / 16, dst: dst.baseAddress!)
            }
        }
        var back = [UInt8](repeating: 0, count: 144)
        for g in 0..<(rows / 16) {
            for b in 0..<nb {
                for r in 0..<16 {
                    packed.withUnsafeBytes { p in
                        back.withUnsafeMutableBytes { x in
                            Q4KInterleave.unpack(p.baseAddress! + (g * nb + b) * Q4KInterleave.blockBytes, row: r,
                                                 to: x.baseAddress!)
                        }
                    }
                    let o = ((g * 16 + r) * nb + b) * 144
                    XCTAssertEqual(back, Array(raw[o..<(o + 144)]), "group \(g) block \(b) row \(r)")
                }
            }
        }
    }

    func testInterleavedKernelsGiveTheSameBits() throws {
        var rng = SystemRandomNumberGenerator()
        for (k, rows) in [(512, 32), (768, 48), (2304, 16)] {
            let raw = randomQ4KBlocks(rows * k / 256, using: &rng)
            var packed = [UInt8](repeating: 0, count: rows / 16 * (k / 256) * Q4KInterleave.blockBytes)
            raw.withUnsafeBytes { src in
                packed.withUnsafeMutableBytes { dst in
                    Q4KInterleave.repack(src: src.baseAddress!, k: k, groupStart: 0, groupEnd: rows / 16,
                                         dst: dst.baseAddress!)
                }
            }
            for tokens in [1, 2, 3, 4, 5, 7, 8, 13] {
                let x = (0..<(tokens * k)).map { i in Float.random(in: -2...2, using: &rng) * (i % 61 == 0 ? 30 : 1) }
                let expected = expectedQ4K(raw, k: k, rows: rows, x: x, tokens: tokens)
                // Every path accepts a view with the repacked copy; the ones that cannot read it use `data`.
                for isa in KernelISA.supported {
                    for threads in [1, 2] {
                        let y = run(raw, packed, k: k, rows: rows, x: x, tokens: tokens, threads: threads, isa: isa)
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "k \(k) rows \(rows) \(isa) tokens \(tokens) threads \(threads)")
                    }
                }
                // The AVX-512 path reads the repacked copy, not `data`: a copy with other quants changes the result.
                if KernelISA.avx512.isSupported {
                    var other = packed
                    for i in other.indices where i % Q4KInterleave.blockBytes >= 256 { other[i] ^= 0x11 }
                    let y = run(raw, other, k: k, rows: rows, x: x, tokens: tokens, threads: 2, isa: .avx512)
                    XCTAssertNotEqual(y.map(\.bitPattern), expected.map(\.bitPattern), "k \(k) tokens \(tokens)")
                }
            }
        }
    }

    /// `matmul` of `x` with a Q4_K view of `raw` carrying `packed` as its repacked copy.
    private func run(_ raw: [UInt8], _ packed: [UInt8], k: Int, rows: Int, x: [Float], tokens: Int, threads: Int,
                     isa: KernelISA) -> [Float] {
        let pool = ThreadPool(threads: threads)
        var y = [Float](repeating: .nan, count: tokens * rows)
        raw.withUnsafeBytes { w in
            packed.withUnsafeBytes { p in
                let view = TensorView(name: "w", type: .q4_K, shape: [k, rows], data: w.baseAddress!,
                                      byteCount: w.count, interleavedQ4K: p.baseAddress!)
                x.withUnsafeBufferPointer { xs in
                    y.withUnsafeMutableBufferPointer { ys in
                        matmul(view, xs.baseAddress!, nTokens: tokens, ys.baseAddress!, pool: pool, isa: isa)
                    }
                }
            }
        }
        return y
    }
}
