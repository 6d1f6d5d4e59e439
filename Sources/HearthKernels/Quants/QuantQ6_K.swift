import HearthTensors

// 6-bit K-quant, 256 weights a super-block of 16 sub-blocks of 16 (ggml-common.h):
//
//     block_q6_K (210 bytes): uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d;
//
// Half h (0, 1) covers weights 128h ..< 128h+128 using ql[64h ..< 64h+64] and qh[32h ..< 32h+32]. Within it,
// weight 32k + l (k < 4, l < 32) has low nibble from ql[64h + l + 32·(k & 1)] (low nibble for k < 2, high for
// k ≥ 2) and two high bits (qh[32h + l] >> 2k) & 3; q = that 6-bit value − 32. Sub-block of weight e is e/16,
// with a signed 8-bit scale. x = d·scale·q.  Pair: Q6_K × Q8_K.

/// The 6-bit quant of weight `e` (0..<256) of the Q6_K block at `blk`, in −32...31.
@inline(__always)
func q6KQuant(_ blk: UnsafeRawPointer, _ e: Int) -> Int32 {
    let half = e >> 7
    let k = (e >> 5) & 3
    let l = e & 31
    let qlByte = loadU8(blk, 64 * half + 32 * (k & 1) + l)
    let low = k < 2 ? qlByte & 0x0F : qlByte >> 4
    let high = (loadU8(blk, 128 + 32 * half + l) >> UInt8(2 * k)) & 3
    return Int32(low | (high << 4)) - 32
}

/// Q6_K → F32 (ggml `dequantize_row_q6_K`): (d·scale)·q.
public func dequantizeRowQ6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 210
        let y = dst + b * 256
        let d = loadHalf(blk, 208)
        for sub in 0..<16 {
            let ds = d * Float(loadI8(blk, 192 + sub))
            for l in 0..<16 {
                let e = 16 * sub + l
                y[e] = ds * Float(q6KQuant(blk, e))
            }
        }
    }
}

/// Q6_K weights · Q8_K activations (ggml `ggml_vec_dot_q6_K_q8_K_generic`): eight int32 lanes (lane = e % 8)
/// accumulate scale·q·a per super-block and are added as `(d·d_a)·lane` into eight float accumulators, which are
/// summed in order at the end.
public func vecDotQ6_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 256)
    var sums = SIMD8<Float>(repeating: 0)
    for b in 0..<nb {
        let x = w + b * 210
        let y = a + b * 292
        var aux32 = SIMD8<Int32>(repeating: 0)
        for sub in 0..<16 {
            let scale = Int32(loadI8(x, 192 + sub))
            for l in 0..<16 {
                let e = 16 * sub + l
                aux32[l & 7] &+= scale &* (Int32(loadI8(y, 4 + e)) &* q6KQuant(x, e))
            }
        }
        let d = loadHalf(x, 208) * loadF32LE(y, 0)
        for l in 0..<8 { sums[l] += d * Float(aux32[l]) }
    }
    var sumf: Float = 0
    for l in 0..<8 { sumf += sums[l] }
    return sumf
}
