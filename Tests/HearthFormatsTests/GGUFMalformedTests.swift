import Foundation
import HearthFormats
import HearthTensors
import XCTest

/// Broken and hostile files: each must fail with a GGUFError that names the problem, quickly, without a crash
/// or a huge allocation.
final class GGUFMalformedTests: XCTestCase {
    /// A small valid file with strings, arrays and two tensors.
    func smallFile() throws -> (bytes: [UInt8], dataEnd: Int) {
        var w = GGUFWriter()
        try w.addMetadata("general.architecture", .string("llama"))
        try w.addMetadata("n", .uint32(7))
        try w.addMetadata("arr", .array([.string("ab"), .string("c")]))
        try w.addMetadata("nested", .array([.array([.int16(1)])]))
        try w.addTensor(name: "a", shape: [3], floats: [1, 2, 3])
        try w.addTensor(name: "b", type: .q8_0, shape: [32, 2], bytes: randomBytes(68, seed: 1))
        let bytes = w.serialize()
        let f = try GGUFFile(bytes: bytes)
        let b = try XCTUnwrap(f.tensor("b"))
        let end = try XCTUnwrap(f.tensorFileOffset("b")) + b.byteCount
        return (bytes, end)
    }

    /// A file with one tensor info written by hand, data zero-filled to cover `dataBytes`.
    func oneTensor(_ name: String = "w", dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0,
                   dataBytes: Int = 64) -> [UInt8] {
        var r = RawGGUF()
        r.header(tensors: 1, kvs: 0)
        r.tensorInfo(name, dims: dims, type: type, offset: offset)
        r.padTo(32)
        r.zeros(dataBytes)
        return r.bytes
    }

