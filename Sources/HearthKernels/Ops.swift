import Foundation
import HearthTensors

/// Element-wise and per-row operations of the transformer graph. Written as plain loops over unsafe pointers:
/// this module is compiled with `-Ounchecked`, so LLVM vectorizes them (../shared/notes/swift-kernels.md).
/// Reductions use several accumulators because Swift keeps strict FP order for a single one.
public enum Ops {
    /// RMSNorm (Zhang & Sennrich 2019) of `rows` rows of length `n`, times `weight`:
    /// y = x / sqrt(mean(x²) + eps) * w, bit for bit as ggml's `rms_norm` followed by `mul`: float squares summed
    /// in double, the mean rounded to float, then 1/sqrtf(mean + eps) in float. Activations are quantized right after, and
    /// on small models a one-ulp difference here can flip a rounding there.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                               n: Int, rows: Int, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            var ss: Double = 0
            for i in 0..<n { ss += Double(xr[i] * xr[i]) }
            let mean = Float(ss / Double(n))
            let scale: Float = 1 / (mean + eps).squareRoot()
            if let w = weight {
                for i in 0..<n { yr[i] = xr[i] * scale * w[i] }
            } else {
                for i in 0..<n { yr[i] = xr[i] * scale }
            }
        }
    }

    @inline(__always)
    public static func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
        var i = 0
        while i + 4 <= n {
            a0 += x[i] * x[i]; a1 += x[i + 1] * x[i + 1]; a2 += x[i + 2] * x[i + 2]; a3 += x[i + 3] * x[i + 3]
            i += 4
        }
        while i < n { a0 += x[i] * x[i]; i += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            s += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var r = s.sum()
        while i < n { r += a[i] * b[i]; i += 1 }
        return r
    }

    /// y += a * x
    @inline(__always)
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += a * x[i] }
    }

    /// x += y, element-wise over `n` values (the residual connections).
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] += y[i] }
    }

    /// SwiGLU (Shazeer 2020): gate = silu(gate) * up, in place in `gate`.
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// Cos/sin table for one position: the angles p · base^(-2i/d) for i < d/2, with the per-dimension factor
    /// computed the way ggml's rope does (repeated multiplication by theta_scale in float).
    public static func ropeAngles(position: Int, dims: Int, base: Float, freqScale: Float = 1,
                                  cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2 / Float(dims))
        var theta = Float(position) * freqScale
        for i in 0..<(dims / 2) {
            cos[i] = cosf(theta)
            sin[i] = sinf(theta)
            theta *= thetaScale
        }
    }

    /// RoPE (Su et al. 2021) in llama.cpp's "normal" mode: rotates adjacent pairs (2i, 2i+1) of the first `dims`
    /// values of each head. GGUF llama files store Q/K permuted for this pairing.
    public static func ropeNormal(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, dims: Int,
                                  cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<(dims / 2) {
                let a = v[2 * i], b = v[2 * i + 1]
                // As GCC contracts ggml's rotate_pairs: fma(x0, cos, -(x1·sin)), fma(x0, sin, x1·cos).
                v[2 * i] = (-(b * sin[i])).addingProduct(a, cos[i])
                v[2 * i + 1] = (b * cos[i]).addingProduct(a, sin[i])
            }
        }
    }

    /// RoPE in "neox" mode (qwen2, gemma3): rotates value i with value i + dims/2.
    public static func ropeNeox(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, dims: Int,
                                cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = dims / 2
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let a = v[i], b = v[i + half]
                v[i] = (-(b * sin[i])).addingProduct(a, cos[i])
                v[i + half] = (b * cos[i]).addingProduct(a, sin[i])
            }
        }
    }

    /// Rounds floats to IEEE half (round to nearest even), as a KV cache write does.
    public static func toHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ n: Int) {
        for i in 0..<n { y[i] = floatToHalf(x[i]) }
    }

    /// Softmax in place over `n` values; returns nothing, writes probabilities.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        var sum: Float = 0
        for i in 0..<n {
            let e = expf(x[i] - m)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<n { x[i] *= inv }
    }
}
