import Foundation
import XCTest
import HearthKernels
import HearthTensors

/// The committed vectors under Vectors/ (written by scripts/gen-quant-vectors.py from gguf.quants).
struct QuantVectors {
    struct Entry: Decodable {
        let name: String
        let id: UInt32
        let blockSize: Int
        let blockBytes: Int
        let elements: Int
        let quantizeElements: Int?
        let quantizer: String?
    }
    struct Manifest: Decodable {
        let seed: Int
        let types: [Entry]
    }

    let directory: URL
    let manifest: Manifest

    init() throws {
        guard let dir = Bundle.module.url(forResource: "Vectors", withExtension: nil) else {
            throw XCTSkip("Vectors resource folder missing from the test bundle")
        }
        directory = dir
        manifest = try JSONDecoder().decode(Manifest.self,
                                            from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
    }

    func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(file)))
    }

    /// Little-endian f32 file.
    func floats(_ file: String) throws -> [Float] {
        let b = try bytes(file)
        return stride(from: 0, to: b.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }

    static func type(named name: String) -> GGMLType? {
        GGMLType.allCases.first { $0.description == name }
    }
}

/// Deterministic SplitMix64 for test data.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }
    /// Roughly normal (sum of four uniforms, centred), scaled.
    mutating func gaussianish(_ scale: Float) -> Float {
        (unit() + unit() + unit() + unit() - 2) * scale
    }
    /// `count` floats in blocks of `block`, each block with its own magnitude across a few decades.
    mutating func activations(_ count: Int, block: Int = 32) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var scale: Float = 1
        for i in 0..<count {
            if i % block == 0 { scale = Float(pow(10.0, Double(unit()) * 4 - 2)) }
            out[i] = gaussianish(scale)
        }
        return out
    }
}

/// Bitwise equality, except that any two NaNs match (their payloads depend on the CPU, not on the layout).
func sameFloat(_ a: Float, _ b: Float) -> Bool {
    a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)
}

final class QuantVectorTests: XCTestCase {
    func testManifestCoversEveryTypeWithMatchingGeometry() throws {
        let v = try QuantVectors()
        var seen = Set<GGMLType>()
        for e in v.manifest.types {
            guard let t = QuantVectors.type(named: e.name) else { return XCTFail("unknown type \(e.name)") }
            seen.insert(t)
            XCTAssertEqual(t.rawValue, e.id, "\(e.name) ggml id")
            XCTAssertEqual(t.blockSize, e.blockSize, "\(e.name) block size")
            XCTAssertEqual(t.blockBytes, e.blockBytes, "\(e.name) block bytes")
        }
        XCTAssertEqual(seen, Set(GGMLType.allCases), "vectors for every GGMLType")
    }

    /// Dequantization is bit-exact with gguf.quants for every type, through the dispatcher.
    func testDequantizeBitExactWithGGUF() throws {
        let v = try QuantVectors()
        for e in v.manifest.types {
            guard let t = QuantVectors.type(named: e.name) else { continue }
            let raw = try v.bytes("\(e.name).blocks")
            let want = try v.floats("\(e.name).floats")
            XCTAssertEqual(raw.count, e.elements / e.blockSize * e.blockBytes, "\(e.name) block file size")
            XCTAssertEqual(want.count, e.elements, "\(e.name) float file size")
            var got = [Float](repeating: .nan, count: e.elements)
            raw.withUnsafeBytes { src in
                got.withUnsafeMutableBufferPointer { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    QuantKernels.dequantizeRow(t, s, d, e.elements)
                }
            }
            var mismatches = 0
            for i in 0..<min(want.count, got.count) where !sameFloat(got[i], want[i]) {
                if mismatches < 5 {
                    XCTFail("\(e.name) element \(i) (block \(i / e.blockSize)): got \(got[i]) " +
                            "(0x\(String(got[i].bitPattern, radix: 16))), gguf \(want[i]) " +
                            "(0x\(String(want[i].bitPattern, radix: 16)))")
                }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(e.name): \(mismatches) of \(e.elements) elements differ")
        }
    }

    /// Quantization is bit-exact with gguf.quants (F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and with the numpy
    /// ports of ggml's quantize_row_q8_1_ref / quantize_row_q8_K_ref (Q8_1, Q8_K).
    func testQuantizeBitExact() throws {
        let v = try QuantVectors()
        var checked: [String] = []
        for e in v.manifest.types {
            guard let n = e.quantizeElements, let t = QuantVectors.type(named: e.name) else { continue }
            let src = try v.floats("\(e.name).qsrc")
            let want = try v.bytes("\(e.name).qblocks")
            XCTAssertEqual(src.count, n)
            XCTAssertEqual(want.count, n / t.blockSize * t.blockBytes, "\(e.name) qblocks size")
            var got = [UInt8](repeating: 0xAA, count: want.count)
            var ok = false
            src.withUnsafeBufferPointer { s in
                got.withUnsafeMutableBytes { d in
                    guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                    ok = QuantKernels.quantizeRow(t, sp, dp, n)
                }
            }
            XCTAssertTrue(ok, "\(e.name) has a quantizer")
            for b in 0..<(want.count / t.blockBytes) {
                let r = (b * t.blockBytes)..<((b + 1) * t.blockBytes)
                if Array(got[r]) != Array(want[r]) {
                    XCTFail("\(e.name) block \(b) differs from \(e.quantizer ?? "reference"):\n got  \(Array(got[r]))\n want \(Array(want[r]))")
                }
            }
            checked.append(e.name)
        }
        XCTAssertEqual(Set(checked), ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q8_K"])
    }

    func testDispatcherTables() {
        XCTAssertEqual(QuantKernels.activationType(for: .q4_0), .q8_0)
        XCTAssertEqual(QuantKernels.activationType(for: .q5_0), .q8_0)
        XCTAssertEqual(QuantKernels.activationType(for: .q8_0), .q8_0)
        XCTAssertEqual(QuantKernels.activationType(for: .q4_1), .q8_1)
        XCTAssertEqual(QuantKernels.activationType(for: .q5_1), .q8_1)
        for t in [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K] {
            XCTAssertEqual(QuantKernels.activationType(for: t), .q8_K)
            XCTAssertFalse(QuantKernels.canQuantize(t))
        }
        for t in [GGMLType.f32, .f16, .bf16] { XCTAssertEqual(QuantKernels.activationType(for: t), .f32) }
        for t in GGMLType.allCases { XCTAssertTrue(QuantKernels.canQuantize(QuantKernels.activationType(for: t))) }

        // F32 activations are a plain copy.
        let x: [Float] = [1.5, -0.0, .infinity, Float(bitPattern: 0x0020_0000)]
        var out = [Float](repeating: 0, count: 4)
        x.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBytes { d in
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                QuantKernels.quantizeActivations(.f32, sp, dp, 4)
            }
        }
        XCTAssertEqual(x.map(\.bitPattern), out.map(\.bitPattern))
    }
}
