import HearthTensors

// Unquantized element types (ggml.h `GGML_TYPE_F32`, `GGML_TYPE_F16`, `GGML_TYPE_BF16`): one element per
// "block", stored little-endian. Their dot products take an F32 activation row and accumulate each product in
// double precision, as ggml's scalar `ggml_vec_dot_f32` / `ggml_vec_dot_f16` do (`ggml_float` is double).

/// F32 → F32: a copy of `count` floats.
public func dequantizeRowF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    guard count > 0 else { return }
    UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
}

/// IEEE half → F32, exact.
public func dequantizeRowF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i < count {
        dst[i] = loadHalf(src, 2 * i)
        i += 1
    }
}

/// bfloat16 → F32, exact (the 16 bits become the high half of the float).
public func dequantizeRowBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i < count {
        dst[i] = bf16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        i += 1
    }
}

/// F32 → F32: a copy (the "quantizer" for F32 activations).
public func quantizeRowF32(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    guard count > 0 else { return }
    dst.copyMemory(from: UnsafeRawPointer(src), byteCount: count * 4)
}

/// F32 → IEEE half, round to nearest even (numpy `astype(float16)`, ggml `GGML_FP32_TO_FP16`).
public func quantizeRowF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    var i = 0
    while i < count {
        dst.storeBytes(of: floatToHalf(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        i += 1
    }
}

/// F32 → bfloat16, round to nearest even with NaN kept quiet (ggml `ggml_compute_fp32_to_bf16`).
public func quantizeRowBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
    var i = 0
    while i < count {
        dst.storeBytes(of: floatToBF16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        i += 1
    }
}

/// Σ w[i]·a[i] over F32 weights and F32 activations; each float product is summed in double.
public func vecDotF32(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    var sum: Double = 0
    var i = 0
    while i < count {
        sum += Double(loadF32LE(w, 4 * i) * loadF32LE(a, 4 * i))
        i += 1
    }
    return Float(sum)
}

/// Σ w[i]·a[i] over F16 weights and F32 activations; each float product is summed in double.
public func vecDotF16F32(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    var sum: Double = 0
    var i = 0
    while i < count {
        sum += Double(loadHalf(w, 2 * i) * loadF32LE(a, 4 * i))
        i += 1
    }
    return Float(sum)
}

/// Σ w[i]·a[i] over BF16 weights and F32 activations; each float product is summed in double.
public func vecDotBF16F32(_ count: Int, _ w: UnsafeRawPointer, _ a: UnsafeRawPointer) -> Float {
    var sum: Double = 0
    var i = 0
    while i < count {
        let wv = bf16ToFloat(UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        sum += Double(wv * loadF32LE(a, 4 * i))
        i += 1
    }
    return Float(sum)
}
