import HearthTensors
import HearthKernelsAVX2
import HearthKernelsAVX512

/// A token's row and the row count of the matmul llama.cpp would give it (see `matmul(_:_:nTokens:_:pool:placement:)`).
public struct KernelPlacement: Sendable, Equatable {
    public var index: Int32
    public var count: Int32

    public init(index: Int, count: Int) {
        self.index = Int32(truncatingIfNeeded: index)
        self.count = Int32(truncatingIfNeeded: count)
    }

    /// A token computed alone (a decode step of one sequence, a logits row).
    public static let alone = KernelPlacement(index: 0, count: 1)

    /// A valid placement: 0 ≤ index < count.
    public var isValid: Bool { index >= 0 && index < count }
}

/// Which of ggml's row-count-dependent K-quant kernels computes each token of a matmul (ExactQ4K.swift).
struct KQuantClasses {
    let rows: Int
    let nTokens: Int
    let placement: [KernelPlacement]?

    @inline(__always) func place(_ t: Int) -> (index: Int, count: Int) {
        guard let p = placement?[t], p.isValid else { return (t, nTokens) }
        return (Int(p.index), Int(p.count))
    }

    @inline(__always) func q4K(_ t: Int) -> ExactKernels.Q4KKernel {
        let p = place(t)
        return ExactKernels.q4KKernel(token: p.index, nTokens: p.count, rows: rows)
    }

    @inline(__always) func q6KTiled(_ t: Int) -> Bool { ExactKernels.usesTiledKQuant(nTokens: place(t).count) }

    /// Maximal runs of consecutive tokens on the same kernel, with that kernel's code.
    func runs(_ type: GGMLType) -> [(start: Int, end: Int, code: Int)] {
        var out: [(start: Int, end: Int, code: Int)] = []
        for t in 0..<nTokens {
            let code = type == .q4_K ? q4K(t).code : (q6KTiled(t) ? 1 : 0)
            if let last = out.last, last.code == code, last.end == t {
                out[out.count - 1].end = t + 1
            } else {
                out.append((t, t + 1, code))
            }
        }
        return out
    }
}

extension ExactKernels.Q4KKernel {
    var code: Int {
        switch self {
        case .gemm: return 0
        case .gemv: return 1
        case .rowwise: return 2
        case .tiled: return 3
        }
    }

    init(code: Int) {
        self = code == 0 ? .gemm : code == 1 ? .gemv : code == 2 ? .rowwise : .tiled
    }
}

