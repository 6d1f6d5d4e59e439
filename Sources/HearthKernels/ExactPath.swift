import HearthTensors

/// The "same bits as llama.cpp" path for Q4_1, Q5_0, Q8_0, Q4_K and Q6_K weights (Q4_K: ExactQ4K.swift).
///
/// Small models turn one-ulp differences into different int8 activation roundings a layer later, and those into
/// log-probabilities 0.1 away from llama.cpp's. So for these types we compute exactly what ggml computes on x86
/// (ggml-cpu/arch/x86/quants.c `quantize_row_q8_0`/`quantize_row_q8_1`, `ggml_vec_dot_q4_1_q8_1` and
/// `ggml_vec_dot_q8_0_q8_0`, `ggml_vec_dot_q5_0_q8_0` (weights as signed bytes q − 16); llamafile's tinyBLAS
/// Q8_0/Q5_0 kernels do the same arithmetic): activations in ggml's
/// own block layout; per dot product eight float lanes, lane i holding the integer sum of elements 4i…4i+3 of a
/// block, accumulated over the blocks with one fused multiply-add by d_w·d_a; then the fixed horizontal sum
/// ((l4+l0)+(l6+l2)) + ((l5+l1)+(l7+l3)); for Q4_1 plus Σ fma(m_w, s_a).
/// The AVX-512 module has the fast version; this file is the portable one and the reference for its test.
public enum ExactKernels {
    /// The activation block type a weight type pairs with on this path, or nil if the path does not cover it.
    public static func activationType(for weight: GGMLType) -> GGMLType? {
        switch weight {
        case .q4_1: return .q8_1
        case .q8_0, .q5_0: return .q8_0
        case .q4_K, .q6_K: return .q8_K
        default: return nil
        }
    }

    /// ggml's x86 activation quantizer: per 32 floats d = amax/127 (stored fp16), q = round-half-even(x·127/amax),
    /// and for Q8_1 s = fp16(d · Σq).
    public static func quantizeRow(_ type: GGMLType, _ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer,
                                   _ k: Int) {
        if type == .q8_K { quantizeRowQ8_K(x, dst, k); return }
        let bytes = type.blockBytes, withSum = type == .q8_1
        for b in 0..<(k / 32) {
            let src = x + 32 * b, blk = dst + b * bytes
            var amax: Float = 0
            for i in 0..<32 { amax = max(amax, abs(src[i])) }
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let qs = (blk + (withSum ? 4 : 2)).assumingMemoryBound(to: Int8.self)
            var sum: Int32 = 0
            for i in 0..<32 {
                let q = Int32((src[i] * id).rounded(.toNearestOrEven))
                qs[i] = Int8(truncatingIfNeeded: q)
                sum &+= q
            }
            blk.storeBytes(of: floatToHalf(d), as: UInt16.self)
            if withSum { (blk + 2).storeBytes(of: floatToHalf(d * Float(sum)), as: UInt16.self) }
        }
    }

