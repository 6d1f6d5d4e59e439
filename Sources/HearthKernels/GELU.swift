import Foundation
import HearthKernelsAVX512
import HearthTensors

extension Ops {
    /// GELU with the tanh approximation (Hendrycks & Gimpel 2016) through ggml's half-precision table, as
    /// ggml's CPU backend computes it (GGML_GELU_FP16): x ≤ −10 → 0, x ≥ 10 → x, else the input rounded to half
    /// indexes a table of half-rounded 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))).
    /// Entry 65 536 is padding: the AVX-512 kernel gathers 32 bits at a time, so entry 65 535 reads one past it.
    static let geluTable: [UInt16] = (0..<65536).map { i in
        let x = halfToFloat(UInt16(i))
        let poly = Float(1).addingProduct(0.044715 * x, x)  // GCC contracts 1 + A·x·x into fma(A·x, x, 1)
        let t = tanhf(0.797_884_560_802_865_355_879_892_119_868_763_7 * x * poly)
        return floatToHalf(0.5 * x * (1 + t))
    } + [0]

    /// GeGLU in place: gate[i] = gelu(gate[i]) · up[i], bit for bit as ggml's `ggml_vec_geglu_f32`: the AVX-512
    /// kernel (`avx512GEGLU`, table lookups by gather) where it runs, else one lane at a time.
    public static func geglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        if KernelISA.selected == .avx512 {
            geluTable.withUnsafeBufferPointer { table in
                guard let base = table.baseAddress else { return }
                avx512GEGLU(gate, up, n, table: base) { x, u in gegluLane(x, u, base) }
            }
        } else {
            gegluScalar(gate, up, n)
        }
    }

    /// `geglu` split over the pool for a prefill's many values.
    public static func geglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int, pool: ThreadPool) {
        if n < 65536 || pool.threadCount == 1 { geglu(gate, up, n); return }
        pool.run { t, threads in
            let per = ((n + threads - 1) / threads + 15) & ~15
            let i0 = min(n, t * per), i1 = min(n, i0 + per)
            if i0 < i1 { geglu(gate + i0, up + i0, i1 - i0) }
        }
    }

    /// The scalar reference of `geglu`.
    public static func gegluScalar(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        geluTable.withUnsafeBufferPointer { table in
            guard let base = table.baseAddress else { return }
            for i in 0..<n { gate[i] = gegluLane(gate[i], up[i], base) }
        }
    }

    @inline(__always)
    static func gegluLane(_ x: Float, _ u: Float, _ table: UnsafePointer<UInt16>) -> Float {
        if x <= -10 { return 0 }
        if x >= 10 { return x * u }
        return halfToFloat(table[Int(floatToHalf(x))]) * u
    }
}
