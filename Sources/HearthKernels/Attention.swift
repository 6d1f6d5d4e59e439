/// Causal self-attention of one query head against the keys/values a sequence holds in a paged KV cache.
///
/// The cache stores, per layer, `slots × kvDim` floats for K and for V; a sequence's position `j` lives in slot
/// `blocks[j / blockSize] * blockSize + j % blockSize` (a block table, as vLLM's PagedAttention, Kwon et al. 2023).
/// Scores for one query are materialized (length `nKeys`), softmaxed in place and used to mix V — never the full
/// query × key matrix. Grouped-query attention (Ainslie et al. 2023) shares KV head `g` across query heads.
public struct PagedKV {
    public var k: UnsafePointer<Float>
    public var v: UnsafePointer<Float>
    /// Floats from one slot to the next (nHeadKV × headDim).
    public var slotStride: Int
    public var blockSize: Int
    public var blocks: UnsafePointer<Int32>

    public init(k: UnsafePointer<Float>, v: UnsafePointer<Float>, slotStride: Int, blockSize: Int,
                blocks: UnsafePointer<Int32>) {
        self.k = k; self.v = v; self.slotStride = slotStride; self.blockSize = blockSize; self.blocks = blocks
    }

    @inline(__always)
    public func slot(_ position: Int) -> Int {
        Int(blocks[position / blockSize]) * blockSize + position % blockSize
    }
}

public enum Attention {
    /// out[0..<headDim] = softmax(scale · q·K[0..<nKeys] (+ softcap)) · V for KV head `kvHead`.
    /// `scores` must hold `nKeys` floats. `window` > 0 limits the keys to the last `window` positions
    /// (sliding-window layers): keys j with queryPos - j >= window are masked.
    public static func attendHead(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, kv: PagedKV,
                                  kvHead: Int, headDim: Int, nKeys: Int, scale: Float,
                                  window: Int = 0, scores: UnsafeMutablePointer<Float>) {
        let first = window > 0 ? max(0, nKeys - window) : 0
        let count = nKeys - first
        let off = kvHead * headDim
        for j in first..<nKeys {
            let kr = kv.k + kv.slot(j) * kv.slotStride + off
            scores[j - first] = Ops.dot(q, kr, headDim) * scale
        }
        Ops.softmax(scores, count)
        for d in 0..<headDim { out[d] = 0 }
        for j in first..<nKeys {
            let vr = kv.v + kv.slot(j) * kv.slotStride + off
            Ops.axpy(scores[j - first], vr, out, headDim)
        }
    }
}
