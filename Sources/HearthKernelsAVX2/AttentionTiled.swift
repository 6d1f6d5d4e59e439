import _Builtin_intrinsics.intel
#if canImport(Glibc)
import Glibc
#endif

/// AVX2 version of the AVX-512 module's tiled prefill attention (AttentionTiled.swift there), which reproduces
/// ggml's tiled CPU flash attention (`ggml_compute_forward_flash_attn_ext_tiled`, batches of ≥ 64 tokens) bit for
/// bit. The arithmetic is per element, so the same bits come out of narrower registers: sequential-k GEMMs (one
/// FMA per k step and element), ggml's AVX-512 polynomial exp (`expfGGML8Exact`, two 8-lane halves of its 16),
/// each 16 reduced in `_mm512_reduce_add_ps` order and added in double.

/// C[M×N] += A[M×K] · B[K×N] (row-major), each element accumulated over k in order with one FMA per step.
/// Register tile: 4 rows × 16 columns (AVX2 has 16 vector registers). `N` must be a multiple of 16.
@inline(__always)
private func gemmSequentialK(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                             m: Int, k: Int, n: Int) {
    typealias V = SIMD8<Float>
    @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func st(_ p: UnsafeMutablePointer<Float>, _ v: V) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
    var j = 0
    while j < n {
        var i = 0
        while i + 4 <= m {
            var acc = InlineArray<8, V>(repeating: V())
            for r in 0..<4 { acc[2 * r] = ld(c + (i + r) * n + j); acc[2 * r + 1] = ld(c + (i + r) * n + j + 8) }
            for kk in 0..<k {
                let brow = b + kk * n + j
                let b0 = ld(brow), b1 = ld(brow + 8)
                for r in 0..<4 {
                    let p = V(repeating: a[(i + r) * k + kk])
                    acc[2 * r] = acc[2 * r].addingProduct(b0, p)
                    acc[2 * r + 1] = acc[2 * r + 1].addingProduct(b1, p)
                }
            }
            for r in 0..<4 { st(c + (i + r) * n + j, acc[2 * r]); st(c + (i + r) * n + j + 8, acc[2 * r + 1]) }
            i += 4
        }
        while i < m {
            var a0 = ld(c + i * n + j), a1 = ld(c + i * n + j + 8)
            for kk in 0..<k {
                let brow = b + kk * n + j
                let p = V(repeating: a[i * k + kk])
                a0 = a0.addingProduct(ld(brow), p)
                a1 = a1.addingProduct(ld(brow + 8), p)
            }
            st(c + i * n + j, a0); st(c + i * n + j + 8, a1)
            i += 1
        }
        j += 16
    }
}

/// ggml's AVX-512 `ggml_v_expf` on eight lanes, exactly, for every input but NaN: `vscalefps` (j·2^n, one
/// rounding) is a multiply by 2^n while the result stays normal, else two multiplies whose first is exact
/// (2^(n±100)) and whose second rounds once; |n| > 192 gives +inf (n > 0) or 0, as ggml's blend does.
@inline(__always) func expfGGML8Exact(_ x: __m256) -> __m256 {
    let r = _mm256_set1_ps(0x1.8p23)
    let z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0), r)
    let n = _mm256_sub_ps(z, r)
    let b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1), x))
    let u = _mm256_mul_ps(b, b)
    let j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7), b, _mm256_set1_ps(0x1.573e2ep-5)),
                        u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3), b, _mm256_set1_ps(0x1.fffdb6p-2))),
        u,
        _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1), b, _mm256_set1_ps(1)))
    let nv = unsafeBitCast(n, to: SIMD8<Float>.self)
    let inRange = (nv .>= SIMD8<Float>(repeating: -125)) .& (nv .<= SIMD8<Float>(repeating: 126))
    @inline(__always) func pow2(_ e: SIMD8<Float>) -> __m256 {
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(unsafeBitCast(e, to: __m256.self)),
                                                                _mm256_set1_epi32(127)), 23))
    }
    if all(inRange) { return _mm256_mul_ps(j, pow2(nv)) }
    let lo = nv .< SIMD8<Float>(repeating: -125), hi = nv .> SIMD8<Float>(repeating: 126)
    let absN = unsafeBitCast(unsafeBitCast(nv, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    let big = absN .> SIMD8<Float>(repeating: 192)
    var e1 = nv.replacing(with: nv + 100, where: lo).replacing(with: nv - 100, where: hi)
    e1 = e1.replacing(with: 0, where: big .| (nv .!= nv))
    let e2 = SIMD8<Float>(repeating: 0).replacing(with: -100, where: lo .& .!big).replacing(with: 100, where: hi .& .!big)
    var res = unsafeBitCast(_mm256_mul_ps(_mm256_mul_ps(j, pow2(e1)), pow2(e2)), to: SIMD8<Float>.self)
    let alt = SIMD8<Float>(repeating: .infinity).replacing(with: 0, where: nv .<= SIMD8<Float>(repeating: 0))
    res = res.replacing(with: alt, where: big)
    return unsafeBitCast(res, to: __m256.self)
}

/// ggml's `ggml_vec_soft_max_f32` on AVX-512 for 64 values (see the AVX-512 module's `softmax64`).
@inline(__always)
private func softmax64(_ x: UnsafeMutablePointer<Float>, max: Float) -> Double {
    var sum: Double = 0
    let mv = SIMD8<Float>(repeating: max)
    for c in 0..<4 {
        let p = UnsafeMutableRawPointer(x + 16 * c)
        let v0 = p.loadUnaligned(as: SIMD8<Float>.self) - mv
        let v1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) - mv
        let e0 = unsafeBitCast(expfGGML8Exact(unsafeBitCast(v0, to: __m256.self)), to: SIMD8<Float>.self)
        let e1 = unsafeBitCast(expfGGML8Exact(unsafeBitCast(v1, to: __m256.self)), to: SIMD8<Float>.self)
        p.storeBytes(of: e0, as: SIMD8<Float>.self)
        p.storeBytes(of: e1, toByteOffset: 32, as: SIMD8<Float>.self)
        let h8 = e0 + e1
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        sum += Double(h2[0] + h2[1])
    }
    return sum
}

