import Foundation
import HearthFormats
import HearthTensors
import XCTest

/// Files written by other implementations: the `gguf` Python package, and a real llama.cpp-quantized model.
final class GGUFReferenceTests: XCTestCase {
    /// Runs scripts/make-reference-gguf.py (gguf-py's GGUFWriter) and reads its output.
    func testReadsFileWrittenByPythonGGUF() throws {
        let out = temporaryPath("python.gguf")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("scripts/make-reference-gguf.py").path, out]
        let stderr = Pipe()
        p.standardError = stderr
        try p.run()
        p.waitUntilExit()
        let err = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            XCTFail("scripts/make-reference-gguf.py failed (needs python3 with `pip install gguf numpy`): \(err)")
            return
        }
        let f = try GGUFFile(path: out)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.architecture, "llama")
        XCTAssertEqual(f.metadataKeys, ["general.architecture", "general.name", "t.u8", "t.i8", "t.u16", "t.i16",
                                        "t.u32", "t.i32", "t.u64", "t.i64", "t.f32", "t.f64", "t.bool", "t.str",
                                        "t.strs", "t.ints", "t.floats", "llama.block_count"])
        XCTAssertEqual(f.metadata("t.u8"), .uint8(200))
        XCTAssertEqual(f.metadata("t.i8"), .int8(-100))
        XCTAssertEqual(f.metadata("t.u16"), .uint16(60000))
        XCTAssertEqual(f.metadata("t.i16"), .int16(-30000))
        XCTAssertEqual(f.metadata("t.u32"), .uint32(4_000_000_000))
        XCTAssertEqual(f.metadata("t.i32"), .int32(-2_000_000_000))
        XCTAssertEqual(f.metadata("t.u64"), .uint64(1 << 63 + 5))
        XCTAssertEqual(f.metadata("t.i64"), .int64(-(1 << 62)))
        XCTAssertEqual(f.metadata("t.f32"), .float32(1.5))
        XCTAssertEqual(f.metadata("t.f64"), .float64(-2.25))
        XCTAssertEqual(f.metadata("t.bool"), .bool(true))
        XCTAssertEqual(try f.string("t.str"), "héllo ✓")
        XCTAssertEqual(try f.stringArray("t.strs"), ["a", "", "ĠGG"])
        XCTAssertEqual(try f.intArray("t.ints"), [1, 2, 3])
        XCTAssertEqual(try f.floatArray("t.floats"), [0.5, -1])
        XCTAssertEqual(try f.int("llama.block_count"), 2)

        XCTAssertEqual(f.tensors.map(\.name), ["f32", "f16", "q4_0"])
        let t32 = try XCTUnwrap(f.tensor("f32"))
        XCTAssertEqual(t32.type, .f32)
        XCTAssertEqual(t32.shape, [4, 3])
        let floats = (0..<12).map { t32.data.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        XCTAssertEqual(floats, (0..<12).map { Float($0) - 3 })
        let t16 = try XCTUnwrap(f.tensor("f16"))
        XCTAssertEqual(t16.type, .f16)
        XCTAssertEqual(t16.shape, [2])
        XCTAssertEqual(halfToFloat(t16.data.loadUnaligned(fromByteOffset: 2, as: UInt16.self)), -2)
        let q = try XCTUnwrap(f.tensor("q4_0"))
        XCTAssertEqual(q.type, .q4_0)
        XCTAssertEqual(q.shape, [64, 1])
        XCTAssertEqual(q.byteCount, 36)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: q.data, count: 36)), (0..<36).map { UInt8($0) })
    }

    /// The real SmolLM2-135M model (fetched by scripts/fetch-model), checked against what gguf-py reports.
    func testReadsSmolLM2() throws {
        let path = repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run scripts/fetch-model to download SmolLM2-135M-Instruct.Q4_1.gguf")
            return
        }
        let start = Date()
        let f = try GGUFFile(path: path)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 0.5, "parsing the model took \(elapsed) s")
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.architecture, "llama")
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(f.metadataKeys.count, 33)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.dataOffset, 1_785_664)
        XCTAssertEqual(f.fileSize, 98_362_432)
        XCTAssertEqual(try f.stringArray("tokenizer.ggml.tokens").count, 49152)
        XCTAssertEqual(try f.intArray("tokenizer.ggml.token_type").count, 49152)
        XCTAssertEqual(try f.stringArray("tokenizer.ggml.merges").count, 48900)
        XCTAssertEqual(try f.int("llama.block_count"), 30)
        XCTAssertEqual(try f.int("llama.embedding_length"), 576)
        XCTAssertGreaterThan(try f.float("llama.attention.layer_norm_rms_epsilon"), 0)
        XCTAssertEqual(try f.bool("tokenizer.ggml.add_bos_token"), false)
        XCTAssertNotNil(try f.stringIfPresent("tokenizer.chat_template"))

        let emb = try XCTUnwrap(f.tensor("token_embd.weight"))
        XCTAssertEqual(emb.type, .q8_0)
        XCTAssertEqual(emb.shape, [576, 49152])
        XCTAssertEqual(emb.byteCount, 30_081_024)
        XCTAssertEqual(f.tensorFileOffset("token_embd.weight"), 1_785_664)
        let down = try XCTUnwrap(f.tensor("blk.0.ffn_down.weight"))
        XCTAssertEqual(down.type, .q4_1)
        XCTAssertEqual(down.shape, [1536, 576])
        XCTAssertEqual(down.byteCount, 552_960)
        XCTAssertEqual(f.tensorFileOffset("blk.0.ffn_down.weight"), 31_868_992)
        let norm = try XCTUnwrap(f.tensor("output_norm.weight"))
        XCTAssertEqual(norm.type, .f32)
        XCTAssertEqual(norm.shape, [576])
        XCTAssertEqual(f.tensors.last?.name, "output_norm.weight")
    }
}
