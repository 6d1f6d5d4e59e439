import HearthTensors

// 8-bit legacy quants, 32 weights a block (ggml-common.h):
//
//     block_q8_0 (34 bytes): ggml_half d; int8_t qs[32];
//     block_q8_1 (36 bytes): ggml_half d; ggml_half s; int8_t qs[32];   // s = d·Σ qs
//
// x = d·q. Q8_0 is both a weight type and the activation type of Q4_0/Q5_0/Q8_0; Q8_1 is the activation type of
// Q4_1/Q5_1 (its `s` carries the block sum that the weights' min term needs).

/// Q8_0 → F32 (ggml `dequantize_row_q8_0`).
public func dequantizeRowQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 34
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        for j in 0..<32 {
            y[j] = Float(loadI8(blk, 2 + j)) * d
        }
    }
}

/// Q8_1 → F32: x = d·q (the `s` field is not needed).
public func dequantizeRowQ8_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let blk = src + b * 36
        let y = dst + b * 32
        let d = loadHalf(blk, 0)
        for j in 0..<32 {
            y[j] = Float(loadI8(blk, 4 + j)) * d
        }
    }
}

/// F32 → Q8_0 (ggml `quantize_row_q8_0_ref`, bit-exact with gguf.quants): d = amax/127, q = roundf(x/d).
public func quantizeRowQ8_0(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 34
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        for j in 0..<32 {
            blk.storeBytes(of: roundToInt8(x[j] * id), toByteOffset: 2 + j, as: Int8.self)
        }
    }
}

/// F32 → Q8_1 (ggml `quantize_row_q8_1_ref`): d and q as Q8_0; s = fp16(Float(Σ q)·d) with the unrounded f32 d.
public func quantizeRowQ8_1(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 32)
    for b in 0..<nb {
        let x = src + b * 32
        let blk = dst + b * 36
        var amax: Float = 0
        for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(blk, 0, d)
        var sum: Int32 = 0
        for j in 0..<32 {
            let q = roundToInt8(x[j] * id)
            blk.storeBytes(of: q, toByteOffset: 4 + j, as: Int8.self)
            sum &+= Int32(q)
        }
        storeHalf(blk, 2, Float(sum) * d)
    }
}

/// Q8_0 weights · Q8_0 activations (ggml `ggml_vec_dot_q8_0_q8_0_generic`): per block
/// `sumf += Float(Σ q_w·q_a)·(d_w·d_a)`.
public func vecDotQ8_0Q8_0(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 34
        let y = a + b * 34
        var sumi: Int32 = 0
        for j in 0..<32 {
            sumi &+= Int32(loadI8(x, 2 + j)) * Int32(loadI8(y, 2 + j))
        }
        sumf += Float(sumi) * (loadHalf(x, 0) * loadHalf(y, 0))
    }
    return sumf
}

/// Q8_1 · Q8_1 (no ggml counterpart; Q8_1 is never a weight type there): per block
/// `sumf += Float(Σ q_w·q_a)·(d_w·d_a)`. Present so that the dispatcher is total.
public func vecDotQ8_1Q8_1(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 32)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 36
        let y = a + b * 36
        var sumi: Int32 = 0
        for j in 0..<32 {
            sumi &+= Int32(loadI8(x, 4 + j)) * Int32(loadI8(y, 4 + j))
        }
        sumf += Float(sumi) * (loadHalf(x, 0) * loadHalf(y, 0))
    }
    return sumf
}
