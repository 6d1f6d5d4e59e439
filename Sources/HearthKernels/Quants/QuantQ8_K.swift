import HearthTensors

// The K-quant activation type, 256 values a super-block (ggml-common.h):
//
//     block_q8_K (292 bytes): float d; int8_t qs[256]; int16_t bsums[16];   // bsums[j] = Σ qs[16j ..< 16j+16]
//
// x = d·q. Unlike the legacy types its scale is a full f32, and the per-16 sums let the K-quant dot products
// apply their min terms without touching qs.

/// Q8_K → F32 (ggml `dequantize_row_q8_K`).
public func dequantizeRowQ8_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let blk = src + b * 292
        let y = dst + b * 256
        let d = loadF32LE(blk, 0)
        for j in 0..<256 {
            y[j] = d * Float(loadI8(blk, 4 + j))
        }
    }
}

/// F32 → Q8_K (ggml `quantize_row_q8_K_ref`): with max the value of largest magnitude, iscale = −127/max,
/// q = min(127, nearest_int(iscale·x)) (ties to even), d = 1/iscale, bsums the sums of each 16 quants.
/// An all-zero block gets d = 0, zero quants and zero bsums.
public func quantizeRowQ8_K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    let nb = blockCount(count, 256)
    for b in 0..<nb {
        let x = src + b * 256
        let blk = dst + b * 292
        var amax: Float = 0
        var max: Float = 0
        for j in 0..<256 where abs(x[j]) > amax {
            amax = abs(x[j])
            max = x[j]
        }
        if amax == 0 {
            blk.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
            continue
        }
        let iscale = -127 / max
        for j in 0..<256 {
            let v = Swift.max(-128, Swift.min(127, nearestInt(iscale * x[j])))
            blk.storeBytes(of: Int8(v), toByteOffset: 4 + j, as: Int8.self)
        }
        for g in 0..<16 {
            var sum: Int16 = 0
            for l in 0..<16 { sum &+= Int16(loadI8(UnsafeRawPointer(blk), 4 + 16 * g + l)) }
            blk.storeBytes(of: sum.littleEndian, toByteOffset: 260 + 2 * g, as: Int16.self)
        }
        blk.storeBytes(of: (1 / iscale).bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
    }
}

/// Q8_K · Q8_K (no ggml counterpart; Q8_K is never a weight type there): per block
/// `sumf += Float(Σ q_w·q_a)·(d_w·d_a)`. Present so that the dispatcher is total.
public func vecDotQ8_KQ8_K(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    let nb = blockCount(count, 256)
    var sumf: Float = 0
    for b in 0..<nb {
        let x = w + b * 292
        let y = a + b * 292
        var sumi: Int32 = 0
        for j in 0..<256 {
            sumi &+= Int32(loadI8(x, 4 + j)) * Int32(loadI8(y, 4 + j))
        }
        sumf += Float(sumi) * (loadF32LE(x, 0) * loadF32LE(y, 0))
    }
    return sumf
}
