import HearthTensors

/// Q4_K weights on the ggml-exact path (portable version; the AVX-512 module has the fast one, ExactQ4K.swift).
///
/// On x86 with AVX2, llama.cpp's CPU backend repacks every Q4_K weight whose row count is a multiple of 8 into
/// `block_q4_Kx8` (ggml-cpu/repack.cpp `ggml_repack_get_optimal_repack_type`, the CPU_REPACK buffer, on by
/// default) and multiplies with `ggml_gemm_q4_K_8x8_q8_K` / `ggml_gemv_q4_K_8x8_q8_K`
/// (ggml-cpu/arch/x86/repack.cpp). `forward_mul_mat` there splits the tokens of one matmul:
/// - the first n − n mod 4 tokens are quantized four at a time by `ggml_quantize_mat_q8_K_4x8` and go through
///   the GEMM;
/// - the last n mod 4 tokens are quantized by `quantize_row_q8_K` and go through the GEMV.
/// The two kernels compute the same integer sums but accumulate them in floats differently, so a token's result
/// depends on its place in the batch (ggml's Q4_K matmul is not batch invariant, and neither is this emulation).
///
/// Per output (weight row c, token t) and 256-block b, with sc/m the 6-bit sub-block scales/mins, dot_s the
/// integer Σ q·a over sub-block s, bs_s the sum of the token's 32 quants of sub-block s:
/// - GEMV: acc = fma(Float(Σ_s sc_s·dot_s), d_c·d_t, acc); accm = fma(Float(Σ_s m_s·bs_s), dmin_c·d_t, accm)
/// - GEMM: the same, but one FMA per pair of sub-blocks (s = 2p, 2p+1), four per block.
/// Result: acc − accm. Q4_K weights that are not repacked (row count not a multiple of 8) take ggml's AVX2
/// `ggml_vec_dot_q4_K_q8_K` (ggml-cpu/arch/x86/quants.c, see `dotQ4_KRowwise`) below 8 tokens and ggml's tiled
/// K-quant matmul (ggml-cpu/tiled, see `dotKQuantTiled`) from 8 tokens on.
///
/// The tiled matmul (on by default, `GGML_CPU_TILED_MM`) takes every non-repacked K-quant matmul of at least 8
/// tokens (`ggml_tiled_min_batch`), Q6_K included. Its AVX-512 VNNI micro-kernel (tiled-kernel.cpp
/// `tiled_run_micro_vnni_8x16`, built by GCC, which contracts its final multiply-add) computes per 256-block the
/// exact integers s1 = Σ_s sc_s·Σ q·a and (Q4_K) s2 = Σ_s m_s·bs_s, then
/// r = Float(s1)·d_w (Q4_K: r = fma(−Float(s2), dmin_w, Float(s1)·d_w)) and acc = fma(r, d_t, acc), the blocks in
/// order.
extension ExactKernels {
    /// Which of ggml's Q4_K kernels computes a token's outputs.
    public enum Q4KKernel: Sendable {
        case gemm, gemv, rowwise, tiled
    }

    /// The kernel ggml uses for token `token` of an `nTokens`-token matmul with a `rows`-row Q4_K weight.
    @inline(__always)
    public static func q4KKernel(token: Int, nTokens: Int, rows: Int) -> Q4KKernel {
        if rows % 8 != 0 { return nTokens >= 8 ? .tiled : .rowwise }
        return token < nTokens - nTokens % 4 ? .gemm : .gemv
    }

    /// Quantizes tokens `tokenStart..<tokenEnd` (rows of `k` floats at `x`) to Q8_K blocks at `dst` (`k/256·292`
    /// bytes a token) as ggml does for a Q4_K matmul of `nTokens` tokens and `rows` weight rows.
    public static func quantizeQ4_KActivations(_ x: UnsafePointer<Float>, k: Int, tokenStart: Int, tokenEnd: Int,
                                               nTokens: Int, rows: Int, _ dst: UnsafeMutableRawPointer) {
        let aRow = k / 256 * 292
        for t in tokenStart..<tokenEnd {
            if q4KKernel(token: t, nTokens: nTokens, rows: rows) == .gemm {
                quantizeRowQ8_KPositiveTies(x + t * k, dst + t * aRow, k)
            } else {
                quantizeRowQ8_K(x + t * k, dst + t * aRow, k)
            }
        }
    }

