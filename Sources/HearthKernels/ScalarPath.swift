#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthTensors
import HearthKernelsAVX2

// The portable path, and the common decomposition every path uses.
//
// Every quantized weight row is read 64 elements (one "step") at a time as
//     w[e] = d[g] * (q[e] - o) + m[g],   g = e / 16 (four groups of 16 per step),
// with q unsigned 8-bit, o a per-type offset (8 for Q4_0, 16 for Q5_0, 128 for Q8_0, 32 for Q6_K, 4 for Q3_K,
// 0 otherwise), d and m floats. Activations are quantized per token into int8 `qs` with one float scale `dg`
// per 16 elements and `sg[g] = dg[g] * sum(qs in group g)`, so that
//     dot = sum_g d[g] * dg[g] * sum_e q[e] * a[e]  +  sum_g (m[g] - o * d[g]) * sg[g]
// where the first sum is exact integer work per group. Steps past the row's end hold zeros.

/// Offset `o` of the decomposition for a weight type.
@inline(__always)
func quantOffset(_ type: GGMLType) -> Float {
    switch type {
    case .q4_0: return 8
    case .q5_0: return 16
    case .q8_0: return 128
    case .q6_K: return 32
    case .q3_K: return 4
    default: return 0
    }
}

@inline(__always)
private func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