/// Q4_K and Q6_K weights times `acts` (Q8_K, already quantized the way each token's kernel wants): each run of
/// tokens on the same ggml kernel goes to the fastest code for it, every output with that kernel's float steps.
func kQuantMatmul(_ w: TensorView, nTokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool, isa: KernelISA,
                  acts: UnsafeMutableRawPointer, aRow: Int, chunk: Int, classes: KQuantClasses) {
    let k = w.columns, rows = w.rows, rowBytes = w.rowBytes
    let type = w.type, data = w.data
    if isa == .avx512 && classes.placement == nil {
        if type == .q4_K && rows % 8 == 0 {
            let nb = k / 256, gemmTokens = nTokens - nTokens % 4
            let interleaved = rows % Q4KInterleave.rows == 0 ? w.interleavedQ4K : nil
            if gemmTokens > 0 {
                pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 16, rowBytes: rowBytes, nTokens: nTokens)) { t, r0, r1 in
                    avx512ExactGemmQ4K(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: acts,
                                       nTokens: nTokens, gemmTokens: gemmTokens, y: y, yStride: rows,
                                       panel: pool.scratch.threadBuffer(t, bytes: nb * avx512Q4KPanelBytesPerBlock),
                                       interleaved: interleaved)
                }
            } else if let iw = interleaved {
                // 1–3 tokens on the repacked rows: chunks of 16-row groups, each token in turn (the chunk stays in L2).
                let groups = rows / Q4KInterleave.rows
                pool.runChunks(items: groups, grain: pool.grain(rows: groups, align: 1, rowBytes: 16 * rowBytes)) { _, g0, g1 in
                    for tok in 0..<nTokens {
                        avx512ExactGemvQ4KR16(w: iw, k: k, groupStart: g0, groupEnd: g1, act: acts + tok * aRow,
                                              y: y + tok * rows)
                    }
                }
            } else if nTokens == 1 {
                pool.runChunks(items: rows, grain: pool.grain(rows: rows, align: 8, rowBytes: rowBytes), prepare: { t in
                    avx512PrepareQ4KActivation(acts, k: k, pool.scratch.threadBuffer(t, bytes: avx512Q4KActBytes(k: k)))
                }) { t, r0, r1 in
                    avx512ExactGemvQ4K8(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                        actR: pool.scratch.threadBuffer(t, bytes: avx512Q4KActBytes(k: k)), y: y)
                }
            } else {
                pool.run { t, _ in
                    let r0 = min(rows, t * chunk), r1 = min(rows, r0 + chunk)
                    if r0 >= r1 { return }
                    let actR = pool.scratch.threadBuffer(t, bytes: avx512Q4KActBytes(k: k))
                    for tok in 0..<nTokens {
                        avx512PrepareQ4KActivation(acts + tok * aRow, k: k, actR)
                        avx512ExactGemvQ4K8(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, actR: actR,
                                            y: y + tok * rows)
                    }
                }
            }
            return
        }
        if type == .q6_K && ExactKernels.usesTiledKQuant(nTokens: nTokens) {
            let nb = k / 256
            pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { t, r0, r1 in
                avx512ExactGemmQ6K(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: acts,
                                   nTokens: nTokens, y: y, yStride: rows,
                                   panel: pool.scratch.threadBuffer(t, bytes: nb * avx512Q6KPanelBytesPerBlock), tiled: true)
            }
            return
        }
        if type == .q6_K {
            let nb = k / 256
            if nTokens >= 2 {
                pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { t, r0, r1 in
                    avx512ExactGemmQ6K(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: acts,
                                       nTokens: nTokens, y: y, yStride: rows,
                                       panel: pool.scratch.threadBuffer(t, bytes: nb * avx512Q6KPanelBytesPerBlock))
                }
            } else {
                pool.runChunks(items: rows, grain: pool.grain(rows: rows, align: 8, rowBytes: rowBytes)) { _, r0, r1 in
                    avx512ExactGemvQ6KPairs(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, act: acts, y: y)
                }
            }
            return
        }
    }
    let nb = k / 256
    let interleaved = rows % Q4KInterleave.rows == 0 ? w.interleavedQ4K : nil
    for run in classes.runs(type) {
        let t0 = run.start, n = run.end - run.start
        let a = acts + t0 * aRow, yr = y + t0 * rows
        let grain = batchGrain(pool, rows: rows, align: 16, rowBytes: rowBytes, nTokens: n)
        if type == .q4_K {
            let kernel = ExactKernels.Q4KKernel(code: run.code)
            if isa == .avx512 && rows % 8 == 0 {
                if kernel == .gemv && n <= 3, let iw = interleaved {
                    let groups = rows / Q4KInterleave.rows
                    pool.runChunks(items: groups, grain: pool.grain(rows: groups, align: 1, rowBytes: 16 * rowBytes)) { _, g0, g1 in
                        for tok in 0..<n {
                            avx512ExactGemvQ4KR16(w: iw, k: k, groupStart: g0, groupEnd: g1, act: a + tok * aRow,
                                                  y: yr + tok * rows)
                        }
                    }
                } else {
                    pool.runChunks(items: rows, grain: grain) { t, r0, r1 in
                        avx512ExactGemmQ4K(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: a,
                                           nTokens: n, gemmTokens: kernel == .gemm ? n : 0, y: yr, yStride: rows,
                                           panel: pool.scratch.threadBuffer(t, bytes: nb * avx512Q4KPanelBytesPerBlock),
                                           interleaved: interleaved)
                    }
                }
            } else if isa != .scalar {
                pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 1, rowBytes: rowBytes, nTokens: n)) { _, r0, r1 in
                    avx2Q4KRows(k: k, w: data, rowBytes: rowBytes, rowStart: r0, rowEnd: r1, acts: a, aRow: aRow,
                                tokenStart: 0, tokenEnd: n, kernel: kernel.avx2, y: yr, yStride: rows)
                }
            } else {
                pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 1, rowBytes: rowBytes, nTokens: n)) { _, r0, r1 in
                    for r in r0..<r1 {
                        for tok in 0..<n {
                            yr[tok * rows + r] = ExactKernels.dotQ4_K(k, data + r * rowBytes, a + tok * aRow, kernel: kernel)
                        }
                    }
                }
            }
            continue
        }
        let tiled = run.code == 1
        switch isa {
        case .avx512:
            if n == 1 && !tiled {
                pool.runChunks(items: rows, grain: pool.grain(rows: rows, align: 8, rowBytes: rowBytes)) { _, r0, r1 in
                    avx512ExactGemvQ6KPairs(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, act: a, y: yr)
                }
            } else {
                pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: n)) { t, r0, r1 in
                    avx512ExactGemmQ6K(w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: a,
                                       nTokens: n, y: yr, yStride: rows,
                                       panel: pool.scratch.threadBuffer(t, bytes: nb * avx512Q6KPanelBytesPerBlock),
                                       tiled: tiled)
                }
            }
        case .avx2:
            pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 1, rowBytes: rowBytes, nTokens: n)) { _, r0, r1 in
                avx2Q6KRows(k: k, w: data, rowBytes: rowBytes, rowStart: r0, rowEnd: r1, acts: a, aRow: aRow,
                            nTokens: n, tiled: tiled, y: yr, yStride: rows)
            }
        case .scalar:
            pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 1, rowBytes: rowBytes, nTokens: n)) { _, r0, r1 in
                for r in r0..<r1 {
                    for tok in 0..<n {
                        yr[tok * rows + r] = tiled
                            ? ExactKernels.dotKQuantTiled(.q6_K, k, data + r * rowBytes, a + tok * aRow)
                            : ExactKernels.dot(.q6_K, k, data + r * rowBytes, a + tok * aRow)
                    }
                }
            }
        }
    }
}
