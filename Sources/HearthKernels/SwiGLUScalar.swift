#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One lane of ggml's AVX-512 `ggml_v_expf` in portable Swift: each `_mm512_fmadd_ps`/`_mm512_fnmadd_ps` is an
/// `addingProduct` (a fused multiply-add, so the same single rounding), and `vscalefps` (j · 2^n, one rounding,
/// subnormal results included) is done exactly in Double then rounded once to Float.
@inline(__always) func ggmlExpfLane(_ x: Float) -> Float {
    let r: Float = 0x1.8p23
    let z = r.addingProduct(x, 0x1.715476p+0)
    let n = z - r
    let b = x.addingProduct(-n, 0x1.62e4p-1).addingProduct(-n, 0x1.7f7d1cp-20)
    let u = b * b
    let p = Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b)
    let q = Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
    let w = Float(1).addingProduct(0x1.ffffecp-1, b)
    let j = w.addingProduct(q.addingProduct(p, u), u)
    if n.isNaN { return n }
    if abs(n) > 192 { return n <= 0 ? 0 : .infinity }
    // |n| ≤ 192 is an integer here: j · 2^n is exact in Double, and the conversion rounds once as vscalefps does.
    let scale = Double(bitPattern: UInt64(1023 + Int(n)) << 52)
    return Float(Double(j) * scale)
}

/// SwiGLU in place, bit for bit as ggml's AVX-512 `ggml_vec_swiglu_f32` (see `swigluGGML`), one lane at a time
/// and without x86 intrinsics: ggml's polynomial exp for each full group of 16 values, libm `expf` for the
/// n % 16 tail. Slower (without an FMA target flag `addingProduct` is a libm `fmaf` call) but portable.
public func swigluGGMLScalar(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let full = n / 16 * 16
    for i in 0..<full {
        let x = gate[i]
        gate[i] = x / (1 + ggmlExpfLane(0 - x)) * up[i]
    }
    for i in full..<n {
        let x = gate[i]
        gate[i] = x / (1 + expf(-x)) * up[i]
    }
}