/// Decodes step `s` of a weight row of `k` elements: `q[0..<64]`, `d[0..<4]`, `m[0..<4]` (m without the offset
/// term). With `signedQ8`, Q8_0 weights are written as their int8 bit patterns with offset 0.
func unpackStep(_ type: GGMLType, _ row: UnsafeRawPointer, _ s: Int, k: Int, signedQ8: Bool,
                _ q: UnsafeMutablePointer<UInt8>, _ d: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>) {
    let u8 = row.assumingMemoryBound(to: UInt8.self)
    switch type {
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
        let nb = k / 32
        for half in 0..<2 {
            let b = 2 * s + half
            let qo = q + 32 * half
            if b >= nb {
                for j in 0..<32 { qo[j] = 0 }
                d[2 * half] = 0; d[2 * half + 1] = 0; m[2 * half] = 0; m[2 * half + 1] = 0
                continue
            }
            let off = b * type.blockBytes
            let blk = u8 + off
            var dv: Float = 0, mv: Float = 0
            switch type {
            case .q4_0:
                dv = f16(row, off)
                for j in 0..<16 { let v = blk[2 + j]; qo[j] = v & 15; qo[j + 16] = v >> 4 }
            case .q4_1:
                dv = f16(row, off); mv = f16(row, off + 2)
                for j in 0..<16 { let v = blk[4 + j]; qo[j] = v & 15; qo[j + 16] = v >> 4 }
            case .q5_0:
                dv = f16(row, off)
                let qh = row.loadUnaligned(fromByteOffset: off + 2, as: UInt32.self)
                for j in 0..<16 {
                    let v = blk[6 + j]
                    qo[j] = (v & 15) | UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) & 1) << 4)
                    qo[j + 16] = (v >> 4) | UInt8(truncatingIfNeeded: ((qh >> UInt32(j + 16)) & 1) << 4)
                }
            case .q5_1:
                dv = f16(row, off); mv = f16(row, off + 2)
                let qh = row.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self)
                for j in 0..<16 {
                    let v = blk[8 + j]
                    qo[j] = (v & 15) | UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) & 1) << 4)
                    qo[j + 16] = (v >> 4) | UInt8(truncatingIfNeeded: ((qh >> UInt32(j + 16)) & 1) << 4)
                }
            default:  // q8_0
                dv = f16(row, off)
                for j in 0..<32 { qo[j] = signedQ8 ? blk[2 + j] : blk[2 + j] ^ 0x80 }
            }
            d[2 * half] = dv; d[2 * half + 1] = dv; m[2 * half] = mv; m[2 * half + 1] = mv
        }
    case .q2_K:
        let blk = u8 + (s / 4) * 84, part = s % 4, half = part / 2
        let dd = f16(row, (s / 4) * 84 + 80), dmin = f16(row, (s / 4) * 84 + 82)
        let src = blk + 16 + 32 * half
        for jj in 0..<2 {
            let shift = UInt8(2 * (2 * (part % 2) + jj))
            for l in 0..<32 { q[32 * jj + l] = (src[l] >> shift) & 3 }
        }
        for g in 0..<4 {
            let sc = blk[half * 8 + (part % 2) * 4 + g]
            d[g] = dd * Float(sc & 15); m[g] = -dmin * Float(sc >> 4)
        }
    case .q3_K:
        let blk = u8 + (s / 4) * 110, part = s % 4, half = part / 2
        let dd = f16(row, (s / 4) * 110 + 108)
        let src = blk + 32 + 32 * half, hm = blk, sc = blk + 96
        for jj in 0..<2 {
            let j = 2 * (part % 2) + jj
            for l in 0..<32 {
                let low = (src[l] >> UInt8(2 * j)) & 3
                let hbit = (hm[l] >> UInt8(half * 4 + j)) & 1
                q[32 * jj + l] = low | (hbit << 2)
            }
        }
        for g in 0..<4 {
            let idx = half * 8 + (part % 2) * 4 + g
            let i = idx % 4, grp = idx / 4
            let low4 = grp == 0 ? sc[i] & 15 : grp == 1 ? sc[4 + i] & 15 : grp == 2 ? sc[i] >> 4 : sc[4 + i] >> 4
            let high2 = (sc[8 + i] >> UInt8(2 * grp)) & 3
            d[g] = dd * Float(Int(low4 | (high2 << 4)) - 32); m[g] = 0
        }
    case .q4_K, .q5_K:
        let isQ5 = type == .q5_K
        let bb = isQ5 ? 176 : 144
        let blk = u8 + (s / 4) * bb, j = s % 4
        let dd = f16(row, (s / 4) * bb), dmin = f16(row, (s / 4) * bb + 2)
        let scales = blk + 4
        let ql = blk + (isQ5 ? 48 : 16) + 32 * j
        if isQ5 {
            let qh = blk + 16
            for l in 0..<32 {
                q[l] = (ql[l] & 15) | (((qh[l] >> UInt8(2 * j)) & 1) << 4)
                q[32 + l] = (ql[l] >> 4) | (((qh[l] >> UInt8(2 * j + 1)) & 1) << 4)
            }
        } else {
            for l in 0..<32 { q[l] = ql[l] & 15; q[32 + l] = ql[l] >> 4 }
        }
        for sub in 0..<2 {
            let js = 2 * j + sub
            var sc: UInt8, mn: UInt8
            if js < 4 {
                sc = scales[js] & 63; mn = scales[js + 4] & 63
            } else {
                sc = (scales[js + 4] & 0xF) | ((scales[js - 4] >> 6) << 4)
                mn = (scales[js + 4] >> 4) | ((scales[js] >> 6) << 4)
            }
            d[2 * sub] = dd * Float(sc); d[2 * sub + 1] = dd * Float(sc)
            m[2 * sub] = -dmin * Float(mn); m[2 * sub + 1] = -dmin * Float(mn)
        }
    case .q6_K:
        let blk = u8 + (s / 4) * 210, part = s % 4, half = part / 2, sub = part % 2
        let dd = f16(row, (s / 4) * 210 + 208)
        let ql = blk + 64 * half, qh = blk + 128 + 32 * half
        let sc = UnsafeRawPointer(blk + 192).assumingMemoryBound(to: Int8.self)
        for l in 0..<32 {
            let lo0 = sub == 0 ? ql[l] & 15 : ql[l] >> 4
            let lo1 = sub == 0 ? ql[l + 32] & 15 : ql[l + 32] >> 4
            let h = qh[l] >> UInt8(4 * sub)
            q[l] = lo0 | ((h & 3) << 4)
            q[32 + l] = lo1 | (((h >> 2) & 3) << 4)
        }
        for g in 0..<4 { d[g] = dd * Float(sc[half * 8 + sub * 4 + g]); m[g] = 0 }
    default:
        preconditionFailure("unpackStep: \(type) is not a quantized weight type")
    }
}

