import HearthTensors

// 4- and 5-bit K-quants, 256 weights a super-block of 8 sub-blocks of 32 (ggml-common.h):
//
//     block_q4_K (144 bytes): ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128];
//     block_q5_K (176 bytes): ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128];
//
// Sub-block s (0..<8) covers weights 32s ..< 32s+32; its weight l takes the low nibble (s even) or high nibble
// (s odd) of qs[32·(s/2) + l]; Q5_K adds bit s of qh[l] as the fifth bit (+16).
// The eight 6-bit scales and mins are packed in 12 bytes (ggml `get_scale_min_k4`): for s < 4, scale =
// scales[s] & 63, min = scales[s+4] & 63; for s ≥ 4, scale = (scales[s+4] & 15) | (scales[s−4] >> 6) << 4 and
// min = (scales[s+4] >> 4) | (scales[s] >> 6) << 4.
// x = d·scale·q − dmin·min.  Pairs: Q4_K × Q8_K, Q5_K × Q8_K.

/// The 6-bit (scale, min) of sub-block `j` from the 12 packed bytes at `s` (ggml `get_scale_min_k4`).
@inline(__always)
func kScaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (loadU8(s, j) & 63, loadU8(s, j + 4) & 63)
    }
    let scale = (loadU8(s, j + 4) & 0x0F) | ((loadU8(s, j - 4) >> 6) << 4)
    let min = (loadU8(s, j + 4) >> 4) | ((loadU8(s, j) >> 6) << 4)
    return (scale, min)
}

/// Q4_K → F32 (ggml `dequantize_row_q4_K`).
public func dequantizeRowQ4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 144
        let y = dst + b * 256
        let d = loadHalf(blk, 0)
        let dmin = loadHalf(blk, 2)
        for s in 0..<8 {
            let (sc, m) = kScaleMin(blk + 4, s)
            let d1 = d * Float(sc)
            let m1 = dmin * Float(m)
            let qs = 16 + 32 * (s >> 1)
            let shift = UInt8(4 * (s & 1))
            for l in 0..<32 {
                let q = (loadU8(blk, qs + l) >> shift) & 0x0F
                y[32 * s + l] = d1 * Float(q) - m1
            }
        }
    }
}

/// Q5_K → F32 (ggml `dequantize_row_q5_K`).
public func dequantizeRowQ5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 176
        let y = dst + b * 256
        let d = loadHalf(blk, 0)
        let dmin = loadHalf(blk, 2)
        for s in 0..<8 {
            let (sc, m) = kScaleMin(blk + 4, s)
            let d1 = d * Float(sc)
            let m1 = dmin * Float(m)
            let qs = 48 + 32 * (s >> 1)
            let shift = UInt8(4 * (s & 1))
            for l in 0..<32 {
                let low = (loadU8(blk, qs + l) >> shift) & 0x0F
                let high = ((loadU8(blk, 16 + l) >> UInt8(s)) & 1) << 4
                y[32 * s + l] = d1 * Float(low | high) - m1
            }
        }
    }
}

/// Shared body of the Q4_K/Q5_K · Q8_K dot products (ggml `ggml_vec_dot_q4_K_q8_K_generic` and
/// `…q5_K…`): eight int32 lanes (lane = e % 8) accumulate scale·q·a per super-block and get added as
/// `(d·d_a)·lane` into eight float accumulators; the min term `(dmin·d_a)·Σ bsums[j]·min[j/2]` is subtracted
/// from the running sum per super-block; the float accumulators are added to it, in order, at the end.
@inline(__always)
func vecDotQ45K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer, blockBytes: Int, qsOffset: Int,
                hasHighBit: Bool) -> Float {
    let nb = blockCount(count, 256)
    var sums = SIMD8<Float>(repeating: 0)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * blockBytes
        let y = a + b * 292
        var aux32 = SIMD8<Int32>(repeating: 0)
        var sumi: Int32 = 0
        for s in 0..<8 {
            let (sc, m) = kScaleMin(x + 4, s)
            sumi &+= (Int32(loadI16LE(y, 260 + 4 * s)) &+ Int32(loadI16LE(y, 262 + 4 * s))) &* Int32(m)
            let scale = Int32(sc)
            let qs = qsOffset + 32 * (s >> 1)
            let shift = UInt8(4 * (s & 1))
            for l in 0..<32 {
                var q = Int32((loadU8(x, qs + l) >> shift) & 0x0F)
                if hasHighBit { q |= Int32(((loadU8(x, 16 + l) >> UInt8(s)) & 1) << 4) }
                aux32[l & 7] &+= scale &* (Int32(loadI8(y, 4 + 32 * s + l)) &* q)
            }
        }
        let dy = loadF32LE(y, 0)
        let d = loadHalf(x, 0) * dy
        for l in 0..<8 { sums[l] += d * Float(aux32[l]) }
        let dmin = loadHalf(x, 2) * dy
        sumf -= dmin * Float(sumi)
    }
    for l in 0..<8 { sumf += sums[l] }
    return sumf
}

/// Q4_K weights · Q8_K activations (ggml `ggml_vec_dot_q4_K_q8_K_generic`).
public func vecDotQ4_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    vecDotQ45K(count, w, a, blockBytes: 144, qsOffset: 16, hasHighBit: false)
}

/// Q5_K weights · Q8_K activations (ggml `ggml_vec_dot_q5_K_q8_K_generic`).
public func vecDotQ5_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    vecDotQ45K(count, w, a, blockBytes: 176, qsOffset: 48, hasHighBit: true)
}
