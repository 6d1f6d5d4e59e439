import Foundation
import _Builtin_intrinsics.intel
import CHearthPrefetch

/// AVX-512 version of `Attention.attendHead` (HearthKernels/Attention.swift): ggml's CPU flash attention with an
/// F16 cache, bit for bit — q rounded to half; q·k with four 16-lane FMA accumulators folded as ggml's
/// `ggml_vec_dot_f16` does; online softmax with the V accumulator rounded to half after every update (one FMA,
/// then `vcvtps2ph` round-to-nearest-even); S updated with one FMA. `headDim` must be a multiple of 16, ≤ 256.
public func avx512AttendHeadF16(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                                k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, slotStride: Int,
                                blockSize: Int, blocks: UnsafePointer<Int32>, kvOffset: Int, headDim: Int,
                                first: Int, nKeys: Int, scale: Float) {
    let chunks = headDim / 16
    // q rounded to half and the accumulator, 16 lanes a chunk (≤ 16 chunks: head size ≤ 256).
    // On the stack (this runs once per query row and head), conversions by `vcvtph2ps`/`vcvtps2ph` (Swift's
    // generic SIMD16<Float16> conversions compiled to a lane loop: 3 % of an 8-stream decode).
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 2 * chunks) { tb in
        guard let qp = tb.baseAddress else { return }
        let ap = qp + chunks
        ap.initialize(repeating: SIMD16<Float>(), count: chunks)
        do {
            for c in 0..<chunks {
                let x = UnsafeRawPointer(q + 16 * c).loadUnaligned(as: SIMD16<Float>.self)
                qp[c] = roundToHalf(x)
            }
            let np = headDim - headDim % 64
            var m = -Float.infinity, sum: Float = 0
            for j in first..<nKeys {
                let slot = Int(blocks[j / blockSize]) * blockSize + j % blockSize
                let kr = UnsafeRawPointer(k + slot * slotStride + kvOffset)
                let vr = UnsafeRawPointer(v + slot * slotStride + kvOffset)
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                var i = 0
                while i < np {
                    let c = i / 16
                    a0 = a0.addingProduct(qp[c], half16(kr, c))
                    a1 = a1.addingProduct(qp[c + 1], half16(kr, c + 1))
                    a2 = a2.addingProduct(qp[c + 2], half16(kr, c + 2))
                    a3 = a3.addingProduct(qp[c + 3], half16(kr, c + 3))
                    i += 64
                }
                var dot: Double = 0
                if np > 0 {
                    let t = (a0 + a2) + (a1 + a3)
                    let h8 = t.lowHalf + t.highHalf
                    let h4 = h8.lowHalf + h8.highHalf
                    let h2 = h4.lowHalf + h4.highHalf
                    dot = Double(h2[0] + h2[1])
                }
                while i < headDim {
                    let kv = Float(kr.load(fromByteOffset: 2 * i, as: Float16.self))
                    dot += Double(qp[i / 16][i % 16] * kv)
                    i += 1
                }
                let s = Float(dot) * scale
                var ms: Float = 1, vs: Float = 1
                if s > m {
                    ms = expf(m - s)
                    m = s
                    let msv = SIMD16<Float>(repeating: ms)
                    for c in 0..<chunks { ap[c] = roundToHalf(ap[c] * msv) }
                } else {
                    vs = expf(s - m)
                }
                let vsv = SIMD16<Float>(repeating: vs)
                for c in 0..<chunks {
                    ap[c] = roundToHalf(ap[c].addingProduct(half16(vr, c), vsv))
                }
                sum = vs.addingProduct(sum, ms)
            }
            let inv: Float = sum == 0 ? 0 : 1 / sum
            for c in 0..<chunks {
                UnsafeMutableRawPointer(out + 16 * c).storeBytes(of: ap[c] * SIMD16<Float>(repeating: inv),
                                                                 as: SIMD16<Float>.self)
            }
        }
    }
}

@inline(__always) private func half16(_ p: UnsafeRawPointer, _ chunk: Int) -> SIMD16<Float> {
    unsafeBitCast(_mm512_cvtph_ps(p.loadUnaligned(fromByteOffset: 32 * chunk, as: __m256i.self)), to: SIMD16<Float>.self)
}

/// x rounded to half and back (round to nearest even, as Swift's Float16 conversion and ggml's F16C path).
@inline(__always) private func roundToHalf(_ x: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(_mm512_cvtph_ps(hearth_cvtps_ph(unsafeBitCast(x, to: __m512.self))), to: SIMD16<Float>.self)
}
