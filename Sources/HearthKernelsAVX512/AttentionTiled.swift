import _Builtin_intrinsics.intel
import Foundation

/// C[M×N] += A[M×K] · B[K×N] (row-major), each element accumulated over k in order with one FMA per step, as
/// ggml's `simd_gemm` does — so the bits match. Register tile: 4 rows × 64 columns. `N` must be a multiple of 16.
@inline(__always)
func gemmSequentialK(_ c: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                     m: Int, k: Int, n: Int) {
    typealias V = SIMD16<Float>
    @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func st(_ p: UnsafeMutablePointer<Float>, _ v: V) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
    var j = 0
    while j < n {
        let cols = min(4, (n - j) / 16)
        var i = 0
        // Full 4 × 64 tiles with literal trip counts, so the 16 accumulators live in registers (with the
        // run-time `rows`/`cols` loops below they were loaded and stored around every FMA).
        if cols == 4 {
            while i + 4 <= m {
                var acc = InlineArray<16, V>(repeating: V())
                for r in 0..<4 { for cc in 0..<4 { acc[r * 4 + cc] = ld(c + (i + r) * n + j + 16 * cc) } }
                for kk in 0..<k {
                    let brow = b + kk * n + j
                    let b0 = ld(brow), b1 = ld(brow + 16), b2 = ld(brow + 32), b3 = ld(brow + 48)
                    for r in 0..<4 {
                        let p = V(repeating: a[(i + r) * k + kk])
                        acc[r * 4] = acc[r * 4].addingProduct(b0, p)
                        acc[r * 4 + 1] = acc[r * 4 + 1].addingProduct(b1, p)
                        acc[r * 4 + 2] = acc[r * 4 + 2].addingProduct(b2, p)
                        acc[r * 4 + 3] = acc[r * 4 + 3].addingProduct(b3, p)
                    }
                }
                for r in 0..<4 { for cc in 0..<4 { st(c + (i + r) * n + j + 16 * cc, acc[r * 4 + cc]) } }
                i += 4
            }
        }
        while i < m {
            let rows = min(4, m - i)
            var acc = InlineArray<16, V>(repeating: V())  // stays in registers (a heap array would not)
            for r in 0..<rows { for cc in 0..<cols { acc[r * 4 + cc] = ld(c + (i + r) * n + j + 16 * cc) } }
            for kk in 0..<k {
                let brow = b + kk * n + j
                for r in 0..<rows {
                    let p = V(repeating: a[(i + r) * k + kk])
                    for cc in 0..<cols { acc[r * 4 + cc] = acc[r * 4 + cc].addingProduct(ld(brow + 16 * cc), p) }
                }
            }
            for r in 0..<rows { for cc in 0..<cols { st(c + (i + r) * n + j + 16 * cc, acc[r * 4 + cc]) } }
            i += rows
        }
        j += 16 * cols
    }
}

/// ggml's `ggml_vec_soft_max_f32` on AVX-512 for 64 values: y = exp(x − max) with ggml's polynomial exp, 16 at a
/// time, the sum of each 16 reduced as `_mm512_reduce_add_ps` and added in double.
@inline(__always)
func softmax64(_ x: UnsafeMutablePointer<Float>, max: Float) -> Double {
    var sum: Double = 0
    for c in 0..<4 {
        let p = UnsafeMutableRawPointer(x + 16 * c)
        let v = p.loadUnaligned(as: SIMD16<Float>.self) - SIMD16<Float>(repeating: max)
        let e = unsafeBitCast(ggmlExpf16(unsafeBitCast(v, to: __m512.self)), to: SIMD16<Float>.self)
        p.storeBytes(of: e, as: SIMD16<Float>.self)
        let h8 = e.lowHalf + e.highHalf
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        sum += Double(h2[0] + h2[1])
    }
    return sum
}

/// Keys and values of one KV head as f32 tiles of 64 positions for `avx512AttendTileF32`: tile `i` of `kTiles`
/// is K transposed, [d][64], and of `vTiles` V, [64][d]; positions at or past `count` are zero. Converting once
/// per layer and KV head (instead of once per query tile and query head, as ggml does) gives the same floats
/// (f16 → f32 is exact) without repeating the work for every query tile and every head of a GQA group.
/// Fills tiles tileStart..<tileEnd.
public func avx512ConvertKVTiles(k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>, slotStride: Int, blockSize: Int,
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
                for c in 0..<(d / 16) {
                    let kv = SIMD16<Float>(kr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD16<Float16>.self))
                    for l in 0..<16 { kt[(16 * c + l) * T + tk] = kv[l] }
                    UnsafeMutableRawPointer(vt + tk * d + 16 * c).storeBytes(
                        of: SIMD16<Float>(vr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD16<Float16>.self)),
                        as: SIMD16<Float>.self)
                }
            } else {
                for e in 0..<d { kt[e * T + tk] = 0 }
                (vt + tk * d).update(repeating: 0, count: d)
            }
        }
    }
}

/// Causal attention of up to 64 queries of one head against its KV head's keys and values, converted to f32
/// tiles by `avx512ConvertKVTiles` (covering every position up to the largest query position), bit for bit as
/// ggml's tiled CPU flash attention (`ggml_compute_forward_flash_attn_ext_tiled`, used when a batch holds ≥ 64
/// tokens): scores by sequential-k GEMM over tiles of 64 keys, scaled, masked, online softmax per tile with
/// ggml's exp, V accumulated in f32 by sequential-k GEMM. `q`/`out` rows are `qStride` apart;
/// query i is batch row `rows[i]` (of `q` and `out`), at position `positions[i]`, and sees keys 0...positions[i]
/// (only the last `window` of them when `window` > 0: sliding-window layers, llama.cpp's LLAMA_SWA_TYPE_STANDARD).
/// Tiles stay aligned to multiples of 64 from position 0, as ggml's are over cache cells.
/// `scratch` must hold 2·64·headDim + 64·64 + 2·64 floats.
public func avx512AttendTileF32(q: UnsafePointer<Float>, qStride: Int, out: UnsafeMutablePointer<Float>,
                                outStride: Int, rows: UnsafePointer<Int32>, positions: UnsafePointer<Int32>,
                                count: Int, kTiles: UnsafePointer<Float>, vTiles: UnsafePointer<Float>,
                                headDim d: Int, scale: Float, window: Int = 0, scratch: UnsafeMutablePointer<Float>) {
    let T = 64
    let qt = scratch, vkq = qt + T * d, kq = vkq + T * d
    let mArr = kq + T * T, sArr = mArr + T
    // Only the `count` real query rows are computed: every row's arithmetic is its own (a GEMM row accumulates
    // alone), so a short tile gives each row the bits a full one would, at a fraction of the cost.
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
