import HearthTensors

// 4-bit legacy quants, 32 weights a block (ggml-common.h):
//
//     block_q4_0 (18 bytes): ggml_half d; uint8_t qs[16];
//     block_q4_1 (20 bytes): ggml_half d; ggml_half m; uint8_t qs[16];
//
// Weight j (0..<16) is the low nibble of qs[j], weight j+16 its high nibble.
// Q4_0: x = d·(q − 8).  Q4_1: x = d·q + m.
// Dot products pair Q4_0 with Q8_0 and Q4_1 with Q8_1 activations (ggml-cpu `vec_dot_type`).

/// Q4_0 → F32 (ggml `dequantize_row_q4_0`).
public func dequantizeRowQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 18
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        for j in 0..<16 {
            let q = loadU8(blk, 2 + j)
            y[j] = Float(Int32(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int32(q >> 4) - 8) * d
        }
    }
}

/// Q4_1 → F32 (ggml `dequantize_row_q4_1`).
public func dequantizeRowQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 20
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        let m = loadHalf(blk, 2)
        for j in 0..<16 {
            let q = loadU8(blk, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }
}

/// F32 → Q4_0 (ggml `quantize_row_q4_0_ref`, bit-exact with gguf.quants): d = max/−8 where max is the value of
/// largest magnitude, q = min(15, trunc(x/d + 8.5)).
public func quantizeRowQ4_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 18
        var amax: Float = 0
        var max: Float = 0
        for j in 0..<32 where amax < abs(x[j]) {
            amax = abs(x[j])
            max = x[j]
        }
        let d = max / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        for j in 0..<16 {
            let q0 = truncClamped(x[j] * id + 8.5, 0, 15)
            let q1 = truncClamped(x[j + 16] * id + 8.5, 0, 15)
            blk.storeBytes(of: UInt8(q0 | (q1 << 4)), toByteOffset: 2 + j, as: UInt8.self)
        }
    }
}

/// F32 → Q4_1 (ggml `quantize_row_q4_1_ref`, bit-exact with gguf.quants): d = (max − min)/15, m = min,
/// q = min(15, trunc((x − min)/d + 0.5)).
public func quantizeRowQ4_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 20
        var min = Float.greatestFiniteMagnitude
        var max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < min { min = x[j] }
            if x[j] > max { max = x[j] }
        }
        let d = (max - min) / 15
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        storeHalf(blk, 2, min)
        for j in 0..<16 {
            let q0 = truncClamped((x[j] - min) * id + 0.5, 0, 15)
            let q1 = truncClamped((x[j + 16] - min) * id + 0.5, 0, 15)
            blk.storeBytes(of: UInt8(q0 | (q1 << 4)), toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}

/// Q4_0 weights · Q8_0 activations (ggml `ggml_vec_dot_q4_0_q8_0_generic`): per block the integer sum
/// Σ (q − 8)·a, then `sumf += Float(sumi) · d_w · d_a`.
public func vecDotQ4_0Q8_0(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 18
        let y = a + b * 34
        var sumi0: Int32 = 0
        var sumi1: Int32 = 0
        for j in 0..<16 {
            let q = loadU8(x, 2 + j)
            sumi0 &+= (Int32(q & 0x0F) - 8) * Int32(loadI8(y, 2 + j))
            sumi1 &+= (Int32(q >> 4) - 8) * Int32(loadI8(y, 2 + 16 + j))
        }
        sumf += Float(sumi0 &+ sumi1) * loadHalf(x, 0) * loadHalf(y, 0)
    }
    return sumf
}

/// Q4_1 weights · Q8_1 activations (ggml `ggml_vec_dot_q4_1_q8_1_generic`): per block
/// `sumf += (d_w·d_a)·Σ q·a + m_w·s_a`, where s_a = d_a·Σ a is the Q8_1 block's precomputed sum.
public func vecDotQ4_1Q8_1(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 20
        let y = a + b * 36
        var sumi0: Int32 = 0
        var sumi1: Int32 = 0
        for j in 0..<16 {
            let q = loadU8(x, 4 + j)
            sumi0 &+= Int32(q & 0x0F) * Int32(loadI8(y, 4 + j))
            sumi1 &+= Int32(q >> 4) * Int32(loadI8(y, 4 + 16 + j))
        }
        sumf += (loadHalf(x, 0) * loadHalf(y, 0)) * Float(sumi0 &+ sumi1) + loadHalf(x, 2) * loadHalf(y, 2)
    }
    return sumf
}
