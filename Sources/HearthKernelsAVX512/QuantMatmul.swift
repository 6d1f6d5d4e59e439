import _Builtin_intrinsics.intel
import HearthTensors

/// True for the weight types this module decodes itself (the others are decoded by the portable decoder into a
/// panel and multiplied by `avx512PanelMatmul`).
public func avx512HasUnpacker(_ type: GGMLType) -> Bool {
    false
}

/// Rows `rowStart..<rowEnd` of a quantized weight matrix times all quantized activation rows.
public func avx512QuantMatmul(type: GGMLType, w: UnsafeRawPointer, rowBytes: Int, k: Int, rowStart: Int, rowEnd: Int,
                              qs: UnsafeMutablePointer<Int8>, dg: UnsafeMutablePointer<Float>,
                              sg: UnsafeMutablePointer<Float>, kPad: Int, nTokens: Int,
                              y: UnsafeMutablePointer<Float>, yStride: Int, panel: UnsafeMutableRawPointer) {
    preconditionFailure("avx512QuantMatmul: no decoder for \(type)")
}
