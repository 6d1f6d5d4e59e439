import XCTest
@testable import HearthFormats

/// The size limits that keep a hostile GGUF file from turning into a huge allocation (docs/SECURITY.md): a count
/// that fits in the file can still cost far more memory than disk, since every metadata array element becomes a
/// 24-byte `MetadataValue` (1 byte on disk for a u8).
final class GGUFLimitTests: XCTestCase {
    /// A u8 array one element over the limit: rejected before anything is allocated for it.
    func testMetadataArrayElementLimit() {
        let n = GGUFFile.maxMetadataElements + 1
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("tokenizer.ggml.token_type")
        r.u32(9)  // array
        r.u32(0)  // of u8
        r.u64(UInt64(n))
        r.zeros(n)
        assertRejects(r.bytes, .tooLarge, mentions: ["'tokenizer.ggml.token_type'", "array length", "\(n)",
                                                      "at most \(GGUFFile.maxMetadataElements)"], maxSeconds: 2)
    }

    /// The limit is over all arrays together: two arrays of just over half the limit each fail on the second.
    func testMetadataElementLimitCountsAllArrays() {
        let half = GGUFFile.maxMetadataElements / 2 + 1
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 2)
        for key in ["a", "b"] {
            r.string(key)
            r.u32(9)
            r.u32(0)
            r.u64(UInt64(half))
            r.zeros(half)
        }
        assertRejects(r.bytes, .tooLarge, mentions: ["'b'", "\(2 * half) array elements in all"], maxSeconds: 5)
    }

    /// Arrays right at real-vocabulary sizes still parse (gemma3: 262 144 tokens).
    func testLargeRealisticArrayParses() throws {
        let n = 262_144
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string("tokenizer.ggml.token_type")
        r.u32(9)
        r.u32(5)  // int32
        r.u64(UInt64(n))
        r.zeros(4 * n)
        let f = try GGUFFile(bytes: r.bytes, name: "ok.gguf")
        XCTAssertEqual(try f.intArray("tokenizer.ggml.token_type").count, n)
    }

    func testTensorAndPairCountLimits() {
        var r = RawGGUF()
        r.header(tensors: UInt64(GGUFFile.maxTensors + 1), kvs: 0)
        r.zeros(64)
        assertRejects(r.bytes, .tooLarge, mentions: ["tensor_count", "more than the \(GGUFFile.maxTensors)"])
        r = RawGGUF()
        r.header(tensors: 0, kvs: UInt64(GGUFFile.maxMetadataPairs + 1))
        r.zeros(64)
        assertRejects(r.bytes, .tooLarge, mentions: ["metadata_kv_count", "more than the \(GGUFFile.maxMetadataPairs)"])
    }
}