/// Unpacks a whole weight row into slot `slot` of a panel (`PanelLayout`): q bytes, per-lane scales (each
/// group's d repeated over its 4 int32 lanes) and per-group `m - o * d`.
func unpackRowToPanel(_ type: GGMLType, _ row: UnsafeRawPointer, k: Int, kPad: Int, signedQ8: Bool,
                      panel: UnsafeMutableRawPointer, slot: Int) {
    let layout = PanelLayout(kPad: kPad)
    let q = (panel + layout.qOffset(slot)).assumingMemoryBound(to: UInt8.self)
    let dl = (panel + layout.dOffset(slot)).assumingMemoryBound(to: Float.self)
    let mg = (panel + layout.mOffset(slot)).assumingMemoryBound(to: Float.self)
    let o: Float = (signedQ8 && type == .q8_0) ? 0 : quantOffset(type)
    var d4: (Float, Float, Float, Float) = (0, 0, 0, 0), m4 = d4
    for s in 0..<(kPad / 64) {
        withUnsafeMutableBytes(of: &d4) { dp in
            withUnsafeMutableBytes(of: &m4) { mp in
                let d = dp.baseAddress!.assumingMemoryBound(to: Float.self)
                let m = mp.baseAddress!.assumingMemoryBound(to: Float.self)
                unpackStep(type, row, s, k: k, signedQ8: signedQ8, q + 64 * s, d, m)
                for g in 0..<4 {
                    for l in 0..<4 { dl[16 * s + 4 * g + l] = d[g] }
                    mg[4 * s + g] = m[g] - o * d[g]
                }
            }
        }
    }
}

/// Dequantizes one weight row of `k` elements (used by `getRows`).
func dequantizeWeightRow(_ type: GGMLType, _ row: UnsafeRawPointer, k: Int, _ out: UnsafeMutablePointer<Float>) {
    switch type {
    case .f32:
        out.update(from: row.assumingMemoryBound(to: Float.self), count: k)
    case .f16:
        let h = row.assumingMemoryBound(to: UInt16.self)
        for i in 0..<k { out[i] = halfToFloat(h[i]) }
    case .bf16:
        let h = row.assumingMemoryBound(to: UInt16.self)
        for i in 0..<k { out[i] = bf16ToFloat(h[i]) }
    default:
        let o = quantOffset(type)
        var q = [UInt8](repeating: 0, count: 64)
        var d = [Float](repeating: 0, count: 4), m = d
        for s in 0..<((k + 63) / 64) {
            unpackStep(type, row, s, k: k, signedQ8: false, &q, &d, &m)
            for e in 0..<min(64, k - 64 * s) {
                out[64 * s + e] = d[e / 16] * (Float(q[e]) - o) + m[e / 16]
            }
        }
    }
}

