/// IEEE half and bfloat16 conversion without the `vpinsrw` false-dependency pitfall
/// (../shared/notes/swift-kernels.md): pure integer bit manipulation, exact for every value including
/// subnormals, infinities and NaN.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x3FF)
    if exp == 0x1F {  // inf / nan
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    if exp == 0 {
        // zero or subnormal: value = mant * 2^-24, exact in float
        let v = Float(mant) * 0x1p-24
        return Float(bitPattern: v.bitPattern | sign)
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// Round-to-nearest-even float → half, as numpy and ggml (F16C `vcvtps2ph` with rounding mode 0) do.
@inline(__always)
public func floatToHalf(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF)
    var mant = x & 0x7F_FFFF
    if exp == 0xFF {  // inf / nan
        return sign | 0x7C00 | (mant != 0 ? 0x200 : 0)
    }
    let e = exp - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {
        // subnormal half (or zero)
        if e < -10 { return sign }
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        var h = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let half = UInt32(1) << (shift - 1)
        if rem > half || (rem == half && (h & 1) == 1) { h += 1 }
        return sign | UInt16(h)
    }
    var h = UInt32(e << 10) | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into exponent: correct
    return sign | UInt16(h)
}

@inline(__always)
public func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

/// Round-to-nearest-even float → bfloat16 (NaN kept quiet), as ggml's `ggml_compute_fp32_to_bf16`.
@inline(__always)
public func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if (u & 0x7FFF_FFFF) > 0x7F80_0000 { return UInt16(u >> 16) | 64 }
    return UInt16((u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16)
}