    /// `ggml_quantize_mat_q8_K_4x8`'s values for one row: as `quantize_row_q8_K` (iscale = −127/max, d = 1/iscale,
    /// round half to even, bsums per 16), except that the sign of max is + whenever some element equals +amax
    /// (the reference takes the first element of largest magnitude; the two differ only when both +amax and
    /// −amax occur).
    public static func quantizeRowQ8_KPositiveTies(_ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer,
                                                   _ k: Int) {
        for b in 0..<(k / 256) {
            let src = x + b * 256, blk = dst + b * 292
            var amax: Float = 0
            for j in 0..<256 { amax = max(amax, abs(src[j])) }
            if amax == 0 {
                blk.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
                continue
            }
            var positive = false
            for j in 0..<256 where src[j] == amax { positive = true }
            let iscale = positive ? -127 / amax : 127 / amax
            let qs = (blk + 4).assumingMemoryBound(to: Int8.self)
            for j in 0..<256 {
                let v = (iscale * src[j]).rounded(.toNearestOrEven)
                qs[j] = Int8(max(-128, min(127, v)))
            }
            for g in 0..<16 {
                var sum: Int16 = 0
                for l in 0..<16 { sum &+= Int16(qs[16 * g + l]) }
                blk.storeBytes(of: sum, toByteOffset: 260 + 2 * g, as: Int16.self)
            }
            blk.storeBytes(of: 1 / iscale, as: Float.self)
        }
    }

    /// One Q4_K row · one Q8_K token row, with the arithmetic of ggml's `kernel`.
    public static func dotQ4_K(_ k: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, kernel: Q4KKernel) -> Float {
        if kernel == .rowwise { return dotQ4_KRowwise(k, w, a) }
        if kernel == .tiled { return dotKQuantTiled(.q4_K, k, w, a) }
        var acc: Float = 0, accm: Float = 0
        for b in 0..<(k / 256) {
            let x = w + b * 144, y = a + b * 292
            let da = y.loadUnaligned(as: Float.self)
            let dd = halfToFloat(x.loadUnaligned(as: UInt16.self)) * da
            let dm = halfToFloat((x + 2).loadUnaligned(as: UInt16.self)) * da
            let (dots, bsums) = q4KSubBlockSums(x, y)
            var isum: Int32 = 0, imin: Int32 = 0
            for s in 0..<8 {
                let (sc, m) = q4KScaleMin(x + 4, s)
                isum &+= sc &* dots[s]
                imin &+= m &* bsums[s]
                if kernel == .gemm && s & 1 == 1 {
                    acc = acc.addingProduct(Float(isum), dd)
                    accm = accm.addingProduct(Float(imin), dm)
                    isum = 0
                    imin = 0
                }
            }
            if kernel == .gemv {
                acc = acc.addingProduct(Float(isum), dd)
                accm = accm.addingProduct(Float(imin), dm)
            }
        }
        return acc - accm
    }