/// Portable activation quantizer (same results as `avx2QuantizeActivations`). Legacy pairing (`perBlock256`
/// false): ggml's x86 Q8_0/Q8_1 rules — per 32 elements d = amax/127 stored as fp16, q = round-half-even(x·127/amax),
/// Q8_1's s = fp16(d·Σq) in the first 16-group. K-quant
/// pairing: Q8_K rules — per 256 elements d = -max/127 with max the value of largest magnitude, q = min(127,
/// round-half-even(x/d)).
func scalarQuantizeActivations(x: UnsafePointer<Float>, k: Int, kPad: Int, tokenStart: Int, tokenEnd: Int,
                               perBlock256: Bool, q8_1: Bool = false, qs: UnsafeMutablePointer<Int8>,
                               dg: UnsafeMutablePointer<Float>, sg: UnsafeMutablePointer<Float>) {
    let groups = kPad / 16
    let bs = perBlock256 ? 256 : 32
    for t in tokenStart..<tokenEnd {
        let src = x + t * k, q = qs + t * kPad, dgt = dg + t * groups, sgt = sg + t * groups
        var b = 0
        while b < kPad {
            var dStore: Float = 0
            if b >= k {
                for e in 0..<bs where b + e < kPad { q[b + e] = 0 }
            } else if perBlock256 {
                var amax: Float = 0, maxv: Float = 0
                for e in 0..<bs { let ax = abs(src[b + e]); if ax > amax { amax = ax; maxv = src[b + e] } }
                if amax == 0 {
                    for e in 0..<bs { q[b + e] = 0 }
                } else {
                    let iscale = -127 / maxv
                    for e in 0..<bs {
                        let v = (iscale * src[b + e]).rounded(.toNearestOrEven)
                        q[b + e] = Int8(min(127, v))
                    }
                    dStore = 1 / iscale
                }
            } else {
                var amax: Float = 0
                for e in 0..<bs { amax = max(amax, abs(src[b + e])) }
                let dd = amax / 127
                let id: Float = amax != 0 ? 127 / amax : 0
                for e in 0..<bs { q[b + e] = Int8((src[b + e] * id).rounded(.toNearestOrEven)) }
                dStore = halfToFloat(floatToHalf(dd))
                if q8_1 {
                    var sum: Int32 = 0
                    for e in 0..<bs { sum += Int32(q[b + e]) }
                    let g = b / 16
                    dg[t * groups + g] = dStore; dg[t * groups + g + 1] = dStore
                    sg[t * groups + g] = halfToFloat(floatToHalf(dd * Float(sum))); sg[t * groups + g + 1] = 0
                    b += bs
                    continue
                }
            }
            for g in (b / 16)..<min(groups, (b + bs) / 16) {
                var sum: Int32 = 0
                for e in 0..<16 { sum += Int32(q[16 * g + e]) }
                dgt[g] = dStore
                sgt[g] = dStore * Float(sum)
            }
            b += bs
        }
    }
}

/// Portable kernel: one unpacked panel row (slot 0) against every token.
func scalarPanelRowMatmul(panel: UnsafeMutableRawPointer, kPad: Int, qs: UnsafeMutablePointer<Int8>,
                          dg: UnsafeMutablePointer<Float>, sg: UnsafeMutablePointer<Float>, nTokens: Int,
                          y: UnsafeMutablePointer<Float>, yStride: Int) {
    let layout = PanelLayout(kPad: kPad)
    let q = (panel + layout.qOffset(0)).assumingMemoryBound(to: UInt8.self)
    let dl = (panel + layout.dOffset(0)).assumingMemoryBound(to: Float.self)
    let mg = (panel + layout.mOffset(0)).assumingMemoryBound(to: Float.self)
    let groups = kPad / 16
    for t in 0..<nTokens {
        let a = qs + t * kPad, dgt = dg + t * groups, sgt = sg + t * groups
        var acc: Float = 0, macc: Float = 0
        for g in 0..<groups {
            var isum: Int32 = 0
            for e in 0..<16 { isum &+= Int32(q[16 * g + e]) &* Int32(a[16 * g + e]) }
            acc += dl[4 * g] * dgt[g] * Float(isum)
            macc += mg[g] * sgt[g]
        }
        y[t * yStride] = acc + macc
    }
}

/// Portable float-weight kernel (F32/F16/BF16 weights × F32 activations).
func scalarFloatMatmul(type: GGMLType, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                       x: UnsafePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
    var row = [Float](repeating: 0, count: k)
    row.withUnsafeMutableBufferPointer { buf in
        let r32 = buf.baseAddress!
        for r in rowStart..<rowEnd {
            dequantizeWeightRow(type, w + r * rowBytes, k: k, r32)
            for t in 0..<nTokens {
                let xt = x + t * k
                var acc: Float = 0
                for i in 0..<k { acc += r32[i] * xt[i] }
                y[t * yStride + r] = acc
            }
        }
    }
}
