import Foundation
import HearthTensors
import HearthKernelsAVX512
import HearthKernelsAVX2

/// Causal self-attention of one query head against the keys/values a sequence holds in a paged KV cache.
///
/// The cache stores, per layer, `slots × kvDim` IEEE halves for K and for V; a sequence's position `j` lives in
/// slot `blocks[j / blockSize] * blockSize + j % blockSize` (a block table, as vLLM's PagedAttention, Kwon et al.
/// 2023). Grouped-query attention (Ainslie et al. 2023) shares KV head `g` across query heads.
public struct PagedKV {
    public var k: UnsafePointer<UInt16>
    public var v: UnsafePointer<UInt16>
    /// Values from one slot to the next (nHeadKV × headDim).
    public var slotStride: Int
    public var blockSize: Int
    public var blocks: UnsafePointer<Int32>

    public init(k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, slotStride: Int, blockSize: Int,
                blocks: UnsafePointer<Int32>) {
        self.k = k; self.v = v; self.slotStride = slotStride; self.blockSize = blockSize; self.blocks = blocks
    }

    @inline(__always)
    public func slot(_ position: Int) -> Int {
        Int(blocks[position / blockSize]) * blockSize + position % blockSize
    }
}

public enum Attention {
    public static let useAVX512 = KernelISA.selected == .avx512
    /// AVX2 without AVX-512: the AVX2 module's versions of the same kernels (same bits).
    public static let useAVX2 = KernelISA.selected == .avx2

    /// out[0..<headDim] = softmax(scale · q·K[0..<nKeys]) · V for KV head `kvHead`, computed as llama.cpp's CPU
    /// flash attention does with its default F16 cache (ggml-cpu ops.cpp, `flash_attn_ext_f16`; online softmax,
    /// Rabe & Staats 2021): q rounded to half, one pass over the keys with a running maximum, and the V
    /// accumulator kept in half precision, rounded after every update. Matching that rounding is what keeps
    /// greedy tokens and log-probabilities within the reference's tolerance on small models.
    /// `window` > 0 limits the keys to the last `window` positions (sliding-window layers).
    /// `scratch` must hold 2 × headDim floats.
    public static func attendHead(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, kv: PagedKV,
                                  kvHead: Int, headDim: Int, nKeys: Int, scale: Float,
                                  window: Int = 0, scratch: UnsafeMutablePointer<Float>) {
        let first = window > 0 ? max(0, nKeys - window) : 0
        let off = kvHead * headDim
        if useAVX512, headDim % 16 == 0, headDim <= 256 {
            avx512AttendHeadF16(q: q, out: out, k: kv.k, v: kv.v, slotStride: kv.slotStride, blockSize: kv.blockSize,
                                blocks: kv.blocks, kvOffset: off, headDim: headDim, first: first, nKeys: nKeys,
                                scale: scale)
            return
        }
        if useAVX2, headDim % 16 == 0, headDim <= 256 {
            avx2AttendHeadF16(q: q, out: out, k: kv.k, v: kv.v, slotStride: kv.slotStride, blockSize: kv.blockSize,
                              blocks: kv.blocks, kvOffset: off, headDim: headDim, first: first, nKeys: nKeys,
                              scale: scale)
            return
        }
        attendHeadScalar(q: q, out: out, kv: kv, kvHead: kvHead, headDim: headDim, nKeys: nKeys, scale: scale,
                         window: window, scratch: scratch)
    }

    /// The scalar reference of `attendHead` (and of `avx512AttendHeadF16`): the same arithmetic one lane at a time.
    public static func attendHeadScalar(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, kv: PagedKV,
                                        kvHead: Int, headDim: Int, nKeys: Int, scale: Float,
                                        window: Int = 0, scratch: UnsafeMutablePointer<Float>) {
        let first = window > 0 ? max(0, nKeys - window) : 0
        let off = kvHead * headDim
        let qh = scratch, acc = scratch + headDim
        for d in 0..<headDim {
            qh[d] = halfToFloat(floatToHalf(q[d]))
            acc[d] = 0
        }
        var m = -Float.infinity, sum: Float = 0
        for j in first..<nKeys {
            let base = kv.slot(j) * kv.slotStride + off
            let kr = kv.k + base, vr = kv.v + base
            let s = dotHalfLikeGGML(qh, kr, headDim) * scale
            var ms: Float = 1, vs: Float = 1
            if s > m {
                ms = expf(m - s)
                m = s
                for d in 0..<headDim { acc[d] = halfToFloat(floatToHalf(acc[d] * ms)) }
            } else {
                vs = expf(s - m)
            }
            // ggml_vec_mad_f16: one fused multiply-add, then rounded to half.
            for d in 0..<headDim { acc[d] = halfToFloat(floatToHalf(acc[d].addingProduct(halfToFloat(vr[d]), vs))) }
            sum = vs.addingProduct(sum, ms)  // GCC contracts ggml's S = S*ms + vs into one FMA
        }
        let inv = sum == 0 ? 0 : 1 / sum
        for d in 0..<headDim { out[d] = acc[d] * inv }
    }

    /// q·k with ggml's AVX-512 `ggml_vec_dot_f16` summation order: four 16-lane FMA accumulators over steps of
    /// 64, folded (0+2, 1+3, then 0+1) and reduced as `_mm512_reduce_add_ps` does (halves: 8, 4, 2, 1); a tail
    /// shorter than 64 is added one by one in double. The order decides the last bit, and the last bit can decide
    /// a later quantization rounding.
    @inline(__always)
    static func dotHalfLikeGGML(_ q: UnsafePointer<Float>, _ k: UnsafePointer<UInt16>, _ n: Int) -> Float {
        let np = n - n % 64
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i < np {
            for l in 0..<16 {
                a0[l] = a0[l].addingProduct(q[i + l], halfToFloat(k[i + l]))
                a1[l] = a1[l].addingProduct(q[i + 16 + l], halfToFloat(k[i + 16 + l]))
                a2[l] = a2[l].addingProduct(q[i + 32 + l], halfToFloat(k[i + 32 + l]))
                a3[l] = a3[l].addingProduct(q[i + 48 + l], halfToFloat(k[i + 48 + l]))
            }
            i += 64
        }
        var sumf: Double = 0
        if np > 0 {
            a0 = a0 + a2
            a1 = a1 + a3
            a0 = a0 + a1
            let h8 = a0.lowHalf + a0.highHalf
            let h4 = h8.lowHalf + h8.highHalf
            let h2 = h4.lowHalf + h4.highHalf
            sumf = Double(h2[0] + h2[1])
        }
        while i < n {
            sumf += Double(q[i] * halfToFloat(k[i]))
            i += 1
        }
        return Float(sumf)
    }
}
