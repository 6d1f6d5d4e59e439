/// Element and quantization types, numbered as ggml numbers them (ggml.h `enum ggml_type`), because GGUF tensor
/// infos store these ids on disk.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Number of weights one block holds (ggml `blck_size`).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes one block takes (ggml `type_size`), from the block structs in ggml-common.h.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18      // fp16 d + 16 nibble bytes
        case .q4_1: return 20      // fp16 d, m + 16
        case .q5_0: return 22      // fp16 d + 4 high-bit bytes + 16
        case .q5_1: return 24      // fp16 d, m + 4 + 16
        case .q8_0: return 34      // fp16 d + 32 int8
        case .q8_1: return 36      // fp16 d, s + 32 int8
        case .q2_K: return 84      // 16 scales + 64 qs + fp16 d, dmin
        case .q3_K: return 110     // 32 hmask + 64 qs + 12 scales + fp16 d
        case .q4_K: return 144     // fp16 d, dmin + 12 scales + 128 qs
        case .q5_K: return 176     // fp16 d, dmin + 12 scales + 32 qh + 128 qs
        case .q6_K: return 210     // 128 ql + 64 qh + 16 scales + fp16 d
        case .q8_K: return 292     // f32 d + 256 int8 + 16 int16 bsums
        }
    }

    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks or overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    /// Name as llama.cpp prints it ("Q4_1", "F16").
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        }
    }
}
