import Foundation
import HearthTensors

extension Ops {
    /// GELU with the tanh approximation (Hendrycks & Gimpel 2016) through ggml's half-precision table, as
    /// ggml's CPU backend computes it (GGML_GELU_FP16): x ≤ −10 → 0, x ≥ 10 → x, else the input rounded to half
    /// indexes a table of half-rounded 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))).
    static let geluTable: [UInt16] = (0..<65536).map { i in
        let x = halfToFloat(UInt16(i))
        let poly = Float(1).addingProduct(0.044715 * x, x)  // GCC contracts 1 + A·x·x into fma(A·x, x, 1)
        let t = tanhf(0.797_884_560_802_865_355_879_892_119_868_763_7 * x * poly)
        return floatToHalf(0.5 * x * (1 + t))
    }

    /// GeGLU in place: gate[i] = gelu(gate[i]) · up[i], bit for bit as ggml's `ggml_vec_geglu_f32`.
    public static func geglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        geluTable.withUnsafeBufferPointer { table in
            for i in 0..<n {
                let x = gate[i]
                if x <= -10 {
                    gate[i] = 0
                } else if x >= 10 {
                    gate[i] = x * up[i]
                } else {
                    gate[i] = halfToFloat(table[Int(floatToHalf(x))]) * up[i]
                }
            }
        }
    }
}
