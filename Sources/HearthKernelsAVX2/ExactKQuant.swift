import _Builtin_intrinsics.intel
import HearthTensors

/// AVX2 Q4_K and Q6_K dots against Q8_K activations (292-byte blocks: float d, 256 quants, 16 int16 group sums),
/// with the float arithmetic of each ggml kernel that `ExactKernels` (HearthKernels/ExactQ4K.swift) emulates:
/// the integer sums come from `maddubs`/`madd` (exact: no pair reaches the int16 limit), the float steps follow
/// the portable reference line for line.

@inline(__always) private func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self))
}

/// ggml's Q4_K kernels, as `ExactKernels.Q4KKernel` (same order).
public enum AVX2Q4KKernel: Int, Sendable {
    case gemm, gemv, rowwise, tiled
}

/// (scale, min) of the eight sub-blocks from the 12 packed bytes at `p` (ggml `get_scale_min_k4`).
@inline(__always) private func q4KScales(_ p: UnsafeRawPointer) -> (sc: SIMD8<Int32>, mn: SIMD8<Int32>) {
    func u(_ i: Int) -> Int32 { Int32(p.load(fromByteOffset: i, as: UInt8.self)) }
    var sc = SIMD8<Int32>(), mn = SIMD8<Int32>()
    for s in 0..<4 {
        sc[s] = u(s) & 63
        mn[s] = u(s + 4) & 63
        sc[s + 4] = (u(s + 8) & 0x0F) | ((u(s) >> 6) << 4)
        mn[s + 4] = (u(s + 8) >> 4) | ((u(s + 4) >> 6) << 4)
    }
    return (sc, mn)
}

/// `y[t·yStride + r]` = Q6_K row r · Q8_K token t for rows `rowStart..<rowEnd` and tokens `0..<nTokens`, with
/// ggml's AVX2 `ggml_vec_dot_q6_K_q8_K` arithmetic (`tiled` false: the −32 offset through the activation group
/// sums stored in the block, eight float lanes) or the tiled matmul's (`tiled` true: per block
/// r = Float(Σ sc·q·a)·d_w, acc = fma(r, d_a, acc), its −32 offset through the same group sums). Up to eight
/// tokens share each block's unpacking, so a decode step of several streams does not unpack every weight once
/// per stream.
public func avx2Q6KRows(k: Int, w: UnsafeRawPointer, rowBytes: Int, rowStart: Int, rowEnd: Int,
                        acts: UnsafeRawPointer, aRow: Int, nTokens: Int, tiled: Bool,
                        y: UnsafeMutablePointer<Float>, yStride: Int) {
    let m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(0x03)
    for r in rowStart..<rowEnd {
        let wr = w + r * rowBytes
        var t0 = 0
        while t0 < nTokens {
            let n = min(8, nTokens - t0)
            var acc8 = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
            var acc = SIMD8<Float>()
            for b in 0..<(k / 256) {
                let x = wr + b * 210, scp = x + 192
                let dw = h2f(x + 208)
                var u = InlineArray<8, __m256i>(repeating: _mm256_setzero_si256())
                for h in 0..<2 {
                    let ql0 = load256(x + 64 * h), ql1 = load256(x + 64 * h + 32), qh = load256(x + 128 + 32 * h)
                    u[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4))
                    u[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4))
                    u[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4))
                    u[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4))
                }
                var scv = InlineArray<8, __m256i>(repeating: _mm256_setzero_si256())
                for c in 0..<8 {
                    let s0 = Int16(scp.load(fromByteOffset: 2 * c, as: Int8.self))
                    let s1 = Int16(scp.load(fromByteOffset: 2 * c + 1, as: Int8.self))
                    scv[c] = _mm256_set_m128i(_mm_set1_epi16(s1), _mm_set1_epi16(s0))
                }
                let sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(scp.assumingMemoryBound(to: __m128i_u.self)))
                for j in 0..<n {
                    let yb = acts + (t0 + j) * aRow + b * 292
                    var lanes = _mm256_setzero_si256()
                    for c in 0..<8 {
                        let q8 = load256(yb + 4 + 32 * c)
                        lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(_mm256_maddubs_epi16(u[c], q8), scv[c]))
                    }
                    let da = yb.loadUnaligned(as: Float.self)
                    // Σ_g sc_g·(Σ a over group g) from the 16-element sums stored in the Q8_K block: the tiled
                    // kernel computes it from the quants themselves, the same integer.
                    let offset = _mm256_madd_epi16(load256(yb + 260), sc16)
                    if tiled {
                        let s1 = hsumInt(lanes) &- (hsumInt(offset) &<< 5)
                        acc[j] = acc[j].addingProduct(Float(s1) * dw, da)
                    } else {
                        lanes = _mm256_sub_epi32(lanes, _mm256_slli_epi32(offset, 5))
                        acc8[j] = _mm256_fmadd_ps(_mm256_set1_ps(da * dw), _mm256_cvtepi32_ps(lanes), acc8[j])
                    }
                }
            }
            for j in 0..<n {
                y[(t0 + j) * yStride + r] = tiled ? acc[j] : hsumGGML(acc8[j])
            }
            t0 += 8
        }
    }
}

