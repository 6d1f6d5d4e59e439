import XCTest
import HearthKernels
import HearthTensors

/// Batch invariance of the matmul (issue 6, item 8): token t's output row must have the same bits whether t is
/// multiplied alone (the GEMV path), in a small batch, or in a large one (the GEMM paths), on every kernel path and
/// weight type. A scheduler that runs a request beside others relies on this to give the same tokens and
/// log-probabilities as the request alone.
///
/// Q4_K and Q6_K are the exception, on purpose: to give llama.cpp's exact tokens they follow ggml's x86 kernels,
/// whose arithmetic depends on the batch (Q4_K: repacked GEMM for whole groups of 4 tokens, GEMV for the rest;
/// Q6_K: a tiled kernel from 8 tokens). For them a token's `KernelPlacement` (its place in its own sequence's
/// computation) decides instead, which `testKQuantTokensFollowTheirPlacement` checks.
final class BatchInvarianceTests: XCTestCase {
    static let batchDependentForFidelity: Set<GGMLType> = [.q4_K, .q6_K]

    func testMatmulRowsDoNotDependOnTheBatch() {
        let types = (MatmulTests.quantTypes + MatmulTests.floatTypes).filter {
            !Self.batchDependentForFidelity.contains($0)
        }
        let pool = ThreadPool(threads: 2)
        let k = 512, rows = 40, total = 33
        var failures: [String] = []
        for type in types {
            var rng = MatmulTests.RNG(state: 0xBA7C4 &+ UInt64(type.rawValue))
            let raw = MatmulTests.makeWeights(type, rows: rows, k: k, rng: &rng)
            var x = [Float](repeating: 0, count: total * k)
            for i in x.indices { x[i] = rng.float() * (i % 89 == 0 ? 20 : 2) }
            for isa in KernelISA.supported {
                func run(_ first: Int, _ count: Int) -> [UInt32] {
                    matmulBits(raw, type, k: k, rows: rows, x, first: first, count: count, pool: pool, isa: isa)
                }
                let all = run(0, total)
                // Every token alone, and batches of several sizes starting at several offsets.
                var cases: [(Int, Int)] = (0..<total).map { ($0, 1) }
                cases += [(0, 2), (3, 3), (5, 5), (1, 8), (7, 9), (10, 16), (2, 31)]
                // Every small batch (the decode step of 2…17 streams: the small-batch kernel's tile widths).
                cases += (2...17).map { (total - $0 - $0 % 3, $0) }
                caseLoop: for (first, count) in cases {
                    let part = run(first, count)
                    for t in 0..<count where part[(t * rows)..<((t + 1) * rows)] != all[((first + t) * rows)..<((first + t + 1) * rows)] {
                        failures.append("\(type) \(isa): token \(first + t) in a batch of \(count) differs from a batch of \(total)")
                        break caseLoop
                    }
                }
            }
        }
        XCTAssert(failures.isEmpty, failures.prefix(20).joined(separator: "\n"))
    }

    /// A mixed batch with placements (part of a 10-token piece, three tokens alone, a 9-token and a 12-token
    /// piece) gives each token the bits of a plain matmul of its own piece, on every path, for Q4_K with and
    /// without ggml's repacking (32 and 40 rows) and Q6_K (tiled from 8 rows of the piece, not below).
    func testKQuantTokensFollowTheirPlacement() {
        let pool = ThreadPool(threads: 2)
        let k = 512, pad = 4
        // (first batch token, count, first index in the piece, piece size)
        let groups = [(0, 6, 4, 10), (6, 1, 0, 1), (7, 1, 0, 1), (8, 1, 0, 1), (9, 9, 0, 9), (18, 12, 0, 12)]
        let total = 30
        var placement: [KernelPlacement] = []
        for (_, count, first, size) in groups {
            for i in 0..<count { placement.append(KernelPlacement(index: first + i, count: size)) }
        }
        var failures: [String] = []
        for (type, rows) in [(GGMLType.q4_K, 32), (.q4_K, 40), (.q6_K, 40)] {
            var rng = MatmulTests.RNG(state: 0x91AC3 &+ UInt64(rows))
            let raw = MatmulTests.makeWeights(type, rows: rows, k: k, rng: &rng)
            var x = [Float](repeating: 0, count: (pad + total) * k)
            for i in x.indices { x[i] = rng.float() * (i % 89 == 0 ? 20 : 2) }
            for isa in KernelISA.supported {
                func run(_ first: Int, _ count: Int, _ place: [KernelPlacement]?) -> [UInt32] {
                    matmulBits(raw, type, k: k, rows: rows, x, first: first, count: count, pool: pool, isa: isa,
                               placement: place)
                }
                let mixed = run(pad, total, placement)
                for (start, count, first, size) in groups {
                    let own = run(pad + start - first, size, nil)
                    for i in 0..<count where mixed[((start + i) * rows)..<((start + i + 1) * rows)]
                        != own[((first + i) * rows)..<((first + i + 1) * rows)] {
                        failures.append("\(type) \(rows) rows \(isa): token \(start + i) (row \(first + i) of \(size))")
                    }
                }
            }
        }
        XCTAssert(failures.isEmpty, failures.prefix(20).joined(separator: "\n"))
    }
}

/// The output bits of `matmul` of `raw` (`rows` × `k` of `type`) with tokens `first..<first+count` of `x`.
private func matmulBits(_ raw: [UInt8], _ type: GGMLType, k: Int, rows: Int, _ x: [Float], first: Int, count: Int,
                        pool: ThreadPool, isa: KernelISA, placement: [KernelPlacement]? = nil) -> [UInt32] {
    var y = [Float](repeating: .nan, count: rows * count)
    raw.withUnsafeBytes { w in
        let view = TensorView(name: "w", type: type, shape: [k, rows], data: w.baseAddress!, byteCount: w.count)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { yp in
                matmul(view, xs.baseAddress! + first * k, nTokens: count, yp.baseAddress!, pool: pool, isa: isa,
                       placement: placement)
            }
        }
    }
    return y.map(\.bitPattern)
}
