#if canImport(Glibc)
import Glibc
#endif
import _Builtin_intrinsics.intel
import CHearthPrefetch
import HearthTensors

/// AVX2 + F16C version of `Attention.attendHeadScalar` (HearthKernels/Attention.swift), for CPUs without AVX-512:
/// the same arithmetic as the AVX-512 kernel, which emulates llama.cpp's CPU flash attention with an F16 cache —
/// q·k in ggml's AVX-512 `ggml_vec_dot_f16` order (four 16-lane accumulators over steps of 64, here each lane
/// group as two 8-lane halves, folded in the same order), online softmax with libm `expf`, the V accumulator
/// rounded to half after every update. `headDim` must be a multiple of 16, at most 256.
public func avx2AttendHeadF16(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                              k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, slotStride: Int,
                              blockSize: Int, blocks: UnsafePointer<Int32>, kvOffset: Int, headDim: Int,
                              first: Int, nKeys: Int, scale: Float) {
    let chunks = headDim / 8
    withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 2 * chunks) { tb in
        guard let qp = tb.baseAddress else { return }
        let ap = qp + chunks
        ap.initialize(repeating: SIMD8<Float>(), count: chunks)
        for c in 0..<chunks {
            qp[c] = roundToHalf8(UnsafeRawPointer(q + 8 * c).loadUnaligned(as: SIMD8<Float>.self))
        }
        let np = headDim - headDim % 64
        var m = -Float.infinity, sum: Float = 0
        for j in first..<nKeys {
            let slot = Int(blocks[j / blockSize]) * blockSize + j % blockSize
            let kr = UnsafeRawPointer(k + slot * slotStride + kvOffset)
            let vr = UnsafeRawPointer(v + slot * slotStride + kvOffset)
            // Accumulator a_i of the 16-lane original = (lo_i, hi_i) here.
            var a0l = SIMD8<Float>(), a0h = SIMD8<Float>(), a1l = SIMD8<Float>(), a1h = SIMD8<Float>()
            var a2l = SIMD8<Float>(), a2h = SIMD8<Float>(), a3l = SIMD8<Float>(), a3h = SIMD8<Float>()
            var i = 0
            while i < np {
                let c = i / 8
                a0l = a0l.addingProduct(qp[c], half8(kr, c)); a0h = a0h.addingProduct(qp[c + 1], half8(kr, c + 1))
                a1l = a1l.addingProduct(qp[c + 2], half8(kr, c + 2)); a1h = a1h.addingProduct(qp[c + 3], half8(kr, c + 3))
                a2l = a2l.addingProduct(qp[c + 4], half8(kr, c + 4)); a2h = a2h.addingProduct(qp[c + 5], half8(kr, c + 5))
                a3l = a3l.addingProduct(qp[c + 6], half8(kr, c + 6)); a3h = a3h.addingProduct(qp[c + 7], half8(kr, c + 7))
                i += 64
            }
            var dot: Double = 0
            if np > 0 {
                // t = (a0 + a2) + (a1 + a3), then the 16 → 8 → 4 → 2 → 1 halving of `_mm512_reduce_add_ps`.
                let tl = (a0l + a2l) + (a1l + a3l), th = (a0h + a2h) + (a1h + a3h)
                let h8 = tl + th
                let h4 = h8.lowHalf + h8.highHalf
                let h2 = h4.lowHalf + h4.highHalf
                dot = Double(h2[0] + h2[1])
            }
            while i < headDim {
                let kv = h2f(kr + 2 * i)
                dot += Double(qp[i / 8][i % 8] * kv)
                i += 1
            }
            let s = Float(dot) * scale
            var ms: Float = 1, vs: Float = 1
            if s > m {
                ms = expf(m - s)
                m = s
                let msv = SIMD8<Float>(repeating: ms)
                for c in 0..<chunks { ap[c] = roundToHalf8(ap[c] * msv) }
            } else {
                vs = expf(s - m)
            }
            let vsv = SIMD8<Float>(repeating: vs)
            for c in 0..<chunks { ap[c] = roundToHalf8(ap[c].addingProduct(half8(vr, c), vsv)) }
            sum = vs.addingProduct(sum, ms)
        }
        let inv: Float = sum == 0 ? 0 : 1 / sum
        for c in 0..<chunks {
            UnsafeMutableRawPointer(out + 8 * c).storeBytes(of: ap[c] * SIMD8<Float>(repeating: inv), as: SIMD8<Float>.self)
        }
    }
}

@inline(__always) private func half8(_ p: UnsafeRawPointer, _ chunk: Int) -> SIMD8<Float> {
    unsafeBitCast(_mm256_cvtph_ps(p.loadUnaligned(fromByteOffset: 16 * chunk, as: __m128i.self)), to: SIMD8<Float>.self)
}

/// x rounded to half and back (round to nearest even).
@inline(__always) private func roundToHalf8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    unsafeBitCast(_mm256_cvtph_ps(hearth_cvtps_ph256(unsafeBitCast(x, to: __m256.self))), to: SIMD8<Float>.self)
}

/// y[i] = half bits of x[i], i < n, as `floatToHalf` gives them (NaN lanes included: canonical 0x7E00 | sign).
public func avx2FloatToHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        let nan = v .!= v
        var h: __m128i
        if !any(nan) {
            h = hearth_cvtps_ph256(unsafeBitCast(v, to: __m256.self))
        } else {
            let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
            let canonical = unsafeBitCast((bits & 0x8000_0000) | 0x7FC0_0000, to: SIMD8<Float>.self)
            h = hearth_cvtps_ph256(unsafeBitCast(v.replacing(with: canonical, where: nan), to: __m256.self))
        }
        UnsafeMutableRawPointer(y + i).storeBytes(of: h, as: __m128i.self)
        i += 8
    }
    while i < n { y[i] = floatToHalf(x[i]); i += 1 }
}
