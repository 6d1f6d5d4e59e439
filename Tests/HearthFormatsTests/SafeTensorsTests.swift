import Foundation
import HearthFormats
import HearthTensors
import XCTest

/// Builds SafeTensors bytes from a header JSON string and a data section, so tests can write files no correct
/// writer would produce.
func safetensorsBytes(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = declaredLength ?? UInt64(h.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + data
}

/// Little-endian bytes of floats.
func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt32($0))) } } }

final class SafeTensorsTests: XCTestCase {
    /// A header padded with spaces to a multiple of 8 bytes, as the reference writer pads it.
    func padded(_ s: String) -> String { s + String(repeating: " ", count: (8 - s.utf8.count % 8) % 8) }

    func parse(_ bytes: [UInt8]) throws -> SafeTensorsFile {
        try SafeTensorsFile(mapped: MappedFile(copying: bytes, name: "bad.safetensors"))
    }

    func assertRejects(_ bytes: [UInt8], _ kind: SafeTensorsError.Kind, mentions: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            let f = try parse(bytes)
            XCTFail("expected \(kind), parsed \(f.entries.count) tensors", file: file, line: line)
        } catch let e as SafeTensorsError {
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains("bad.safetensors"), "\(e)", file: file, line: line)
            for m in mentions { XCTAssertTrue(e.description.contains(m), "'\(e)' should mention '\(m)'", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    func testValidFileGivesZeroCopyViewsWithReversedShape() throws {
        let header = padded(#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"ids":{"dtype":"I64","shape":[2],"data_offsets":[24,40]},"h":{"dtype":"F16","shape":[2],"data_offsets":[40,44]},"q":{"dtype":"I8","shape":[4],"data_offsets":[44,48]}}"#)
        let data = floatBytes([1, 2, 3, 4, 5, 6]) + [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]
            + [0x00, 0x3C, 0x00, 0xC0] + [1, 2, 0xFF, 4]
        let f = try parse(safetensorsBytes(header: header, data: data))
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.entries.map(\.name), ["w", "ids", "h", "q"])
        let w = try XCTUnwrap(f.view("w"))
        XCTAssertEqual(w.type, .f32)
        XCTAssertEqual(w.shape, [3, 2])
        XCTAssertEqual(w.rows, 2)
        let p = w.row(1).assumingMemoryBound(to: Float.self)
        XCTAssertEqual([p[0], p[1], p[2]], [4, 5, 6])
        // Zero copy: the view points into the file's bytes.
        XCTAssertEqual(w.data, f.mapped.bytes.baseAddress.map { UnsafeRawPointer($0) + 8 + header.utf8.count })
        let h = try XCTUnwrap(f.view("h"))
        XCTAssertEqual(h.type, .f16)
        XCTAssertEqual(halfToFloat(h.data.load(fromByteOffset: 2, as: UInt16.self)), -2)
        // I8/I64 are read and validated but not computed with.
        XCTAssertNil(f.view("q"))
        let q = try XCTUnwrap(f.entry("q"))
        XCTAssertEqual(q.dtype, .i8)
        XCTAssertEqual(f.bytes(of: q).map { Int8(bitPattern: $0) }, [1, 2, -1, 4])
        XCTAssertEqual(f.entry("ids")?.dtype, .i64)
    }

    func testHugeHeaderLength() {
        assertRejects(safetensorsBytes(header: "{}", data: [], declaredLength: UInt64.max), .headerTooLarge, mentions: ["header length"])
        assertRejects(safetensorsBytes(header: "{}", data: [], declaredLength: 200_000_000), .headerTooLarge)
    }

    func testHeaderLongerThanFile() {
        assertRejects(safetensorsBytes(header: "{}", data: [], declaredLength: 1000), .truncated, mentions: ["1000"])
        assertRejects([1, 2, 3], .truncated, mentions: ["at least 8"])
    }

    func testBadJSON() {
        assertRejects(safetensorsBytes(header: #"{"w": {"dtype": "F32""#, data: []), .badJSON, mentions: ["not valid JSON"])
        assertRejects(safetensorsBytes(header: "[1,2]", data: []), .badJSON, mentions: ["an array"])
        assertRejects(safetensorsBytes(header: #"{"w": 3}"#, data: []), .invalidField, mentions: ["tensor 'w'"])
        assertRejects(safetensorsBytes(header: #"{"__metadata__": {"a": 1}}"#, data: []), .invalidField, mentions: ["__metadata__"])
    }

    /// Nesting deep enough to overflow a naive recursive parser's stack is a JSON error, not a crash.
    func testDeeplyNestedHeader() {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        assertRejects(safetensorsBytes(header: deep, data: []), .badJSON)
        let deepObject = #"{"w":"# + String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_001)
        assertRejects(safetensorsBytes(header: deepObject, data: []), .badJSON)
    }

    func testUnknownDType() {
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      .unknownDType, mentions: ["tensor 'w' dtype", "F17"])
    }

    func testMissingOrMistypedFields() {
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      .invalidField, mentions: ["tensor 'w' shape"])
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: [0, 0, 0, 0]),
                      .invalidField, mentions: ["data_offsets"])
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":["a"],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      .invalidField, mentions: ["shape"])
    }

    func testOffsetsOutsideTheFile() {
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0]),
                      .outOfBounds, mentions: ["tensor 'w' data_offsets", "4 bytes"])
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: [0, 0, 0, 0, 0, 0, 0, 0]),
                      .outOfBounds)
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: [0, 0, 0, 0]),
                      .outOfBounds)
    }

    func testShapeSizeMismatch() {
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
                      .sizeMismatch, mentions: ["tensor 'w'", "needs 12"])
    }

    func testNegativeAndOverflowingShapes() {
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      .invalidShape, mentions: ["negative"])
        assertRejects(safetensorsBytes(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                      .invalidShape, mentions: ["overflows"])
    }

    func testOverlappingRanges() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertRejects(safetensorsBytes(header: padded(header), data: Array(repeating: 0, count: 12)), .overlap, mentions: ["'a'", "'b'"])
    }

    func testMisalignedData() {
        // Header of 3 bytes of padding short of a multiple of 4: data starts at an odd file offset.
        let header = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}"#
        let h = padded(header)
        assertRejects(safetensorsBytes(header: h, data: Array(repeating: 0, count: 5)), .misaligned, mentions: ["aligned"])
    }

    /// Random byte flips and truncations of a valid file: each parse either succeeds or throws SafeTensorsError.
    func testRandomCorruptionsNeverCrash() throws {
        let header = padded(#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}}"#)
        let good = safetensorsBytes(header: header, data: Array(repeating: 7, count: 32))
        var rng = SystemRandomNumberGenerator()
        var rejected = 0
        for i in 0..<3000 {
            var bytes = good
            if i % 5 == 0 {
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<min(bytes.count, 8 + header.utf8.count), using: &rng)
                    bytes[at] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            do {
                let f = try parse(bytes)
                for e in f.entries { _ = f.view(e.name); _ = f.bytes(of: e).reduce(0, { $0 &+ $1 }) }
            } catch is SafeTensorsError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 1000)
    }

    func testShardedIndex() throws {
        let dir = temporaryPath("shards")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = safetensorsBytes(header: padded(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#), data: floatBytes([1, 2]))
        let b = safetensorsBytes(header: padded(#"{"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#), data: floatBytes([3]))
        FileManager.default.createFile(atPath: dir + "/model-00001-of-00002.safetensors", contents: Data(a))
        FileManager.default.createFile(atPath: dir + "/model-00002-of-00002.safetensors", contents: Data(b))
        let index = #"{"metadata":{"total_size":12},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(index.utf8))
        let w = try SafeTensorsWeights(directory: dir, metadata: [("general.architecture", .string("bert"))])
        XCTAssertEqual(w.files.count, 2)
        XCTAssertEqual(w.tensor("y")?.data.load(as: Float.self), 3)
        XCTAssertEqual(w.tensor("x")?.shape, [2])
        XCTAssertEqual(w.metadata("general.architecture"), .string("bert"))
        XCTAssertEqual(w.tensors.count, 2)

        // A weight map naming a tensor its shard lacks, or a path outside the directory, is rejected.
        let wrong = #"{"weight_map":{"x":"model-00002-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(wrong.utf8))
        XCTAssertThrowsError(try SafeTensorsWeights(directory: dir)) { XCTAssertTrue("\($0)".contains("weight_map 'x'"), "\($0)") }
        let climbing = #"{"weight_map":{"x":"../etc/passwd"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(climbing.utf8))
        XCTAssertThrowsError(try SafeTensorsWeights(directory: dir)) { XCTAssertTrue("\($0)".contains("not a plain file name"), "\($0)") }
        // The same tensor in two shards.
        FileManager.default.createFile(atPath: dir + "/model-00002-of-00002.safetensors", contents: Data(a))
        let both = #"{"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(both.utf8))
        XCTAssertThrowsError(try SafeTensorsWeights(directory: dir))
    }

    /// The real all-MiniLM-L6-v2 directory (scripts/fetch-model minilm).
    func testMiniLMDirectory() throws {
        let path = repoRoot.appendingPathComponent("models/all-MiniLM-L6-v2").path
        XCTAssertTrue(HFModelDirectory.isModelDirectory(path), "run scripts/fetch-model minilm")
        let dir = try HFModelDirectory(path: path)
        XCTAssertEqual(dir.modelType, "bert")
        XCTAssertEqual(dir.pooling, .mean)
        XCTAssertTrue(dir.normalize)
        XCTAssertEqual(dir.maxSequenceLength, 256)
        XCTAssertEqual(dir.metadata("bert.embedding_length")?.intValue, 384)
        XCTAssertEqual(dir.metadata("bert.block_count")?.intValue, 6)
        let emb = try XCTUnwrap(dir.tensor("embeddings.word_embeddings.weight"))
        XCTAssertEqual(emb.shape, [384, 30522])
        XCTAssertEqual(dir.weights.entry("embeddings.position_ids")?.dtype, .i64)
        XCTAssertEqual(dir.weights.files[0].entries.count, 104)
    }
}