    /// ggml's AVX2 `ggml_vec_dot_q4_K_q8_K`: eight int32 lanes, lane l = Σ_s sc_s·Σ_{i<4} q·a over elements
    /// 4l+i of sub-block s; lanes = fma(d_t·d_w, Float(lane), lanes) per block; four min lanes
    /// p = m_{2p}·bs_{2p} + m_{2p+1}·bs_{2p+1}, accumulated as fma(−d_t·dmin_w, Float(p), ·); result
    /// `horizontalSum8(lanes)` + ((p0 + p2) + (p1 + p3)).
    public static func dotQ4_KRowwise(_ k: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
        var acc = SIMD8<Float>(), accm = SIMD4<Float>()
        for b in 0..<(k / 256) {
            let x = w + b * 144, y = a + b * 292
            let da = y.loadUnaligned(as: Float.self)
            let d = da * halfToFloat(x.loadUnaligned(as: UInt16.self))
            let dmin = -da * halfToFloat((x + 2).loadUnaligned(as: UInt16.self))
            let q8 = (y + 4).assumingMemoryBound(to: Int8.self)
            var lanes = SIMD8<Int32>()
            for s in 0..<8 {
                let sc = q4KScaleMin(x + 4, s).scale
                for l in 0..<8 {
                    var sum: Int32 = 0
                    for i in 0..<4 { sum &+= q4KQuant(x, s, 4 * l + i) &* Int32(q8[32 * s + 4 * l + i]) }
                    lanes[l] &+= sc &* sum
                }
            }
            let (_, bsums) = q4KSubBlockSums(x, y)
            for p in 0..<4 {
                let prod = q4KScaleMin(x + 4, 2 * p).min &* bsums[2 * p]
                    &+ q4KScaleMin(x + 4, 2 * p + 1).min &* bsums[2 * p + 1]
                accm[p] = accm[p].addingProduct(dmin, Float(prod))
            }
            for l in 0..<8 { acc[l] = acc[l].addingProduct(d, Float(lanes[l])) }
        }
        return horizontalSum8(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]))
    }

    /// Whether ggml's tiled K-quant matmul takes a non-repacked K-quant matmul of `nTokens` tokens.
    @inline(__always)
    public static func usesTiledKQuant(nTokens: Int) -> Bool { nTokens >= 8 }

    /// ggml's tiled K-quant arithmetic (see above) for one Q4_K or Q6_K row · one Q8_K token row.
    public static func dotKQuantTiled(_ type: GGMLType, _ k: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
        var acc: Float = 0
        for b in 0..<(k / 256) {
            let y = a + b * 292
            let da = y.loadUnaligned(as: Float.self)
            let r: Float
            if type == .q6_K {
                let x = w + b * 210
                let q8 = (y + 4).assumingMemoryBound(to: Int8.self)
                let sc = (x + 192).assumingMemoryBound(to: Int8.self)
                var s1: Int32 = 0
                for e in 0..<256 { s1 &+= Int32(sc[e >> 4]) &* q6KQuant(x, e) &* Int32(q8[e]) }
                r = Float(s1) * halfToFloat((x + 208).loadUnaligned(as: UInt16.self))
            } else {
                let x = w + b * 144
                let (dots, bsums) = q4KSubBlockSums(x, y)
                var s1: Int32 = 0, s2: Int32 = 0
                for s in 0..<8 {
                    let (sc, m) = q4KScaleMin(x + 4, s)
                    s1 &+= sc &* dots[s]
                    s2 &+= m &* bsums[s]
                }
                let d = halfToFloat(x.loadUnaligned(as: UInt16.self))
                let dmin = halfToFloat((x + 2).loadUnaligned(as: UInt16.self))
                r = (Float(s1) * d).addingProduct(-Float(s2), dmin)
            }
            acc = acc.addingProduct(r, da)
        }
        return acc
    }

    /// Quant `l` (0..<32) of sub-block `s` of the Q4_K block at `x`.
    @inline(__always)
    static func q4KQuant(_ x: UnsafeRawPointer, _ s: Int, _ l: Int) -> Int32 {
        Int32((x.load(fromByteOffset: 16 + 32 * (s >> 1) + l, as: UInt8.self) >> UInt8(4 * (s & 1))) & 0x0F)
    }

    /// (scale, min) of sub-block `s` from the 12 packed bytes at `p` (ggml `get_scale_min_k4`).
    @inline(__always)
    static func q4KScaleMin(_ p: UnsafeRawPointer, _ s: Int) -> (scale: Int32, min: Int32) {
        func u(_ i: Int) -> Int32 { Int32(p.load(fromByteOffset: i, as: UInt8.self)) }
        if s < 4 { return (u(s) & 63, u(s + 4) & 63) }
        return ((u(s + 4) & 0x0F) | ((u(s - 4) >> 6) << 4), (u(s + 4) >> 4) | ((u(s) >> 6) << 4))
    }

    /// Per sub-block: the integer Σ q·a, and the token's quant sum (two stored bsums of 16).
    @inline(__always)
    static func q4KSubBlockSums(_ x: UnsafeRawPointer, _ y: UnsafeRawPointer) -> (SIMD8<Int32>, SIMD8<Int32>) {
        let q8 = (y + 4).assumingMemoryBound(to: Int8.self)
        var dots = SIMD8<Int32>(), bsums = SIMD8<Int32>()
        for s in 0..<8 {
            var sum: Int32 = 0
            for l in 0..<32 { sum &+= q4KQuant(x, s, l) &* Int32(q8[32 * s + l]) }
            dots[s] = sum
            bsums[s] = Int32(y.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                &+ Int32(y.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
        }
        return (dots, bsums)
    }
}
