import Foundation
import HearthTensors
import HearthKernelsAVX512
import HearthKernelsAVX2

/// Element-wise and per-row operations of the transformer graph. Written as plain loops over unsafe pointers:
/// this module is compiled with `-Ounchecked`, so LLVM vectorizes them (../shared/notes/swift-kernels.md).
/// Reductions use several accumulators because Swift keeps strict FP order for a single one.
public enum Ops {
    /// RMSNorm (Zhang & Sennrich 2019) of `rows` rows of length `n`, times `weight`:
    /// y = x / sqrt(mean(x²) + eps) * w, bit for bit as ggml's `rms_norm` followed by `mul`: float squares summed
    /// in double, the mean rounded to float, then 1/sqrtf(mean + eps) in float. Activations are quantized right after, and
    /// on small models a one-ulp difference here can flip a rounding there.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                               n: Int, rows: Int, eps: Float, pool: ThreadPool) {
        // ggml's sum of squares is one sequential double chain a row (latency-bound): a prefill's many rows are
        // split over the pool (each row computed whole by one thread: the same bits).
        if rows < 8 || rows * n < 16384 || pool.threadCount == 1 {
            rmsNorm(x, weight, y, n: n, rows: rows, eps: eps)
            return
        }
        pool.run { t, threads in
            let per = (rows + threads - 1) / threads
            let r0 = min(rows, t * per), r1 = min(rows, r0 + per)
            if r0 < r1 { rmsNorm(x + r0 * n, weight, y + r0 * n, n: n, rows: r1 - r0, eps: eps) }
        }
    }

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

    /// SwiGLU (Shazeer 2020): gate = silu(gate) * up, in place in `gate`, bit for bit as ggml's x86 AVX-512
    /// `ggml_vec_swiglu_f32` (polynomial exp per 16, libm `expf` for the tail): the AVX-512 kernel where it runs,
    /// else `swigluGGMLScalar`, the same arithmetic one lane at a time.
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        if KernelISA.selected == .avx512 {
            swigluGGML(gate, up, n)
        } else if KernelISA.selected == .avx2 {
            avx2SwiGLU(gate, up, n)
        } else {
            swigluGGMLScalar(gate, up, n)
        }
    }

    /// Cos/sin table for one position, bit for bit as ggml's CPU `ggml_rope_cache_init`/`rope_yarn` (no YaRN
    /// extrapolation, attn_factor 1, no freq factors): theta starts at the position and is multiplied by
    /// theta_scale = powf(base, −2/dims) in float after each pair; the angle used is freqScale · theta, and
    /// cos/sin come from libm `cosf`/`sinf` (GCC merges them into `sincosf`, which gives the same values).
    public static func ropeAngles(position: Int, dims: Int, base: Float, freqScale: Float = 1,
                                  cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let thetaScale = powf(base, -2 / Float(dims))
        var theta = Float(position)
        for i in 0..<(dims / 2) {
            let angle = freqScale * theta
            cos[i] = cosf(angle)
            sin[i] = sinf(angle)
            theta *= thetaScale
        }
    }

    /// One rotated pair as GCC compiles ggml's `rotate_pairs` with its default -ffp-contract=fast (the scalar
    /// loop uses vfmsub231ss/vfmadd132ss, the vectorized one vfmaddsub, with the same pairing):
    /// x0·cos − x1·sin = fma(x0, cos, −(x1·sin)) and x0·sin + x1·cos = fma(x0, sin, x1·cos).
    @inline(__always)
    static func rotate(_ x0: Float, _ x1: Float, _ c: Float, _ s: Float) -> (Float, Float) {
        ((-(x1 * s)).addingProduct(x0, c), (x1 * c).addingProduct(x0, s))
    }

    /// RoPE (Su et al. 2021) in llama.cpp's "normal" mode: rotates adjacent pairs (2i, 2i+1) of the first `dims`
    /// values of each head. GGUF llama files store Q/K permuted for this pairing. Bit-exact with ggml's CPU rope.
    public static func ropeNormal(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, dims: Int,
                                  cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<(dims / 2) {
                (v[2 * i], v[2 * i + 1]) = rotate(v[2 * i], v[2 * i + 1], cos[i], sin[i])
            }
        }
    }

    /// RoPE in "neox" mode (qwen2, gemma3): rotates value i with value i + dims/2. Bit-exact with ggml's CPU rope.
    public static func ropeNeox(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, dims: Int,
                                cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = dims / 2
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                (v[i], v[i + half]) = rotate(v[i], v[i + half], cos[i], sin[i])
            }
        }
    }

    /// Rounds floats to IEEE half (round to nearest even), as a KV cache write does.
    public static func toHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, _ n: Int) {
        if KernelISA.selected == .avx512 { avx512FloatToHalf(x, y, n); return }
        if KernelISA.selected == .avx2 { avx2FloatToHalf(x, y, n); return }
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
