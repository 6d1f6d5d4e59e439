import Foundation
import HearthFormats
import HearthTensors
import XCTest

/// The package root, found from this file's path (Tests/HearthFormatsTests/TestSupport.swift).
let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh path in the temporary directory.
func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("hearth-formats-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)-\(name)")
        .path
}

/// Asserts that parsing `bytes` throws a `GGUFError` of `kind` whose description contains every string in
/// `mentions`, and that it fails fast. Returns the error for further checks.
@discardableResult
func assertRejects(_ bytes: [UInt8], _ kind: GGUFError.Kind, mentions: [String] = [],
                   maxSeconds: Double = 0.5, file: StaticString = #filePath, line: UInt = #line) -> GGUFError? {
    let start = Date()
    do throws(GGUFError) {
        let f = try GGUFFile(bytes: bytes, name: "bad.gguf")
        XCTFail("expected a \(kind) error, but the file parsed with \(f.tensors.count) tensors", file: file, line: line)
        return nil
    } catch {
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, maxSeconds, "rejecting took \(elapsed) s: \(error)", file: file, line: line)
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains("bad.gguf"), "\(error)", file: file, line: line)
        for m in mentions {
            XCTAssertTrue(error.description.contains(m), "'\(error)' should mention '\(m)'", file: file, line: line)
        }
        return error
    }
}

/// Hand-assembles GGUF bytes field by field, so tests can write files no correct writer would produce.
struct RawGGUF {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }
    mutating func rawString(_ b: [UInt8]) { u64(UInt64(b.count)); bytes += b }

    mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        bytes += Array("GGUF".utf8)
        u32(version)
        u64(tensors)
        u64(kvs)
    }

    /// A tensor info record.
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }

    mutating func padTo(_ alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    mutating func zeros(_ n: Int) { bytes += [UInt8](repeating: 0, count: n) }
}

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var s = seed
    var out: [UInt8] = []
    out.reserveCapacity(n)
    while out.count < n {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { out += $0.prefix(n - out.count) }
    }
    return out
}
