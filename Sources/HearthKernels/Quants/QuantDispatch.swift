import HearthTensors

/// Type-switched entry points to the scalar reference kernels. Hot paths should resolve a function once per
/// tensor rather than switch per row, but these are what the SIMD kernels and model tests are checked against.
public enum QuantKernels {
    /// Decodes `count` elements (a whole number of blocks) of `type` at `src` into `dst`.
    public static func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>,
                                     _ count: Int) {
        switch type {
        case .f32: dequantizeRowF32(src, dst, count)
        case .f16: dequantizeRowF16(src, dst, count)
        case .bf16: dequantizeRowBF16(src, dst, count)
        case .q4_0: dequantizeRowQ4_0(src, dst, count)
        case .q4_1: dequantizeRowQ4_1(src, dst, count)
        case .q5_0: dequantizeRowQ5_0(src, dst, count)
        case .q5_1: dequantizeRowQ5_1(src, dst, count)
        case .q8_0: dequantizeRowQ8_0(src, dst, count)
        case .q8_1: dequantizeRowQ8_1(src, dst, count)
        case .q2_K: dequantizeRowQ2_K(src, dst, count)
        case .q3_K: dequantizeRowQ3_K(src, dst, count)
        case .q4_K: dequantizeRowQ4_K(src, dst, count)
        case .q5_K: dequantizeRowQ5_K(src, dst, count)
        case .q6_K: dequantizeRowQ6_K(src, dst, count)
        case .q8_K: dequantizeRowQ8_K(src, dst, count)
        }
    }

    /// The activation type a weight type's dot product reads, as ggml-cpu's `vec_dot_type`, except that
    /// F16/BF16 weights take F32 activations here: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
    /// K-quants, F32 for F32/F16/BF16. Q8_1 and Q8_K (activation-only types) pair with themselves.
    public static func activationType(for weight: GGMLType) -> GGMLType {
        switch weight {
        case .f32, .f16, .bf16: return .f32
        case .q4_0, .q5_0, .q8_0: return .q8_0
        case .q4_1, .q5_1, .q8_1: return .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return .q8_K
        }
    }

    /// Whether `quantizeRow` can encode `type` (every type but Q2_K…Q6_K).
    public static func canQuantize(_ type: GGMLType) -> Bool {
        switch type {
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return false
        default: return true
        }
    }

    /// Encodes `count` floats (a whole number of blocks) as `type`, with ggml's reference quantizers. Returns
    /// false, writing nothing, for the types that have no quantizer here (see `canQuantize`).
    @discardableResult
    public static func quantizeRow(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer,
                                   _ count: Int) -> Bool {
        switch type {
        case .f32: quantizeRowF32(src, dst, count)
        case .f16: quantizeRowF16(src, dst, count)
        case .bf16: quantizeRowBF16(src, dst, count)
        case .q4_0: quantizeRowQ4_0(src, dst, count)
        case .q4_1: quantizeRowQ4_1(src, dst, count)
        case .q5_0: quantizeRowQ5_0(src, dst, count)
        case .q5_1: quantizeRowQ5_1(src, dst, count)
        case .q8_0: quantizeRowQ8_0(src, dst, count)
        case .q8_1: quantizeRowQ8_1(src, dst, count)
        case .q8_K: quantizeRowQ8_K(src, dst, count)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return false
        }
        return true
    }

    /// Encodes an activation row as `type`, which must be an activation type (F32 = copy, Q8_0, Q8_1, Q8_K;
    /// F16/BF16 and the legacy weight types are accepted too). Traps for Q2_K…Q6_K, which have no quantizer.
    public static func quantizeActivations(_ type: GGMLType, _ src: UnsafePointer<Float>,
                                           _ dst: UnsafeMutableRawPointer, _ count: Int) {
        let done = quantizeRow(type, src, dst, count)
        precondition(done, "no activation quantizer for \(type)")
    }

    /// Scalar reference dot product of a `weight`-typed row `w` with an activation row `a` of type
    /// `activationType(for: weight)`, over `count` elements.
    public static func vecDotReference(_ weight: GGMLType, _ count: Int, _ w: UnsafeRawPointer,
                                       _ a: UnsafeRawPointer) -> Float {
        switch weight {
        case .f32: return vecDotF32(count, w, a)
        case .f16: return vecDotF16F32(count, w, a)
        case .bf16: return vecDotBF16F32(count, w, a)
        case .q4_0: return vecDotQ4_0Q8_0(count, w, a)
        case .q4_1: return vecDotQ4_1Q8_1(count, w, a)
        case .q5_0: return vecDotQ5_0Q8_0(count, w, a)
        case .q5_1: return vecDotQ5_1Q8_1(count, w, a)
        case .q8_0: return vecDotQ8_0Q8_0(count, w, a)
        case .q8_1: return vecDotQ8_1Q8_1(count, w, a)
        case .q2_K: return vecDotQ2_KQ8_K(count, w, a)
        case .q3_K: return vecDotQ3_KQ8_K(count, w, a)
        case .q4_K: return vecDotQ4_KQ8_K(count, w, a)
        case .q5_K: return vecDotQ5_KQ8_K(count, w, a)
        case .q6_K: return vecDotQ6_KQ8_K(count, w, a)
        case .q8_K: return vecDotQ8_KQ8_K(count, w, a)
        }
    }
}