/// `y[t·yStride + r]` = one Q4_K row · one Q8_K row with the float arithmetic of ggml's `kernel`
/// (`ExactKernels.dotQ4_K`, same bits) for rows `rowStart..<rowEnd` and tokens `tokenStart..<tokenEnd` (every
/// token of the range on the same kernel; `k` a multiple of 256): up to eight tokens share each block's scale
/// decoding and nibble unpacking.
public func avx2Q4KRows(k: Int, w: UnsafeRawPointer, rowBytes: Int, rowStart: Int, rowEnd: Int,
                        acts: UnsafeRawPointer, aRow: Int, tokenStart: Int, tokenEnd: Int, kernel: AVX2Q4KKernel,
                        y: UnsafeMutablePointer<Float>, yStride: Int) {
    let m4 = _mm256_set1_epi8(0x0F)
    for r in rowStart..<rowEnd {
        let wr = w + r * rowBytes
        var t0 = tokenStart
        while t0 < tokenEnd {
            let n = min(8, tokenEnd - t0)
            var acc8 = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
            var accm4 = InlineArray<8, SIMD4<Float>>(repeating: SIMD4<Float>())
            var acc = SIMD8<Float>(), accm = SIMD8<Float>()
            for b in 0..<(k / 256) {
                let x = wr + b * 144
                let dw = h2f(x), dminw = h2f(x + 2)
                let (sc, mn) = q4KScales(x + 4)
                var lo = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256()), hi = lo
                for p in 0..<4 {
                    let q = load256(x + 16 + 32 * p)
                    lo[p] = _mm256_and_si256(q, m4)
                    hi[p] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4)
                }
                for j in 0..<n {
                    let yb = acts + (t0 + j) * aRow + b * 292
                    let da = yb.loadUnaligned(as: Float.self)
                    var pairs = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
                    for p in 0..<4 {
                        let p0 = _mm256_maddubs_epi16(lo[p], load256(yb + 4 + 64 * p))
                        let p1 = _mm256_maddubs_epi16(hi[p], load256(yb + 36 + 64 * p))
                        pairs[p] = _mm256_add_epi32(_mm256_madd_epi16(p0, _mm256_set1_epi16(Int16(sc[2 * p]))),
                                                    _mm256_madd_epi16(p1, _mm256_set1_epi16(Int16(sc[2 * p + 1]))))
                    }
                    // Sums of the token's quants per 32-element sub-block (pairs of the block's 16-element sums).
                    let bs = unsafeBitCast(_mm256_madd_epi16(load256(yb + 260), _mm256_set1_epi16(1)), to: SIMD8<Int32>.self)
                    let total = _mm256_add_epi32(_mm256_add_epi32(pairs[0], pairs[1]), _mm256_add_epi32(pairs[2], pairs[3]))
                    switch kernel {
                    case .rowwise:
                        let d = da * dw, dmin = -da * dminw
                        for p in 0..<4 {
                            let prod = mn[2 * p] &* bs[2 * p] &+ mn[2 * p + 1] &* bs[2 * p + 1]
                            accm4[j][p] = accm4[j][p].addingProduct(dmin, Float(prod))
                        }
                        acc8[j] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(total), acc8[j])
                    case .gemv:
                        let imin = (mn &* bs).wrappedSum()
                        acc[j] = acc[j].addingProduct(Float(hsumInt(total)), dw * da)
                        accm[j] = accm[j].addingProduct(Float(imin), dminw * da)
                    case .gemm:
                        let dd = dw * da, dm = dminw * da
                        for p in 0..<4 {
                            acc[j] = acc[j].addingProduct(Float(hsumInt(pairs[p])), dd)
                            accm[j] = accm[j].addingProduct(Float(mn[2 * p] &* bs[2 * p] &+ mn[2 * p + 1] &* bs[2 * p + 1]), dm)
                        }
                    case .tiled:
                        let s1 = hsumInt(total), s2 = (mn &* bs).wrappedSum()
                        let rr = (Float(s1) * dw).addingProduct(-Float(s2), dminw)
                        acc[j] = acc[j].addingProduct(rr, da)
                    }
                }
            }
            for j in 0..<n {
                let out: Float
                switch kernel {
                case .rowwise: out = hsumGGML(acc8[j]) + ((accm4[j][0] + accm4[j][2]) + (accm4[j][1] + accm4[j][3]))
                case .tiled: out = acc[j]
                case .gemm, .gemv: out = acc[j] - accm[j]
                }
                y[(t0 + j) * yStride + r] = out
            }
            t0 += 8
        }
    }
}
