import HearthTensors

// Shared helpers for the scalar reference kernels. Blocks live in byte buffers (usually an mmap'd GGUF file) with
// no alignment guarantee beyond 1, so every multi-byte field is read with `loadUnaligned` and stored little-endian,
// as ggml writes them.

/// Reads the little-endian fp16 at `offset` and widens it exactly (ggml `GGML_FP16_TO_FP32`).
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Writes `value` rounded to the nearest fp16 (ties to even, as ggml `GGML_FP32_TO_FP16`) at `offset`.
@inline(__always)
func storeHalf(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: Float) {
    p.storeBytes(of: floatToHalf(value).littleEndian, toByteOffset: offset, as: UInt16.self)
}

@inline(__always)
func loadU8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    p.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always)
func loadI8(_ p: UnsafeRawPointer, _ offset: Int) -> Int8 {
    p.load(fromByteOffset: offset, as: Int8.self)
}

@inline(__always)
func loadU32LE(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always)
func loadF32LE(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
}

@inline(__always)
func loadI16LE(_ p: UnsafeRawPointer, _ offset: Int) -> Int16 {
    Int16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: Int16.self))
}

/// Number of whole blocks of `blockSize` in `count` elements (0 for non-positive counts).
@inline(__always)
func blockCount(_ count: Int, _ blockSize: Int) -> Int {
    count > 0 ? count / blockSize : 0
}

/// C's `(int)` / `(uint8_t)` truncation of a float already known to lie in `lo...hi`, clamped first so that a
/// NaN or out-of-range input can never trap: NaN maps to `lo`.
@inline(__always)
func truncClamped(_ v: Float, _ lo: Float, _ hi: Float) -> Int32 {
    Int32(Float.minimum(Float.maximum(v, lo), hi))
}

/// C's `roundf` (half away from zero), then clamped to the Int8 range (NaN maps to -128).
@inline(__always)
func roundToInt8(_ v: Float) -> Int8 {
    Int8(Float.minimum(Float.maximum(v.rounded(.toNearestOrAwayFromZero), -128), 127))
}

/// ggml's `nearest_int`: adds 1.5·2^23 so the float's mantissa holds the integer rounded half-to-even, then
/// reads it back (valid for |v| ≤ 4194303, the only range ggml uses it for).
@inline(__always)
func nearestInt(_ v: Float) -> Int32 {
    let bits = (v + 12582912.0).bitPattern
    return Int32(bitPattern: bits & 0x007F_FFFF) &- 0x0040_0000
}
