import HearthTensors

// 2-bit K-quant, 256 weights a super-block of 16 sub-blocks of 16 (ggml-common.h):
//
//     block_q2_K (84 bytes): uint8_t scales[16]; uint8_t qs[64]; ggml_half d; ggml_half dmin;
//
// scales[i]: low nibble = scale, high nibble = min of sub-block i. Weights come in two halves of 128; half h
// uses qs[32h ..< 32h+32], and within it bit pair k (shift 2k) of qs[32h + l] is weight 128h + 32k + l.
// Sub-block of weight e is e/16. x = d·scale·q − dmin·min.  Pair: Q2_K × Q8_K.

/// Q2_K → F32 (ggml `dequantize_row_q2_K`).
public func dequantizeRowQ2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 84
        var y = dst + b * 256
        let d = loadHalf(blk, 80)
        let dmin = loadHalf(blk, 82)
        var sub = 0
        for half in 0..<2 {
            let qs = 16 + 32 * half
            for k in 0..<4 {
                let shift = UInt8(2 * k)
                for part in 0..<2 {
                    let sc = loadU8(blk, sub)
                    sub += 1
                    let dl = d * Float(sc & 0x0F)
                    let ml = dmin * Float(sc >> 4)
                    for l in 0..<16 {
                        let q = (loadU8(blk, qs + 16 * part + l) >> shift) & 3
                        y[l] = dl * Float(q) - ml
                    }
                    y += 16
                }
            }
        }
    }
}

/// Q2_K weights · Q8_K activations (ggml `ggml_vec_dot_q2_K_q8_K_generic`): per super-block the integer sums
/// isum = Σ scale·Σ q·a and summs = Σ bsums·min, then `sumf += (d_a·d)·isum − (d_a·dmin)·summs`.
public func vecDotQ2_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 256)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 84
        let y = a + b * 292
        var summs: Int32 = 0
        for j in 0..<16 {
            summs &+= Int32(loadI16LE(y, 260 + 2 * j)) * Int32(loadU8(x, j) >> 4)
        }
        let dy = loadF32LE(y, 0)
        let dall = dy * loadHalf(x, 80)
        let dmin = dy * loadHalf(x, 82)
        var isum: Int32 = 0
        var sub = 0
        var e = 0
        for half in 0..<2 {
            let qs = 16 + 32 * half
            for k in 0..<4 {
                let shift = UInt8(2 * k)
                for part in 0..<2 {
                    let sc = Int32(loadU8(x, sub) & 0x0F)
                    sub += 1
                    var isuml: Int32 = 0
                    for l in 0..<16 {
                        let q = Int32((loadU8(x, qs + 16 * part + l) >> shift) & 3)
                        isuml &+= Int32(loadI8(y, 4 + e + l)) * q
                    }
                    isum &+= sc * isuml
                    e += 16
                }
            }
        }
        sumf += dall * Float(isum) - dmin * Float(summs)
    }
    return sumf
}
