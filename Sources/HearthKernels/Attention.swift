import Foundation
import HearthTensors

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
        let qh = scratch, acc = scratch + headDim
        for d in 0..<headDim {
            qh[d] = halfToFloat(floatToHalf(q[d]))
            acc[d] = 0
        }
        var m = -Float.infinity, sum: Float = 0
        for j in first..<nKeys {
            let base = kv.slot(j) * kv.slotStride + off
            let kr = kv.k + base, vr = kv.v + base
            var s: Float = 0
            for d in 0..<headDim { s += qh[d] * halfToFloat(kr[d]) }
            s *= scale
            var ms: Float = 1, vs: Float = 1
            if s > m {
                ms = expf(m - s)
                m = s
                for d in 0..<headDim { acc[d] = halfToFloat(floatToHalf(acc[d] * ms)) }
            } else {
                vs = expf(s - m)
            }
            for d in 0..<headDim { acc[d] = halfToFloat(floatToHalf(acc[d] + halfToFloat(vr[d]) * vs)) }
            sum = sum * ms + vs
        }
        let inv = sum == 0 ? 0 : 1 / sum
        for d in 0..<headDim { out[d] = acc[d] * inv }
    }
}