    func testTruncatedAtEveryHeaderByteAndInData() throws {
        let (bytes, dataEnd) = try smallFile()
        let f = try GGUFFile(bytes: bytes)
        var cuts = Array(0...f.dataOffset)
        cuts += [f.dataOffset + 1, f.dataOffset + 11, dataEnd - 40, dataEnd - 1]
        for n in cuts {
            let start = Date()
            XCTAssertThrowsError(try GGUFFile(bytes: Array(bytes.prefix(n)), name: "cut.gguf"), "cut at \(n)") { e in
                guard let e = e as? GGUFError else { return XCTFail("\(e) is not a GGUFError") }
                XCTAssertTrue([.truncated, .tooLarge, .tensorOutOfBounds].contains(e.kind), "cut at \(n): \(e)")
                XCTAssertTrue(e.description.contains("cut.gguf"), "\(e)")
                XCTAssertNotNil(e.offset, "\(e)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 0.1)
        }
        // The same through the mapped-file path.
        for n in [3, 30, f.dataOffset - 1, dataEnd - 1] {
            let path = temporaryPath("cut.gguf")
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes.prefix(n))))
            XCTAssertThrowsError(try GGUFFile(path: path)) { e in
                XCTAssertTrue("\(e)".contains(path), "\(e)")
            }
        }
        let e = assertRejects(Array(bytes.prefix(dataEnd - 1)), .tensorOutOfBounds, mentions: ["'b'", "truncated"])
        XCTAssertNotNil(e)
    }

    func testBadMagicAndVersions() {
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 0)
        var bad = r.bytes
        bad[3] = UInt8(ascii: "X")
        assertRejects(bad, .badMagic, mentions: ["GGUX", "expected \"GGUF\"", "byte 0"])
        assertRejects([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0], .badMagic, mentions: ["\\x7f"])
        for (version, mention) in [(UInt32(1), "obsolete"), (99, "99"), (0, "expected 2 or 3"), (0x0300_0000, "big-endian")] {
            var v = RawGGUF()
            v.header(version: version, tensors: 0, kvs: 0)
            assertRejects(v.bytes, .unsupportedVersion, mentions: [mention, "byte 4"])
        }
        var v2 = RawGGUF()
        v2.header(version: 2, tensors: 0, kvs: 0)
        XCTAssertEqual(try GGUFFile(bytes: v2.bytes).version, 2)
        assertRejects([], .truncated, mentions: ["empty"])
    }

    func testHugeCountsAndLengthsFailFast() {
        let huge: UInt64 = 1 << 60
        var r = RawGGUF()
        r.header(tensors: huge, kvs: 0)
        assertRejects(r.bytes, .tooLarge, mentions: ["tensor_count", "\(huge)", "byte 8"], maxSeconds: 0.05)

        r = RawGGUF()
        r.header(tensors: 0, kvs: huge)
        assertRejects(r.bytes, .tooLarge, mentions: ["kv_count", "byte 16"], maxSeconds: 0.05)

        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.u64(huge)  // key length
        r.zeros(16)
        assertRejects(r.bytes, .tooLarge, mentions: ["string length \(huge)", "byte 24"], maxSeconds: 0.05)

        for elementType: UInt32 in [0, 8, 9, 12] {
            r = RawGGUF()
            r.header(tensors: 0, kvs: 1)
            r.string("tokens")
            r.u32(9)  // array
            r.u32(elementType)
            r.u64(huge)
            r.zeros(64)
            assertRejects(r.bytes, .tooLarge, mentions: ["'tokens'", "array length", "\(huge)"], maxSeconds: 0.05)
        }

        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("s")
        r.u32(8)  // string
        r.u64(UInt64.max)
        assertRejects(r.bytes, .tooLarge, mentions: ["'s'"], maxSeconds: 0.05)

        assertRejects(oneTensor(dims: [2], offset: UInt64.max), .tensorOutOfBounds, mentions: ["'w'"])
    }

    func testTensorTypeAndShapeErrors() {
        assertRejects(oneTensor("blk.0.x", dims: [32], type: 16), .unsupportedTensorType,
                      mentions: ["'blk.0.x'", "16", "IQ2_XXS"])
        assertRejects(oneTensor(dims: [32], type: 1000), .unsupportedTensorType, mentions: ["'w'", "1000"])
        assertRejects(oneTensor(dims: [2, 2, 2, 2, 2]), .invalidShape, mentions: ["n_dims is 5", "1...4"])
        assertRejects(oneTensor(dims: []), .invalidShape, mentions: ["n_dims is 0"])
        assertRejects(oneTensor(dims: [4, 0]), .invalidShape, mentions: ["dim 1", "positive"])
        assertRejects(oneTensor(dims: [4, UInt64(bitPattern: -3)]), .invalidShape, mentions: ["-3"])
        assertRejects(oneTensor(dims: [1 << 32, 1 << 32, 1 << 32]), .invalidShape, mentions: ["overflow"])
        assertRejects(oneTensor(dims: [1 << 61]), .invalidShape, mentions: ["byte size", "overflow"])  // 2^61 F32 = 2^63 bytes
        assertRejects(oneTensor(dims: [16, 2], type: 2), .invalidShape, mentions: ["block size 32"])
        assertRejects(oneTensor(dims: [8], offset: 16), .misalignedTensor, mentions: ["16", "alignment 32"])
        assertRejects(oneTensor(dims: [17], offset: 0, dataBytes: 64), .tensorOutOfBounds, mentions: ["'w'"])
        assertRejects(oneTensor(dims: [4], offset: 64, dataBytes: 64), .tensorOutOfBounds, mentions: ["'w'"])
        XCTAssertNoThrow(try GGUFFile(bytes: oneTensor(dims: [4], offset: 32, dataBytes: 64)))
    }

    func testOverlappingAndDuplicateTensors() {
        var r = RawGGUF()
        r.header(tensors: 2, kvs: 0)
        r.tensorInfo("first", dims: [16], type: 0, offset: 32)
        r.tensorInfo("second", dims: [16], type: 0, offset: 0)  // [0, 64) overlaps [32, 96)
        r.padTo(32)
        r.zeros(128)
        assertRejects(r.bytes, .overlappingTensors, mentions: ["'first'", "'second'"])

        r = RawGGUF()
        r.header(tensors: 2, kvs: 0)
        r.tensorInfo("same", dims: [4], type: 0, offset: 0)
        r.tensorInfo("same", dims: [4], type: 0, offset: 32)
        r.padTo(32)
        r.zeros(64)
        assertRejects(r.bytes, .duplicateTensor, mentions: ["'same'"])
    }

    func testMetadataErrors() {
        // Duplicate key.
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 2)
        for _ in 0..<2 { r.string("k"); r.u32(4); r.u32(1) }
        assertRejects(r.bytes, .duplicateKey, mentions: ["'k'", "byte 41"])

        // Unknown value type, at top level and as an array element type.
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("k"); r.u32(13); r.u32(0)
        assertRejects(r.bytes, .invalidValue, mentions: ["'k'", "13"])
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("k"); r.u32(9); r.u32(77); r.u64(0)
        assertRejects(r.bytes, .invalidValue, mentions: ["'k'", "77"])

        // Invalid UTF-8 in a key, a value, an array element and a tensor name.
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.rawString([0x61, 0xff]); r.u32(0); r.u8(0)
        assertRejects(r.bytes, .invalidUTF8, mentions: ["key", "byte 32"])
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("k"); r.u32(8); r.rawString([0xc3, 0x28])
        assertRejects(r.bytes, .invalidUTF8, mentions: ["'k'"])
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("k"); r.u32(9); r.u32(8); r.u64(2); r.string("ok"); r.rawString([0xed, 0xa0, 0x80])  // surrogate
        assertRejects(r.bytes, .invalidUTF8, mentions: ["'k'", "element 1"])
        r = RawGGUF()
        r.header(tensors: 1, kvs: 0)
        r.rawString([0x80]); r.u32(1); r.u64(4); r.u32(0); r.u64(0)
        r.padTo(32); r.zeros(32)
        assertRejects(r.bytes, .invalidUTF8, mentions: ["tensor info 0 name"])

        // Arrays nested too deep: 10,000 levels must not recurse the stack away.
        r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("deep"); r.u32(9)
        for _ in 0..<10_000 { r.u32(9); r.u64(1) }
        r.u32(0); r.u64(0)
        assertRejects(r.bytes, .nestingTooDeep, mentions: ["'deep'", "\(GGUFFile.maxArrayDepth)"])

        // general.alignment must be a nonzero power of two integer.
        for bad: (UInt32, [UInt8]) in [(4, [0, 0, 0, 0]), (4, [3, 0, 0, 0]), (4, [48, 0, 0, 0]), (7, [1]), (8, [])] {
            r = RawGGUF()
            r.header(tensors: 0, kvs: 1)
            r.string("general.alignment"); r.u32(bad.0)
            if bad.0 == 8 { r.string("32") } else { r.bytes += bad.1 }
            assertRejects(r.bytes, .invalidValue, mentions: ["general.alignment", "power of two"])
        }
    }

    func testUnopenableFiles() {
        let missing = "/nonexistent/model.gguf"
        XCTAssertThrowsError(try GGUFFile(path: missing)) { e in
            XCTAssertEqual((e as? GGUFError)?.kind, .io)
            XCTAssertTrue("\(e)".contains(missing) && "\(e)".contains("open"), "\(e)")
        }
        let dir = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try GGUFFile(path: dir)) { e in
            XCTAssertEqual((e as? GGUFError)?.kind, .io)
            XCTAssertTrue("\(e)".contains("regular file"), "\(e)")
        }
        XCTAssertThrowsError(try MappedFile(path: missing)) { e in
            XCTAssertTrue(e is MappedFileError)
            XCTAssertTrue("\(e)".contains(missing), "\(e)")
        }
        let empty = temporaryPath("empty.gguf")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try GGUFFile(path: empty)) { e in
            XCTAssertEqual((e as? GGUFError)?.kind, .truncated)
            XCTAssertTrue("\(e)".contains(empty), "\(e)")
        }
    }

    /// Random byte flips in the header must never crash; each either parses or throws a GGUFError.
    func testRandomCorruptionNeverCrashes() throws {
        let (bytes, _) = try smallFile()
        let f = try GGUFFile(bytes: bytes)
        let noise = randomBytes(4000, seed: 42)
        for i in 0..<1000 {
            var b = bytes
            let pos = Int(noise[4 * i]) | Int(noise[4 * i + 1]) << 8
            b[pos % f.dataOffset] = noise[4 * i + 2]
            b[Int(noise[4 * i + 3]) % f.dataOffset] ^= 0xff
            _ = try? GGUFFile(bytes: b)
        }
    }
}
