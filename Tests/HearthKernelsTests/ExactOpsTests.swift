import Foundation
import XCTest
import HearthKernels
import HearthKernelsAVX512

/// Bit-exact checks of element-wise ops against vectors produced by llama.cpp's ggml CPU backend (x86 build with
/// AVX-512, GCC, -march=native, one thread), stored under Vectors/exact:
/// - swiglu_{gate,up,out}.f32: 3 rows of 1037 floats (64 groups of 16 plus a 13-value tail), `ggml_swiglu_split`
///   applied per row; gate values mix ±8, ±30, ±90, ±200, ±1e-20, subnormals and signed zeros.
/// - rope_<case>.f32: `ggml_rope_ext` on 64-wide heads × 3 heads × positions 0...600 (n_dims 64,
///   freq_base 100000, ext_factor 0, attn_factor 1), outputs of the positions that are multiples of 32; the
///   FNV-1a 64 hash of all 601 positions' outputs is below. Inputs come from the xorshift generator replicated here.
final class ExactOpsTests: XCTestCase {
    static let ropeHashes: [String: UInt64] = [
        "normal": 0x5d48_9036_27e9_fc25, "neox": 0x892a_45d6_8d61_a31a, "normal_fs025": 0x0337_c370_90d1_01a0,
    ]

    func load(_ name: String) throws -> [Float] {
        guard let dir = Bundle.module.url(forResource: "Vectors", withExtension: nil) else {
            throw XCTSkip("Vectors resource folder missing from the test bundle")
        }
        let data = try Data(contentsOf: dir.appendingPathComponent("exact").appendingPathComponent(name))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
    }

    func assertBits(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        var bad = 0
        for i in 0..<min(got.count, want.count) where got[i].bitPattern != want[i].bitPattern {
            if bad < 5 { XCTFail("\(what)[\(i)]: got \(got[i]) want \(want[i])", file: file, line: line) }
            bad += 1
        }
        XCTAssertEqual(bad, 0, "\(what): \(bad) of \(want.count) values differ in bits", file: file, line: line)
    }

    func checkSwiGLU(_ f: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void, _ what: String) throws {
        let gate = try load("swiglu_gate.f32"), up = try load("swiglu_up.f32"), want = try load("swiglu_out.f32")
        let rowLen = 1037
        XCTAssertEqual(gate.count, 3 * rowLen)
        var got = gate
        got.withUnsafeMutableBufferPointer { g in
            up.withUnsafeBufferPointer { u in
                for r in 0..<(gate.count / rowLen) { f(g.baseAddress! + r * rowLen, u.baseAddress! + r * rowLen, rowLen) }
            }
        }
        assertBits(got, want, what)
    }

    func testSwiGLUScalarMatchesGGML() throws {
        try checkSwiGLU(swigluGGMLScalar, "swigluGGMLScalar")
    }

    func testSwiGLUAVX512MatchesGGML() throws {
        guard CPUFeatures.current.bestISA == .avx512 else { throw XCTSkip("no AVX-512 on this CPU") }
        try checkSwiGLU(swigluGGML, "swigluGGML")
    }

    func testOpsSwiGLUMatchesGGML() throws {
        try checkSwiGLU(Ops.swiglu, "Ops.swiglu (\(KernelISA.selected))")
    }

    // The harness's input generator: xorshift32, floats assembled from bits (no float arithmetic).
    struct Gen {
        var s: UInt32 = 0x9e37_79b9
        mutating func next() -> UInt32 { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s }
        mutating func ropeValue() -> Float {
            let r = next(), m = next() & 0x7F_FFFF, sign = r & 1, c = (r >> 1) % 8
            let e: UInt32 = c < 6 ? 120 + next() % 13 : c == 6 ? 90 + next() % 30 : 131
            return Float(bitPattern: sign << 31 | e << 23 | m)
        }
    }

    func checkRope(_ name: String, neox: Bool, freqScale: Float) throws {
        let headDim = 64, heads = 3, positions = 601
        var gen = Gen()
        var x = (0..<(headDim * heads * positions)).map { _ in gen.ropeValue() }
        var cos = [Float](repeating: 0, count: 32), sin = [Float](repeating: 0, count: 32)
        x.withUnsafeMutableBufferPointer { xb in
            for p in 0..<positions {
                Ops.ropeAngles(position: p, dims: 64, base: 100000, freqScale: freqScale, cos: &cos, sin: &sin)
                let v = xb.baseAddress! + p * headDim * heads
                if neox {
                    Ops.ropeNeox(v, heads: heads, headDim: headDim, dims: 64, cos: cos, sin: sin)
                } else {
                    Ops.ropeNormal(v, heads: heads, headDim: headDim, dims: 64, cos: cos, sin: sin)
                }
            }
        }
        var subset: [Float] = []
        for p in stride(from: 0, to: positions, by: 32) {
            subset += x[(p * headDim * heads)..<((p + 1) * headDim * heads)]
        }
        assertBits(subset, try load("rope_\(name).f32"), "rope \(name) (positions % 32 == 0)")
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in x {
            var b = v.bitPattern
            for _ in 0..<4 { h ^= UInt64(b & 0xFF); h = h &* 0x100_0000_01b3; b >>= 8 }
        }
        XCTAssertEqual(h, Self.ropeHashes[name], "rope \(name): hash over all positions 0...600 differs")
    }

    func testRopeNormalMatchesGGML() throws { try checkRope("normal", neox: false, freqScale: 1) }
    func testRopeNeoxMatchesGGML() throws { try checkRope("neox", neox: true, freqScale: 1) }
    func testRopeNormalFreqScaleMatchesGGML() throws { try checkRope("normal_fs025", neox: false, freqScale: 0.25) }
}
