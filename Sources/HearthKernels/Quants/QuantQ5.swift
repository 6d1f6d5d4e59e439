import HearthTensors

// 5-bit legacy quants, 32 weights a block (ggml-common.h):
//
//     block_q5_0 (22 bytes): ggml_half d; uint8_t qh[4]; uint8_t qs[16];
//     block_q5_1 (24 bytes): ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16];
//
// qh is read as one little-endian uint32: bit j is the fifth bit of weight j. Weight j (0..<16) has the low
// nibble of qs[j] as its low four bits, weight j+16 the high nibble.
// Q5_0: x = d·(q − 16).  Q5_1: x = d·q + m.  Pairs: Q5_0 × Q8_0, Q5_1 × Q8_1.

/// Q5_0 → F32 (ggml `dequantize_row_q5_0`).
public func dequantizeRowQ5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 22
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        let qh = loadU32LE(blk, 2)
        for j in 0..<16 {
            let q = UInt32(loadU8(blk, 6 + j))
            let q0 = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
            let q1 = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
            y[j] = Float(Int32(q0) - 16) * d
            y[j + 16] = Float(Int32(q1) - 16) * d
        }
    }
}

/// Q5_1 → F32 (ggml `dequantize_row_q5_1`).
public func dequantizeRowQ5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 24
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        let m = loadHalf(blk, 2)
        let qh = loadU32LE(blk, 4)
        for j in 0..<16 {
            let q = UInt32(loadU8(blk, 8 + j))
            let q0 = (q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)
            let q1 = (q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)
            y[j] = Float(q0) * d + m
            y[j + 16] = Float(q1) * d + m
        }
    }
}

/// F32 → Q5_0 (ggml `quantize_row_q5_0_ref`, bit-exact with gguf.quants): d = max/−16 where max is the value
/// of largest magnitude, q = min(31, trunc(x/d + 16.5)).
public func quantizeRowQ5_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 22
        var amax: Float = 0
        var max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            max = x[j]
        }
        let d = max / -16
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = UInt32(truncClamped(x[j] * id + 16.5, 0, 31))
            let q1 = UInt32(truncClamped(x[j + 16] * id + 16.5, 0, 31))
            blk.storeBytes(of: UInt8((q0 & 0x0F) | ((q1 & 0x0F) << 4)), toByteOffset: 6 + j, as: UInt8.self)
            qh |= ((q0 >> 4) & 1) << UInt32(j)
            qh |= ((q1 >> 4) & 1) << UInt32(j + 16)
        }
        blk.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }
}

/// F32 → Q5_1 (ggml `quantize_row_q5_1_ref`, bit-exact with gguf.quants): d = (max − min)/31, m = min,
/// q = trunc((x − min)/d + 0.5) (clamped to 31).
public func quantizeRowQ5_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 24
        var min = Float.greatestFiniteMagnitude
        var max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < min { min = x[j] }
            if x[j] > max { max = x[j] }
        }
        let d = (max - min) / 31
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        storeHalf(blk, 2, min)
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = UInt32(truncClamped((x[j] - min) * id + 0.5, 0, 31))
            let q1 = UInt32(truncClamped((x[j + 16] - min) * id + 0.5, 0, 31))
            blk.storeBytes(of: UInt8((q0 & 0x0F) | ((q1 & 0x0F) << 4)), toByteOffset: 8 + j, as: UInt8.self)
            qh |= ((q0 >> 4) & 1) << UInt32(j)
            qh |= ((q1 >> 4) & 1) << UInt32(j + 16)
        }
        blk.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
    }
}

/// Q5_0 weights · Q8_0 activations (ggml `ggml_vec_dot_q5_0_q8_0_generic`): per block
/// `sumf += (d_w·d_a)·Σ (q − 16)·a`.
public func vecDotQ5_0Q8_0(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 22
        let y = a + b * 34
        let qh = loadU32LE(x, 2)
        var sumi0: Int32 = 0
        var sumi1: Int32 = 0
        for j in 0..<16 {
            let q = UInt32(loadU8(x, 6 + j))
            let q0 = Int32((q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4)) - 16
            let q1 = Int32((q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4)) - 16
            sumi0 &+= q0 * Int32(loadI8(y, 2 + j))
            sumi1 &+= q1 * Int32(loadI8(y, 2 + 16 + j))
        }
        sumf += (loadHalf(x, 0) * loadHalf(y, 0)) * Float(sumi0 &+ sumi1)
    }
    return sumf
}

/// Q5_1 weights · Q8_1 activations (ggml `ggml_vec_dot_q5_1_q8_1_generic`): per block
/// `sumf += (d_w·d_a)·Σ q·a + m_w·s_a`.
public func vecDotQ5_1Q8_1(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 24
        let y = a + b * 36
        let qh = loadU32LE(x, 4)
        var sumi0: Int32 = 0
        var sumi1: Int32 = 0
        for j in 0..<16 {
            let q = UInt32(loadU8(x, 8 + j))
            let q0 = Int32((q & 0x0F) | (((qh >> UInt32(j)) & 1) << 4))
            let q1 = Int32((q >> 4) | (((qh >> UInt32(j + 16)) & 1) << 4))
            sumi0 &+= q0 * Int32(loadI8(y, 4 + j))
            sumi1 &+= q1 * Int32(loadI8(y, 4 + 16 + j))
        }
        sumf += (loadHalf(x, 0) * loadHalf(y, 0)) * Float(sumi0 &+ sumi1) + loadHalf(x, 2) * loadHalf(y, 2)
    }
    return sumf
}