    /// One dot product of a Q4_1 or Q8_0 row with an activation row quantized by `quantizeRow`.
    public static func dot(_ type: GGMLType, _ k: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
        if type == .q6_K { return dotQ6_K(k, w, a) }
        if type == .q4_K { return dotQ4_K(k, w, a, kernel: .gemv) }
        var lanes = SIMD8<Float>()
        var summs: Float = 0
        var qw = SIMD32<Int32>()
        for b in 0..<(k / 32) {
            let dd: Float
            let aq: UnsafePointer<Int8>
            if type == .q4_1 {
                let wb = w + b * 20, ab = a + b * 36
                dd = halfToFloat(wb.loadUnaligned(as: UInt16.self)) * halfToFloat(ab.loadUnaligned(as: UInt16.self))
                summs = summs.addingProduct(halfToFloat((wb + 2).loadUnaligned(as: UInt16.self)),
                                            halfToFloat((ab + 2).loadUnaligned(as: UInt16.self)))
                let nib = (wb + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    qw[j] = Int32(nib[j] & 0x0F)
                    qw[j + 16] = Int32(nib[j] >> 4)
                }
                aq = (ab + 4).assumingMemoryBound(to: Int8.self)
            } else if type == .q5_0 {
                let wb = w + b * 22, ab = a + b * 34
                dd = halfToFloat(wb.loadUnaligned(as: UInt16.self)) * halfToFloat(ab.loadUnaligned(as: UInt16.self))
                let qh = (wb + 2).loadUnaligned(as: UInt32.self)
                let nib = (wb + 6).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    qw[j] = Int32(nib[j] & 0x0F | UInt8((qh >> j) & 1) << 4) - 16
                    qw[j + 16] = Int32(nib[j] >> 4 | UInt8((qh >> (j + 16)) & 1) << 4) - 16
                }
                aq = (ab + 2).assumingMemoryBound(to: Int8.self)
            } else {
                let wb = w + b * 34, ab = a + b * 34
                dd = halfToFloat(wb.loadUnaligned(as: UInt16.self)) * halfToFloat(ab.loadUnaligned(as: UInt16.self))
                let q = (wb + 2).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { qw[j] = Int32(q[j]) }
                aq = (ab + 2).assumingMemoryBound(to: Int8.self)
            }
            for l in 0..<8 {
                var s: Int32 = 0
                for j in (4 * l)..<(4 * l + 4) { s &+= qw[j] &* Int32(aq[j]) }
                lanes[l] = lanes[l].addingProduct(dd, Float(s))
            }
        }
        return horizontalSum8(lanes) + summs
    }

    /// Q6_K · Q8_K as ggml's AVX2 `ggml_vec_dot_q6_K_q8_K` computes it. Per 256-block, eight int32 lanes: with
    /// u = q + 32 (the unsigned 6-bit value) and e = 32c + 4l + i (chunk c < 8, lane l < 8, i < 4),
    /// lane l = Σ_{c,i} scale[e/16]·u_e·a_e − 32·(bsums[2l]·scale[2l] + bsums[2l+1]·scale[2l+1]) (maddubs/madd
    /// never saturate here: |u·a| pairs stay below 2^14); then lanes = fma(d_a·d_w, Float(lane), lanes), and
    /// `horizontalSum8` at the end.
    public static func dotQ6_K(_ k: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
        var acc = SIMD8<Float>()
        for b in 0..<(k / 256) {
            let x = w + b * 210, y = a + b * 292
            let d = y.loadUnaligned(as: Float.self) * halfToFloat((x + 208).loadUnaligned(as: UInt16.self))
            let sc = (x + 192).assumingMemoryBound(to: Int8.self)
            let q8 = (y + 4).assumingMemoryBound(to: Int8.self)
            var lanes = SIMD8<Int32>()
            for e in 0..<256 {
                lanes[(e & 31) >> 2] &+= Int32(sc[e >> 4]) &* (q6KQuant(x, e) &+ 32) &* Int32(q8[e])
            }
            for l in 0..<8 {
                let s0 = Int32(y.loadUnaligned(fromByteOffset: 260 + 4 * l, as: Int16.self))
                let s1 = Int32(y.loadUnaligned(fromByteOffset: 262 + 4 * l, as: Int16.self))
                lanes[l] &-= (s0 &* Int32(sc[2 * l]) &+ s1 &* Int32(sc[2 * l + 1])) &<< 5
            }
            for l in 0..<8 { acc[l] = acc[l].addingProduct(d, Float(lanes[l])) }
        }
        return horizontalSum8(acc)
    }

    /// ggml's `hsum_float_8` order.
    @inline(__always)
    public static func horizontalSum8(_ v: SIMD8<Float>) -> Float {
        ((v[4] + v[0]) + (v[6] + v[2])) + ((v[5] + v[1]) + (v[7] + v[3]))
    }
}
