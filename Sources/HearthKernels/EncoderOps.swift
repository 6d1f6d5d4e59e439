import Foundation
import HearthTensors
import HearthKernelsAVX512

/// Operations of encoder models (BERT): LayerNorm, bias rows and the exact (erf) GELU.
extension Ops {
    /// LayerNorm (Ba et al. 2016) of `rows` rows of length `n`, in place: y = (x − mean) / sqrt(var + eps) · γ + β,
    /// the biased variance as PyTorch's `nn.LayerNorm`. Sums in Double: BERT's eps is 1e-12, so nothing else keeps
    /// a nearly constant row from losing its variance.
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 n: Int, rows: Int, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * n
            var s0: Double = 0, s1: Double = 0
            for i in 0..<n { s0 += Double(xr[i]) }
            let mean = s0 / Double(n)
            for i in 0..<n { let d = Double(xr[i]) - mean; s1 += d * d }
            let inv = Float(1 / (s1 / Double(n) + Double(eps)).squareRoot())
            let m = Float(mean)
            for i in 0..<n { xr[i] = (xr[i] - m) * inv * gamma[i] + beta[i] }
        }
    }

    /// Adds `bias` (length `n`) to each of `rows` rows.
    public static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, n: Int, rows: Int) {
        for r in 0..<rows {
            let xr = x + r * n
            for i in 0..<n { xr[i] += bias[i] }
        }
    }

    /// GELU with the exact Gaussian CDF, x · ½(1 + erf(x/√2)), as PyTorch's `F.gelu` (approximate="none") and
    /// Hugging Face BERT's `hidden_act: "gelu"` compute it, in place over `n` values, with `erfFast` 16 lanes at a time.
    public static func geluErf(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        if KernelISA.selected == .avx512 { avx512GeluErf(x, n); return }
        geluErfPortable(x, n)
    }

    /// `geluErf` on portable SIMD (the path for CPUs without AVX-512; tests run it everywhere).
    public static func geluErfPortable(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        let scale = SIMD16<Float>(repeating: 0.707_106_781_186_547_524_4)
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let y = v * 0.5 * (1 + erfFast(v * scale))
            UnsafeMutableRawPointer(x + i).storeBytes(of: y, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { x[i] = geluErfReference(x[i]); i += 1 }
    }

    /// The scalar reference: libm's `erff`.
    public static func geluErfReference(_ x: Float) -> Float { x * 0.5 * (1 + erff(x * 0.707_106_781_186_547_524_4)) }

    /// erf(x) as the rational approximation Eigen and XLA use for float (`generic_fast_erf_float`): x clamped to
    /// [−4, 4] (erf is ±1 to float precision beyond), then an odd degree-13 numerator over an even degree-8
    /// denominator; within a few ulp of libm's erff (checked by EncoderOpsTests).
    @inline(__always)
    public static func erfFast(_ x0: SIMD16<Float>) -> SIMD16<Float> {
        let x = x0.clamped(lowerBound: SIMD16(repeating: -4), upperBound: SIMD16(repeating: 4))
        let x2 = x * x
        var p = x2 * SIMD16(repeating: -2.72614225801306e-10) + SIMD16(repeating: 2.77068142495902e-08)
        p = x2 * p + SIMD16(repeating: -2.10102402082508e-06)
        p = x2 * p + SIMD16(repeating: -5.69250639462346e-05)
        p = x2 * p + SIMD16(repeating: -7.34990630326855e-04)
        p = x2 * p + SIMD16(repeating: -2.95459980854025e-03)
        p = x2 * p + SIMD16(repeating: -1.60960333262415e-02)
        p = x * p
        var q = x2 * SIMD16(repeating: -1.45660718464996e-05) + SIMD16(repeating: -2.13374055278905e-04)
        q = x2 * q + SIMD16(repeating: -1.68282697438203e-03)
        q = x2 * q + SIMD16(repeating: -7.37332916720468e-03)
        q = x2 * q + SIMD16(repeating: -1.42647390514189e-02)
        return p / q
    }
}
