import HearthKernels
import HearthKernelsAVX512
import HearthKernelsAVX2
import HearthTensors
import XCTest

/// `avx512AttendHeadF16` and `avx2AttendHeadF16` (decode attention over the F16 paged cache) against
/// `Attention.attendHeadScalar`, bit for bit: head sizes 64, 128, 256 and 80 (a tail below 64), GQA offsets, shuffled cache blocks, sliding windows.
final class AttentionF16Tests: XCTestCase {
    func testAVX512MatchesScalar() throws {
        try XCTSkipUnless(KernelISA.avx512.isSupported, "no AVX-512 on this CPU")
        try compare(isa: .avx512)
    }

    func testAVX2MatchesScalar() throws {
        try XCTSkipUnless(KernelISA.avx2.isSupported, "no AVX2 on this CPU")
        try compare(isa: .avx2)
    }

    /// Half conversion of a KV write: the AVX2 converter gives `floatToHalf`'s bits, NaN and infinities included.
    func testAVX2FloatToHalf() throws {
        try XCTSkipUnless(KernelISA.avx2.isSupported, "no AVX2 on this CPU")
        var x = (0..<1003).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max)) }
        x[5] = .nan; x[6] = -.infinity; x[7] = 65520; x[8] = 6e-8
        var y = [UInt16](repeating: 0, count: x.count)
        avx2FloatToHalf(x, &y, x.count)
        XCTAssertEqual(y, x.map(floatToHalf))
    }

    private func compare(isa: KernelISA) throws {
        for (headDim, kvHeads, nKeys, window) in [(64, 3, 150, 0), (128, 2, 300, 0), (256, 1, 700, 512), (80, 2, 33, 0), (64, 1, 1, 0)] {
            let blockSize = 16, nBlocks = (nKeys + blockSize - 1) / blockSize
            let slotStride = kvHeads * headDim, slots = nBlocks * blockSize
            let k = (0..<(slots * slotStride)).map { _ in floatToHalf(Float.random(in: -2...2)) }
            let v = (0..<(slots * slotStride)).map { _ in floatToHalf(Float.random(in: -2...2)) }
            let blocks = (0..<nBlocks).map { Int32($0) }.shuffled()
            let q = (0..<headDim).map { _ in Float.random(in: -3...3) }
            var fast = [Float](repeating: .nan, count: headDim), slow = fast
            var scratch = [Float](repeating: 0, count: 2 * headDim)
            let scale = 1 / Float(headDim).squareRoot()
            k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in blocks.withUnsafeBufferPointer { bb in
                let kv = PagedKV(k: kb.baseAddress!, v: vb.baseAddress!, slotStride: slotStride, blockSize: blockSize,
                                 blocks: bb.baseAddress!)
                for kvHead in 0..<kvHeads {
                    let first = window > 0 ? max(0, nKeys - window) : 0
                    if isa == .avx512 {
                        avx512AttendHeadF16(q: q, out: &fast, k: kv.k, v: kv.v, slotStride: slotStride, blockSize: blockSize,
                                            blocks: kv.blocks, kvOffset: kvHead * headDim, headDim: headDim, first: first,
                                            nKeys: nKeys, scale: scale)
                    } else {
                        avx2AttendHeadF16(q: q, out: &fast, k: kv.k, v: kv.v, slotStride: slotStride, blockSize: blockSize,
                                          blocks: kv.blocks, kvOffset: kvHead * headDim, headDim: headDim, first: first,
                                          nKeys: nKeys, scale: scale)
                    }
                    Attention.attendHeadScalar(q: q, out: &slow, kv: kv, kvHead: kvHead, headDim: headDim, nKeys: nKeys,
                                               scale: scale, window: window, scratch: &scratch)
                    XCTAssertEqual(fast.map(\.bitPattern), slow.map(\.bitPattern), "\(isa) head \(headDim) kvHead \(kvHead) keys \(nKeys)")
                }
            } } }
        }
    }
}
