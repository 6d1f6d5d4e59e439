import XCTest
import HearthKernels
import HearthTensors

/// Every kernel path (scalar, AVX2, AVX-512 — those this CPU supports) of `matmul` against the scalar references
/// (`QuantKernels.quantizeActivations` + `vecDotReference`) on random weights and activations.
///
/// Tolerance: |y − ref| ≤ tol·Σ_e |w_e·x_e| + 1e-6 with tol = 2e-5 (float summation order only: the integer
/// sums per 16/32 elements are exact and the activations are quantized to the same int8 values and scales as the
/// reference quantizers). For Q4_1/Q5_1 the reference's min term uses fp16(d·Σq) per block where the kernels use
/// the unrounded product: tol = 2e-3 there (≤ 2^-11 relative on the min term).
final class MatmulTests: XCTestCase {
    struct RNG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var z = state
            z = (z ^ (z >> 33)) &* 0xff51afd7ed558ccd
            return z ^ (z >> 29)
        }
        mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    static let quantTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    static let floatTypes: [GGMLType] = [.f32, .f16, .bf16]

    /// Random weight matrix bytes: quantizable types through the reference quantizer, K-quants as random bits
    /// with their fp16 scale fields set to small finite values.
    static func makeWeights(_ type: GGMLType, rows: Int, k: Int, rng: inout RNG) -> [UInt8] {
        let rowBytes = type.byteCount(elements: k)!
        var raw = [UInt8](repeating: 0, count: rows * rowBytes)
        if QuantKernels.canQuantize(type) {
            var x = [Float](repeating: 0, count: k)
            for r in 0..<rows {
                for i in 0..<k { x[i] = rng.float() * (1 + Float(r % 5)) }
                raw.withUnsafeMutableBytes { QuantKernels.quantizeRow(type, x, $0.baseAddress! + r * rowBytes, k) }
            }
            return raw
        }
        for i in raw.indices { raw[i] = rng.byte() }
        let fields: [Int]
        switch type {
        case .q2_K: fields = [80, 82]
        case .q3_K: fields = [108]
        case .q4_K, .q5_K: fields = [0, 2]
        case .q6_K: fields = [208]
        default: fields = []
        }
        for b in 0..<(rows * k / 256) {
            for f in fields {
                let h = floatToHalf(rng.float() * 0.01)
                raw[b * type.blockBytes + f] = UInt8(h & 0xFF)
                raw[b * type.blockBytes + f + 1] = UInt8(h >> 8)
            }
        }
        return raw
    }

    /// Reference output y[t*rows + r] and per-entry magnitude Σ|w·x|.
    static func reference(_ type: GGMLType, _ raw: [UInt8], rows: Int, k: Int, _ x: [Float], tokens: Int)
        -> (y: [Float], mag: [Float]) {
        let rowBytes = type.byteCount(elements: k)!
        let at = QuantKernels.activationType(for: type)
        let aBytes = at.byteCount(elements: k)!
        var aq = [UInt8](repeating: 0, count: aBytes * tokens)
        x.withUnsafeBufferPointer { xs in
            aq.withUnsafeMutableBytes { d in
                for t in 0..<tokens {
                    if at == .q8_0 || at == .q8_1 {
                        // The matmul rounds activations as ggml's x86 quantizers do (127/amax, half to even).
                        ExactKernels.quantizeRow(at, xs.baseAddress! + t * k, d.baseAddress! + t * aBytes, k)
                    } else {
                        QuantKernels.quantizeActivations(at, xs.baseAddress! + t * k, d.baseAddress! + t * aBytes, k)
                    }
                }
            }
        }
        var wf = [Float](repeating: 0, count: rows * k)
        raw.withUnsafeBytes { w in
            wf.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows { QuantKernels.dequantizeRow(type, w.baseAddress! + r * rowBytes, o.baseAddress! + r * k, k) }
            }
        }
        var y = [Float](repeating: 0, count: rows * tokens), mag = y
        raw.withUnsafeBytes { w in
            aq.withUnsafeBytes { a in
                for t in 0..<tokens {
                    for r in 0..<rows {
                        y[t * rows + r] = QuantKernels.vecDotReference(type, k, w.baseAddress! + r * rowBytes,
                                                                       a.baseAddress! + t * aBytes)
                        var m: Float = 0
                        for e in 0..<k { m += abs(wf[r * k + e] * x[t * k + e]) }
                        mag[t * rows + r] = m
                    }
                }
            }
        }
        return (y, mag)
    }

    func check(_ type: GGMLType, k: Int, shapes: [(rows: Int, tokens: Int)], pools: [ThreadPool]) {
        var rng = RNG(state: UInt64(type.rawValue) * 7919 + UInt64(k))
        let tol: Float = (type == .q4_1 || type == .q5_1) ? 2e-3 : 2e-5
        for (rows, tokens) in shapes {
            let raw = Self.makeWeights(type, rows: rows, k: k, rng: &rng)
            var x = [Float](repeating: 0, count: tokens * k)
            for i in x.indices { x[i] = rng.float() * 2 }
            if !x.isEmpty { x[0] = 0 }
            let (ref, mag) = Self.reference(type, raw, rows: rows, k: k, x, tokens: tokens)
            for isa in KernelISA.supported {
                for pool in pools {
                    var y = [Float](repeating: .nan, count: rows * tokens)
                    raw.withUnsafeBytes { w in
                        let view = TensorView(name: "w", type: type, shape: [k, rows], data: w.baseAddress!,
                                              byteCount: w.count)
                        y.withUnsafeMutableBufferPointer { yp in
                            matmul(view, x, nTokens: tokens, yp.baseAddress!, pool: pool, isa: isa)
                        }
                    }
                    var worst: Float = 0, at = 0
                    for i in y.indices {
                        let excess = abs(y[i] - ref[i]) - (tol * mag[i] + 1e-6)
                        if !(excess <= worst) { worst = excess.isNaN ? .infinity : excess; at = i }
                    }
                    XCTAssertLessThanOrEqual(worst, 0, "\(type) \(isa) rows \(rows) tokens \(tokens) k \(k) threads "
                        + "\(pool.threadCount): y[\(at)] = \(y[at]) ref \(ref[at]) mag \(mag[at])")
                }
            }
        }
    }

    static let shapes: [(rows: Int, tokens: Int)] = [(1, 1), (3, 3), (17, 17), (64, 64), (17, 1), (64, 3), (5, 64)]
    lazy var pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]

    func testLegacyQuantTypesOddBlockCount() {
        for type in Self.quantTypes where type.blockSize == 32 {
            check(type, k: 96, shapes: Self.shapes, pools: pools)
        }
    }

    func testLegacyQuantTypesModelWidth() {
        for type in Self.quantTypes where type.blockSize == 32 {
            check(type, k: 576, shapes: [(17, 1), (64, 17), (3, 64)], pools: pools)
        }
    }

    func testKQuantTypes() {
        for type in Self.quantTypes where type.blockSize == 256 {
            check(type, k: 512, shapes: Self.shapes, pools: pools)
        }
    }

    func testFloatTypes() {
        for type in Self.floatTypes {
            check(type, k: 100, shapes: Self.shapes, pools: pools)
            check(type, k: 576, shapes: [(17, 1), (64, 17)], pools: pools)
        }
    }

    func testGetRows() throws {
        var rng = RNG(state: 42)
        let rows = 10
        for type in Self.quantTypes + Self.floatTypes {
            let k = type.blockSize == 256 ? 512 : 96
            let raw = Self.makeWeights(type, rows: rows, k: k, rng: &rng)
            let rowBytes = type.byteCount(elements: k)!
            let ids: [Int32] = [3, 0, 9, 3]
            var out = [Float](repeating: 0, count: ids.count * k)
            var ref = [Float](repeating: 0, count: k)
            try raw.withUnsafeBytes { w in
                let view = TensorView(name: "emb", type: type, shape: [k, rows], data: w.baseAddress!, byteCount: w.count)
                try out.withUnsafeMutableBufferPointer { try getRows(view, ids, $0.baseAddress!) }
                for (i, id) in ids.enumerated() {
                    ref.withUnsafeMutableBufferPointer {
                        QuantKernels.dequantizeRow(type, w.baseAddress! + Int(id) * rowBytes, $0.baseAddress!, k)
                    }
                    for e in 0..<k {
                        XCTAssertEqual(out[i * k + e], ref[e], accuracy: 1e-6 * max(1, abs(ref[e])), "\(type) row \(id)")
                    }
                }
                XCTAssertThrowsError(try out.withUnsafeMutableBufferPointer { try getRows(view, [1, 10], $0.baseAddress!) }) {
                    XCTAssertEqual($0 as? KernelError, .tokenOutOfRange(tensor: "emb", id: 10, rows: rows))
                }
                XCTAssertThrowsError(try out.withUnsafeMutableBufferPointer { try getRows(view, [-1], $0.baseAddress!) })
            }
        }
    }
}

