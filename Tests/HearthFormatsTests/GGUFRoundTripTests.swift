import Foundation
import HearthFormats
import HearthTensors
import XCTest

/// Writer → reader round trips: everything GGUFWriter can express must read back identically.
final class GGUFRoundTripTests: XCTestCase {
    static let allValues: [(String, MetadataValue)] = [
        ("general.architecture", .string("llama")),
        ("t.u8", .uint8(255)), ("t.i8", .int8(-128)), ("t.u16", .uint16(65535)), ("t.i16", .int16(-32768)),
        ("t.u32", .uint32(.max)), ("t.i32", .int32(.min)), ("t.u64", .uint64(.max)), ("t.i64", .int64(.min)),
        ("t.f32", .float32(-0.1)), ("t.f64", .float64(.pi)), ("t.true", .bool(true)), ("t.false", .bool(false)),
        ("t.str", .string("héllo ✓ 🦙")), ("t.empty", .string("")), ("t.nul", .string("a\u{0}b")),
        ("t.arr.u8", .array([.uint8(1), .uint8(2)])), ("t.arr.i8", .array([.int8(-1)])),
        ("t.arr.u16", .array([.uint16(7)])), ("t.arr.i16", .array([.int16(-7)])),
        ("t.arr.u32", .array([.uint32(1), .uint32(.max)])), ("t.arr.i32", .array([.int32(-5), .int32(5)])),
        ("t.arr.u64", .array([.uint64(.max)])), ("t.arr.i64", .array([.int64(.min)])),
        ("t.arr.f32", .array([.float32(1.5), .float32(-.infinity)])), ("t.arr.f64", .array([.float64(2e300)])),
        ("t.arr.bool", .array([.bool(true), .bool(false)])),
        ("t.arr.str", .array([.string("a"), .string(""), .string("Ġtoken")])),
        ("t.arr.empty", .array([])),
        ("t.arr.nested", .array([.array([.int32(1), .int32(2)]), .array([]), .array([.int32(3)])])),
        ("t.arr.nested.mixed", .array([.array([.string("x")]), .array([.float64(1)])])),
        ("t.arr.deep", .array([.array([.array([.array([.uint8(9)])])])])),
    ]

    /// A writer holding every metadata type and one tensor of every tensor type, with random data.
    static func fullWriter() throws -> GGUFWriter {
        var w = GGUFWriter()
        for (k, v) in allValues { try w.addMetadata(k, v) }
        for (i, type) in GGMLType.allCases.enumerated() {
            let shape = [type.blockSize * 2, 3]
            let n = type.byteCount(elements: shape[0] * shape[1]) ?? 0
            try w.addTensor(name: "t.\(type)", type: type, shape: shape, bytes: randomBytes(n, seed: UInt64(i)))
        }
        return w
    }