/// Keys and values of one KV head as f32 tiles of 64 positions (the layout of `avx512ConvertKVTiles`: tile `i`
/// of `kTiles` is K transposed, [d][64], of `vTiles` V, [64][d]; positions at or past `count` are zero).
public func avx2ConvertKVTiles(k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, slotStride: Int, blockSize: Int,
                               blocks: UnsafePointer<Int32>, kvOffset: Int, headDim d: Int, count: Int,
                               tileStart: Int, tileEnd: Int, kTiles: UnsafeMutablePointer<Float>,
                               vTiles: UnsafeMutablePointer<Float>) {
    let T = 64
    for tile in tileStart..<tileEnd {
        let kt = kTiles + tile * T * d, vt = vTiles + tile * T * d
        for tk in 0..<T {
            let pos = tile * T + tk
            if pos < count {
                let slot = Int(blocks[pos / blockSize]) * blockSize + pos % blockSize
                let kr = UnsafeRawPointer(k + slot * slotStride + kvOffset)
                let vr = UnsafeRawPointer(v + slot * slotStride + kvOffset)
                for c in 0..<(d / 8) {
                    let kv = unsafeBitCast(_mm256_cvtph_ps(kr.loadUnaligned(fromByteOffset: 16 * c, as: __m128i.self)),
                                           to: SIMD8<Float>.self)
                    for l in 0..<8 { kt[(8 * c + l) * T + tk] = kv[l] }
                    UnsafeMutableRawPointer(vt + tk * d + 8 * c).storeBytes(
                        of: _mm256_cvtph_ps(vr.loadUnaligned(fromByteOffset: 16 * c, as: __m128i.self)), as: __m256.self)
                }
            } else {
                for e in 0..<d { kt[e * T + tk] = 0 }
                (vt + tk * d).update(repeating: 0, count: d)
            }
        }
    }
}

/// Causal attention of up to 64 queries of one head, as the AVX-512 module's `avx512AttendTileF32` (same
/// parameters, same bits). `scratch` must hold 2·64·headDim + 64·64 + 2·64 floats.
public func avx2AttendTileF32(q: UnsafePointer<Float>, qStride: Int, out: UnsafeMutablePointer<Float>,
                              outStride: Int, rows: UnsafePointer<Int32>, positions: UnsafePointer<Int32>,
                              count: Int, kTiles: UnsafePointer<Float>, vTiles: UnsafePointer<Float>,
                              headDim d: Int, scale: Float, window: Int = 0, scratch: UnsafeMutablePointer<Float>) {
    let T = 64
    let qt = scratch, vkq = qt + T * d, kq = vkq + T * d
    let mArr = kq + T * T, sArr = mArr + T
    let M = max(1, min(T, count))
    var maxPos = 0
    for i in 0..<count { maxPos = max(maxPos, Int(positions[i])) }
    for i in 0..<T {
        for e in 0..<d { qt[i * d + e] = i < count ? q[Int(rows[i]) * qStride + e] : 0 }
        mArr[i] = -.infinity
        sArr[i] = 0
    }
    vkq.update(repeating: 0, count: T * d)
    var ic = 0
    while ic <= maxPos {
        let kvTile = min(T, maxPos + 1 - ic)
        let kt = kTiles + (ic / T) * T * d, vt = vTiles + (ic / T) * T * d
        kq.update(repeating: 0, count: M * T)
        gemmSequentialK(kq, qt, kt, m: M, k: d, n: T)
        for i in 0..<(M * T) { kq[i] *= scale }
        for tq in 0..<M {
            let row = kq + tq * T
            let p = tq < count ? Int(positions[tq]) : -1
            for tk in 0..<T where tk >= kvTile || ic + tk > p || (window > 0 && p - (ic + tk) >= window) {
                row[tk] = -.infinity
            }
            var tileMax = -Float.infinity
            for tk in 0..<T { tileMax = max(tileMax, row[tk]) }
            if tileMax == -.infinity {
                row.update(repeating: 0, count: T)
                continue
            }
            let mOld = mArr[tq]
            let mNew = max(mOld, tileMax)
            if mNew > mOld {
                let ms = expf(mOld - mNew)
                for e in 0..<d { vkq[tq * d + e] *= ms }
                sArr[tq] *= ms
            }
            mArr[tq] = mNew
            sArr[tq] = Float(Double(sArr[tq]) + softmax64(row, max: mNew))
        }
        gemmSequentialK(vkq, kq, vt, m: M, k: T, n: d)
        ic += T
    }
    for tq in 0..<count {
        let inv: Float = sArr[tq] == 0 ? 0 : 1 / sArr[tq]
        for e in 0..<d { out[Int(rows[tq]) * outStride + e] = vkq[tq * d + e] * inv }
    }
}