final class ThreadPoolTests: XCTestCase {
    func testEveryThreadRunsOncePerRun() {
        for n in [1, 2, 3] {
            let pool = ThreadPool(threads: n)
            XCTAssertEqual(pool.threadCount, n)
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: n * 8)
            counts.initialize(repeating: 0, count: n * 8)
            defer { counts.deallocate() }
            for _ in 0..<2000 {
                pool.run { t, count in
                    XCTAssertEqual(count, n)
                    counts[t * 8] += 1
                }
            }
            for t in 0..<n { XCTAssertEqual(counts[t * 8], 2000) }
        }
    }

    func testWorkersParkAndWake() {
        let pool = ThreadPool(threads: 2)
        var seen = [0, 0]
        seen.withUnsafeMutableBufferPointer { buf in
            pool.run { t, _ in buf[t] += 1 }
            usleep(100_000)  // past the spin window: the worker parks
            pool.run { t, _ in buf[t] += 1 }
        }
        XCTAssertEqual(seen, [2, 2])
    }

    func testDefaultThreadCountAndISA() {
        XCTAssertGreaterThanOrEqual(ThreadPool.defaultThreadCount, 1)
        XCTAssertTrue(KernelISA.selected.isSupported)
        XCTAssertTrue(KernelISA.supported.contains(.scalar))
        print(KernelISA.summary)
    }
}