    func testEveryMetadataTypeAndTensorTypeRoundTrips() throws {
        let w = try Self.fullWriter()
        let bytes = w.serialize()
        let f = try GGUFFile(bytes: bytes, name: "roundtrip.gguf")
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.fileSize, bytes.count)
        XCTAssertEqual(f.dataOffset % 32, 0)
        XCTAssertEqual(f.metadataKeys, Self.allValues.map(\.0))
        for (k, v) in Self.allValues {
            XCTAssertEqual(f.metadata(k), v, k)
        }
        XCTAssertNil(f.metadata("missing"))
        XCTAssertEqual(f.tensors.map(\.name), GGMLType.allCases.map { "t.\($0)" })
        for (i, type) in GGMLType.allCases.enumerated() {
            let t = try XCTUnwrap(f.tensor("t.\(type)"))
            XCTAssertEqual(t.type, type)
            XCTAssertEqual(t.shape, [type.blockSize * 2, 3])
            XCTAssertEqual(t.rows, 3)
            XCTAssertEqual(t.byteCount, 6 * type.blockBytes)
            let got = Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
            XCTAssertEqual(got, randomBytes(t.byteCount, seed: UInt64(i)), "\(type) data")
            let offset = try XCTUnwrap(f.tensorFileOffset(t.name))
            XCTAssertEqual(offset % 32, 0)
            XCTAssertEqual(Array(bytes[offset..<offset + t.byteCount]), got)
        }
        XCTAssertNil(f.tensor("nope"))
        XCTAssertEqual(f.architecture, "llama")
        XCTAssertEqual(f.sourceName, "roundtrip.gguf")
    }

    func testWriteToDiskAndMap() throws {
        let path = temporaryPath("disk.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try Self.fullWriter()
        try w.write(to: path)
        let onDisk = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual([UInt8](onDisk), w.serialize())
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.path, path)
        XCTAssertEqual(f.fileSize, onDisk.count)
        XCTAssertEqual(f.tensors.count, GGMLType.allCases.count)
        XCTAssertEqual(f.metadata("t.arr.nested"), Self.allValues.first { $0.0 == "t.arr.nested" }?.1)
    }

    func testCustomAlignment() throws {
        for alignment in [1, 8, 64, 4096] {
            var w = GGUFWriter()
            try w.addMetadata("general.alignment", .uint32(UInt32(alignment)))
            try w.addTensor(name: "a", shape: [3], floats: [1, 2, 3])
            try w.addTensor(name: "b", shape: [5], floats: [4, 5, 6, 7, 8])
            XCTAssertEqual(w.alignment, alignment)
            let f = try GGUFFile(bytes: w.serialize())
            XCTAssertEqual(f.alignment, alignment)
            XCTAssertEqual(f.dataOffset % alignment, 0)
            for t in f.tensors { XCTAssertEqual((try XCTUnwrap(f.tensorFileOffset(t.name))) % alignment, 0) }
            let b = try XCTUnwrap(f.tensor("b"))
            XCTAssertEqual(b.data.loadUnaligned(fromByteOffset: 16, as: Float.self), 8)
        }
    }

    func testNoTensorsAndEmptyFile() throws {
        var w = GGUFWriter()
        try w.addMetadata("k", .string("v"))
        let f = try GGUFFile(bytes: w.serialize())
        XCTAssertEqual(f.tensors.count, 0)
        XCTAssertEqual(f.dataOffset, f.fileSize)
        let empty = try GGUFFile(bytes: GGUFWriter().serialize())
        XCTAssertEqual(empty.metadataKeys, [])
        XCTAssertEqual(empty.fileSize, 24)
    }

    func testTypedGetters() throws {
        var w = GGUFWriter()
        try w.addMetadata("general.architecture", .string("llama"))
        try w.addMetadata("llama.block_count", .uint32(30))
        try w.addMetadata("llama.context_length", .uint64(8192))
        try w.addMetadata("neg", .int32(-3))
        try w.addMetadata("eps", .float32(1e-5))
        try w.addMetadata("base", .float64(10000))
        try w.addMetadata("flag", .bool(true))
        try w.addMetadata("tokens", .array([.string("a"), .string("b")]))
        try w.addMetadata("types", .array([.int32(1), .int32(3)]))
        try w.addMetadata("scores", .array([.float32(-1.5), .float32(0)]))
        let f = try GGUFFile(bytes: w.serialize(), name: "getters.gguf")
        XCTAssertEqual(try f.int("llama.block_count"), 30)
        XCTAssertEqual(try f.int("llama.context_length"), 8192)
        XCTAssertEqual(try f.int("neg"), -3)
        XCTAssertEqual(try f.float("eps"), 1e-5)
        XCTAssertEqual(try f.float("llama.block_count"), 30)
        XCTAssertEqual(try f.double("base"), 10000)
        XCTAssertEqual(try f.bool("flag"), true)
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.stringArray("tokens"), ["a", "b"])
        XCTAssertEqual(try f.intArray("types"), [1, 3])
        XCTAssertEqual(try f.floatArray("scores"), [-1.5, 0])
        XCTAssertEqual(try f.array("types"), [.int32(1), .int32(3)])
        XCTAssertNil(try f.intIfPresent("absent"))
        XCTAssertNil(try f.stringArrayIfPresent("absent"))
        XCTAssertEqual(try f.intIfPresent("neg"), -3)

        XCTAssertThrowsError(try f.int("absent")) { e in
            let e = e as? GGUFError
            XCTAssertEqual(e?.kind, .missingKey)
            XCTAssertTrue(e?.description.contains("'absent'") ?? false, "\(String(describing: e))")
        }
        XCTAssertThrowsError(try f.int("general.architecture")) { e in
            let e = e as? GGUFError
            XCTAssertEqual(e?.kind, .typeMismatch)
            XCTAssertEqual(e?.offset, f.metadataValueOffset("general.architecture"))
            XCTAssertTrue(e?.description.contains("expected an integer") ?? false, "\(String(describing: e))")
        }
        XCTAssertThrowsError(try f.stringArray("types")) { e in XCTAssertEqual((e as? GGUFError)?.kind, .typeMismatch) }
        XCTAssertThrowsError(try f.int("flag")) { e in XCTAssertEqual((e as? GGUFError)?.kind, .typeMismatch) }
        XCTAssertThrowsError(try f.boolIfPresent("neg")) { e in XCTAssertEqual((e as? GGUFError)?.kind, .typeMismatch) }
    }

    func testWriterRejectsBadInput() throws {
        var w = GGUFWriter()
        try w.addMetadata("a", .uint8(1))
        XCTAssertThrowsError(try w.addMetadata("a", .uint8(2))) { XCTAssertEqual(($0 as? GGUFError)?.kind, .duplicateKey) }
        XCTAssertThrowsError(try w.addMetadata("mixed", .array([.uint8(1), .int8(1)]))) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .invalidValue)
        }
        XCTAssertThrowsError(try w.addMetadata("general.alignment", .uint32(24))) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .invalidValue)
        }
        var deep: MetadataValue = .uint8(0)
        for _ in 0..<(GGUFFile.maxArrayDepth + 1) { deep = .array([deep]) }
        XCTAssertThrowsError(try w.addMetadata("deep", deep)) { XCTAssertEqual(($0 as? GGUFError)?.kind, .nestingTooDeep) }
        try w.addTensor(name: "t", shape: [2], floats: [1, 2])
        XCTAssertThrowsError(try w.addTensor(name: "t", shape: [2], floats: [1, 2])) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .duplicateTensor)
        }
        XCTAssertThrowsError(try w.addTensor(name: "q", type: .q4_0, shape: [16], bytes: [UInt8](repeating: 0, count: 9))) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .invalidShape)
        }
        XCTAssertThrowsError(try w.addTensor(name: "q", type: .q4_0, shape: [32], bytes: [UInt8](repeating: 0, count: 17))) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .invalidValue)
        }
        XCTAssertThrowsError(try w.addTensor(name: "z", shape: [0], floats: [])) {
            XCTAssertEqual(($0 as? GGUFError)?.kind, .invalidShape)
        }
        XCTAssertThrowsError(try GGUFWriter().write(to: "/nonexistent-dir/x.gguf")) { e in
            XCTAssertEqual((e as? GGUFError)?.kind, .io)
            XCTAssertTrue("\(e)".contains("/nonexistent-dir/x.gguf"))
        }
    }

    /// A 49152-entry vocabulary (SmolLM2's size) must parse in well under 100 ms in release builds.
    func testLargeStringArrayParsesFast() throws {
        var w = GGUFWriter()
        let tokens = (0..<49152).map { MetadataValue.string("Ġtok\($0)") }
        try w.addMetadata("tokenizer.ggml.tokens", .array(tokens))
        try w.addMetadata("tokenizer.ggml.token_type", .array((0..<49152).map { .int32(Int32($0 % 6)) }))
        let bytes = w.serialize()
        var best = Double.infinity
        for _ in 0..<3 {
            let start = Date()
            let f = try GGUFFile(bytes: bytes)
            XCTAssertEqual(try f.stringArray("tokenizer.ggml.tokens").count, 49152)
            best = min(best, Date().timeIntervalSince(start))
        }
        XCTAssertLessThan(best, 0.1, "parsing 49k strings took \(best * 1000) ms")
    }
}
