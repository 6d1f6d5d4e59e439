import HearthTensors

// 3-bit K-quant, 256 weights a super-block of 16 sub-blocks of 16 (ggml-common.h):
//
//     block_q3_K (110 bytes): uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; ggml_half d;
//
// Weight e = 128h + 32k + l (half h, bit pair k, l < 32): low two bits = (qs[32h + l] >> 2k) & 3, high bit =
// bit (4h + k) of hmask[l]; q = low − (high bit set ? 0 : 4), so q ∈ −4...3. Sub-block of weight e is e/16.
// The 16 six-bit scales are packed in 12 bytes: scale j has low nibble (j < 8 ? scales[j] & 15 :
// scales[j − 8] >> 4) and high two bits (scales[8 + j % 4] >> 2·(j / 4)) & 3; its value is that minus 32.
// x = d·(scale − 32)·q.  Pair: Q3_K × Q8_K.

/// The signed 6-bit scale j (−32...31) of a Q3_K block whose scales start at `s`.
@inline(__always)
func q3KScale(_ s: UnsafeRawPointer, _ j: Int) -> Int32 {
    let low = j < 8 ? loadU8(s, j) & 0x0F : loadU8(s, j - 8) >> 4
    let high = (loadU8(s, 8 + (j & 3)) >> UInt8(2 * (j >> 2))) & 3
    return Int32(low | (high << 4)) - 32
}

/// The 3-bit quant of weight `e` (0..<256) of the Q3_K block at `blk`, in −4...3.
@inline(__always)
func q3KQuant(_ blk: UnsafeRawPointer, _ e: Int) -> Int32 {
    let half = e >> 7
    let k = (e >> 5) & 3
    let l = e & 31
    let low = Int32((loadU8(blk, 32 + 32 * half + l) >> UInt8(2 * k)) & 3)
    let hbit = (loadU8(blk, l) >> UInt8(4 * half + k)) & 1
    return low - (hbit != 0 ? 0 : 4)
}

/// Q3_K → F32 (ggml `dequantize_row_q3_K`).
public func dequantizeRowQ3_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 110
        let y = dst + b * 256
        let d = loadHalf(blk, 108)
        for sub in 0..<16 {
            let dl = d * Float(q3KScale(blk + 96, sub))
            for l in 0..<16 {
                let e = 16 * sub + l
                y[e] = dl * Float(q3KQuant(blk, e))
            }
        }
    }
}

/// Q3_K weights · Q8_K activations (ggml `ggml_vec_dot_q3_K_q8_K_generic`): eight int32 lanes (lane = e % 8)
/// accumulate (scale − 32)·q·a over the super-block; then each lane adds `(d·d_a)·lane` into its own float
/// accumulator, and the eight float accumulators are summed in order at the end.
public func vecDotQ3_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 256)
    var sums = SIMD8<Float>(repeating: 0)
    for b in 0..<nb {
        let x = w + b * 110
        let y = a + b * 292
        var aux32 = SIMD8<Int32>(repeating: 0)
        for sub in 0..<16 {
            let scale = q3KScale(x + 96, sub)
            for l in 0..<16 {
                let e = 16 * sub + l
                aux32[l & 7] &+= scale &* (Int32(loadI8(y, 4 + e)) &* q3KQuant(x, e))
            }
        }
        let d = loadHalf(x, 108) * loadF32LE(y, 0)
        for l in 0..<8 { sums[l] += d * Float(aux32[l]) }
    }
    var sumf: Float = 0
    for l in 0..<8 { sumf += sums[l] }
    return sumf
}
