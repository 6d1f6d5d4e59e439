#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthTensors
import HearthKernelsAVX2
import HearthKernelsAVX512

// MARK: - Public interface

/// `y[t * w.rows + r] = dot(row r of w, row t of x)` for `t < nTokens`, `r < w.rows`.
///
/// `x` holds `nTokens` contiguous rows of `w.columns` floats. Quantized weights pair with activations quantized
/// once per call, as ggml pairs them (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants);
/// F32/F16/BF16 weights use the float activations as they are. Output rows are split across the pool's threads.
///
/// `placement` (one entry per token) names, for ggml's K-quant kernels that choose their float arithmetic by the
/// number of rows a matmul gets (Q4_K, Q6_K; see ExactQ4K.swift), the row each token would be in the matmul
/// llama.cpp gives it; nil means its row in this call. A scheduler that batches several sequences passes each
/// token's place in its own sequence's computation, so a token's result does not depend on what runs beside it.
public func matmul(_ w: TensorView, _ x: UnsafePointer<Float>, nTokens: Int, _ y: UnsafeMutablePointer<Float>,
                   pool: ThreadPool, placement: [KernelPlacement]? = nil) {
    matmul(w, x, nTokens: nTokens, y, pool: pool, isa: KernelISA.selected, placement: placement)
}

/// `matmul` on a chosen kernel path (tests use it to check every path; an unsupported path traps).
public func matmul(_ w: TensorView, _ x: UnsafePointer<Float>, nTokens: Int, _ y: UnsafeMutablePointer<Float>,
                   pool: ThreadPool, isa: KernelISA, placement: [KernelPlacement]? = nil) {
    // Invariants, not input checks: the GGUF reader rejects shapes that are not whole blocks or exceed the file,
    // and models reject activation types as weights, before any tensor reaches here.
    // (fatalError, not precondition: this module is built with -Ounchecked, which drops preconditions.)
    if !isa.isSupported { fatalError("matmul: kernel path \(isa) is not supported on this CPU") }
    if nTokens < 0 { fatalError("matmul: negative token count \(nTokens)") }
    let k = w.columns, rows = w.rows
    if k % w.type.blockSize != 0 {
        fatalError("matmul: \(w.name): \(k) columns is not a whole number of \(w.type) blocks")
    }
    if nTokens == 0 || rows == 0 { return }
    let rowBytes = w.rowBytes
    if w.byteCount < rows * rowBytes { fatalError("matmul: \(w.name): tensor data shorter than its shape") }
    let threads = pool.threadCount
    // Rows per thread, a multiple of the 4-row tile (the last thread takes what is left).
    let chunk = ((rows + threads - 1) / threads + 3) & ~3

    if let aType = ExactKernels.activationType(for: w.type) {
        exactMatmul(w, x, nTokens: nTokens, y, pool: pool, isa: isa, activation: aType, chunk: chunk,
                    placement: placement?.count == nTokens ? placement : nil)
        return
    }
    switch w.type {
    case .f32, .f16, .bf16:
        let type = w.type, data = w.data
        pool.run { t, _ in
            let r0 = min(rows, t * chunk), r1 = min(rows, r0 + chunk)
            if r0 >= r1 { return }
            switch isa {
            case .avx512:
                avx512FloatMatmul(type: type, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                  x: x, nTokens: nTokens, y: y, yStride: rows)
            case .avx2:
                avx2FloatMatmul(type: type, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                x: x, nTokens: nTokens, y: y, yStride: rows)
            case .scalar:
                scalarFloatMatmul(type: type, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                  x: x, nTokens: nTokens, y: y, yStride: rows)
            }
        }
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
        let kQuant = w.type.blockSize == 256
        let q81 = w.type == .q4_1 || w.type == .q5_1
        let kPad = (k + 63) & ~63
        let scratch = pool.scratch
        let acts = scratch.activations(kPad: kPad, tokens: nTokens)
        // Quantize the activations once: on the caller for a few tokens, split over the threads otherwise.
        let quantize = { (t0: Int, t1: Int) in
            switch isa {
            case .avx512, .avx2:
                avx2QuantizeActivations(x: x, k: k, kPad: kPad, tokenStart: t0, tokenEnd: t1, perBlock256: kQuant, q8_1: q81,
                                        qs: acts.qs, dg: acts.dg, sg: acts.sg)
            case .scalar:
                scalarQuantizeActivations(x: x, k: k, kPad: kPad, tokenStart: t0, tokenEnd: t1, perBlock256: kQuant, q8_1: q81,
                                          qs: acts.qs, dg: acts.dg, sg: acts.sg)
            }
        }
        if nTokens < 8 || threads == 1 {
            quantize(0, nTokens)
        } else {
            pool.run { t, n in
                let per = (nTokens + n - 1) / n
                let t0 = min(nTokens, t * per), t1 = min(nTokens, t0 + per)
                if t0 < t1 { quantize(t0, t1) }
            }
        }
        let type = w.type, data = w.data
        pool.run { t, _ in
            let r0 = min(rows, t * chunk), r1 = min(rows, r0 + chunk)
            if r0 >= r1 { return }
            let panel = scratch.panel(thread: t, kPad: kPad)
            switch isa {
            case .avx512:
                if avx512HasUnpacker(type) {
                    avx512QuantMatmul(type: type, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                      qs: acts.qs, dg: acts.dg, sg: acts.sg, kPad: kPad, nTokens: nTokens,
                                      y: y, yStride: rows, panel: panel)
                } else {
                    for r in stride(from: r0, to: r1, by: 4) {
                        let rn = min(4, r1 - r)
                        for i in 0..<rn {
                            unpackRowToPanel(type, data + (r + i) * rowBytes, k: k, kPad: kPad, signedQ8: false,
                                             panel: panel, slot: i)
                        }
                        avx512PanelMatmul(panel: panel, rows: rn, kPad: kPad, qs: acts.qs, dg: acts.dg,
                                          sg: acts.sg, nTokens: nTokens, y: y + r, yStride: rows)
                    }
                }
            case .avx2:
                for r in stride(from: r0, to: r1, by: 4) {
                    let rn = min(4, r1 - r)
                    for i in 0..<rn {
                        unpackRowToPanel(type, data + (r + i) * rowBytes, k: k, kPad: kPad, signedQ8: true,
                                         panel: panel, slot: i)
                    }
                    avx2PanelMatmul(panel: panel, rows: rn, kPad: kPad, signedWeights: type == .q8_0,
                                    qs: acts.qs, dg: acts.dg, sg: acts.sg, nTokens: nTokens,
                                    y: y + r, yStride: rows)
                }
            case .scalar:
                for r in r0..<r1 {
                    unpackRowToPanel(type, data + r * rowBytes, k: k, kPad: kPad, signedQ8: false,
                                     panel: panel, slot: 0)
                    scalarPanelRowMatmul(panel: panel, kPad: kPad, qs: acts.qs, dg: acts.dg, sg: acts.sg,
                                         nTokens: nTokens, y: y + r, yStride: rows)
                }
            }
        }
    case .q8_1, .q8_K:
        fatalError("matmul: \(w.name): \(w.type) is an activation type, not a weight type")
    }
}

/// Q4_1, Q5_0, Q8_0, Q4_K and Q6_K weights: ggml's own arithmetic, bit for bit (see `ExactKernels`).
private func exactMatmul(_ w: TensorView, _ x: UnsafePointer<Float>, nTokens: Int, _ y: UnsafeMutablePointer<Float>,
                         pool: ThreadPool, isa: KernelISA, activation: GGMLType, chunk: Int,
                         placement: [KernelPlacement]?) {
    let k = w.columns, rows = w.rows, rowBytes = w.rowBytes
    let classes = KQuantClasses(rows: rows, nTokens: nTokens, placement: placement)
    let aRow = k / activation.blockSize * activation.blockBytes
    let acts = pool.scratch.raw(bytes: aRow * nTokens)
    let q81 = activation == .q8_1
    let quantize = { (t0: Int, t1: Int) in
        if w.type == .q4_K && isa == .avx512 {
            for t in t0..<t1 {
                avx512QuantizeQ8K(x + t * k, k: k, positiveTies: classes.q4K(t) == .gemm, acts + t * aRow)
            }
        } else if w.type == .q4_K {
            for t in t0..<t1 {
                if classes.q4K(t) == .gemm {
                    ExactKernels.quantizeRowQ8_KPositiveTies(x + t * k, acts + t * aRow, k)
                } else {
                    quantizeRowQ8_K(x + t * k, acts + t * aRow, k)
                }
            }
        } else if isa == .avx512 && activation == .q8_K {
            for t in t0..<t1 { avx512QuantizeQ8K(x + t * k, k: k, positiveTies: false, acts + t * aRow) }
        } else if isa == .avx512 {
            avx512QuantizeGGML(x, k: k, tokenStart: t0, tokenEnd: t1, q81: q81, acts)
        } else if isa == .avx2 && activation != .q8_K {
            avx2QuantizeGGML(x, k: k, tokenStart: t0, tokenEnd: t1, q81: q81, acts)
        } else {
            for t in t0..<t1 { ExactKernels.quantizeRow(activation, x + t * k, acts + t * aRow, k) }
        }
    }
    // A decode step of up to 31 streams quantizes in a few microseconds: cheaper on the caller than a pool
    // barrier (each matmul call would pay one more).
    if nTokens < 32 || pool.threadCount == 1 {
        quantize(0, nTokens)
    } else {
        pool.run { t, n in
            let per = (nTokens + n - 1) / n
            let t0 = min(nTokens, t * per), t1 = min(nTokens, t0 + per)
            if t0 < t1 { quantize(t0, t1) }
        }
    }
    let type = w.type, data = w.data
    if type == .q4_K || type == .q6_K {
        kQuantMatmul(w, nTokens: nTokens, y, pool: pool, isa: isa, acts: acts, aRow: aRow, chunk: chunk, classes: classes)
        return
    }
    if isa == .avx512 && nTokens >= 2 && nTokens <= SmallBatch.limit(type) {
        smallBatchMatmul(type, data, rowBytes: rowBytes, k: k, rows: rows, acts: acts, q81: q81, nTokens: nTokens,
                         y, pool: pool, chunk: chunk)
        return
    }
    if isa == .avx512 && nTokens >= 2 {
        let nb = k / 32, stride = (nTokens + 3) & ~3
        // Q5_0/Q8_0: the GEMM multiplies (y + 128) unsigned; the activations are flipped once here instead of
        // once per 4-row tile (after the scales, in the same buffer).
        let flip = type != .q4_1
        let scalesFloats = 2 * nb * stride
        let scales = pool.scratch.floats(scalesFloats + (flip ? (aRow * nTokens + 3) / 4 + 16 : 0))
        let gemmActs: UnsafeRawPointer
        if flip {
            let flipped = UnsafeMutableRawPointer(scales + scalesFloats)
            avx512FlipActivationQuants(acts, blocks: nb * nTokens, flipped)
            gemmActs = UnsafeRawPointer(flipped)
        } else {
            gemmActs = UnsafeRawPointer(acts)
        }
        avx512ActivationScales(q81: q81, acts: acts, k: k, nTokens: nTokens, tokenStride: stride,
                               ad: scales, asum: scales + nb * stride)
        for b in 0..<nb {
            for t in nTokens..<stride {  // padding tokens repeat the last one
                scales[b * stride + t] = scales[b * stride + nTokens - 1]
                scales[nb * stride + b * stride + t] = scales[nb * stride + b * stride + nTokens - 1]
            }
        }
        pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { t, r0, r1 in
            avx512ExactGemm(q41: type == .q4_1, q50: type == .q5_0, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                            acts: gemmActs, ad: scales, asum: scales + nb * stride, tokenStride: stride,
                            nTokens: nTokens, y: y, yStride: rows,
                            panel: pool.scratch.threadBuffer(t, bytes: nb * 336))
        }
        return
    }
    if isa == .avx512 && nTokens == 1 {
        let nb = k / 32
        let scales = pool.scratch.floats(2 * nb)
        avx512ActivationScales(q81: q81, acts: acts, k: k, nTokens: 1, tokenStride: 1, ad: scales, asum: scales + nb)
        // Chunks of rows in multiples of 8 (the kernel's pass), claimed by the threads as they go.
        pool.runChunks(items: rows, grain: pool.grain(rows: rows, align: 8, rowBytes: rowBytes)) { _, r0, r1 in
            avx512ExactGemv(q41: type == .q4_1, q50: type == .q5_0, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                            act: acts, ad: scales, asum: scales + nb, y: y)
        }
        return
    }
    if isa != .scalar, let kind: AVX2ExactKind = type == .q4_1 ? .q4_1 : type == .q5_0 ? .q5_0 : type == .q8_0 ? .q8_0 : nil {
        // AVX2 (AVX-512 has returned above for every exact type): rows claimed in chunks as they go.
        let nb = k / 32
        // From 5 tokens: eight tokens in the vector lanes (ExactTokenLanes.swift).
        if SmallBatch.tokenLanes(kind) && SmallBatch.maxTokens > 0 && nTokens >= 5 {
            avx2TokenLaneMatmul(kind, data, rowBytes: rowBytes, rows: rows, k: k, acts, aRow: aRow, nTokens: nTokens,
                                y, pool: pool)
            return
        }
        // Q5_0: after the scales, the activations' offsets for the unsigned form of the dot (avx2Q50Offsets),
        // 8 Int32 a block and token, computed once for every row.
        let offsetWords = kind == .q5_0 ? 8 * nb * nTokens : 0
        let scales = pool.scratch.floats(2 * nb * nTokens + offsetWords)
        avx2ActivationScales(q81: q81, acts: acts, k: k, nTokens: nTokens, ad: scales, asum: scales + nb * nTokens)
        var offsets: UnsafePointer<Int32>? = nil
        if offsetWords > 0 {
            let o = UnsafeMutableRawPointer(scales + 2 * nb * nTokens).bindMemory(to: Int32.self, capacity: offsetWords)
            avx2Q50Offsets(acts: acts, aRow: aRow, nb: nb, nTokens: nTokens, out: o)
            offsets = UnsafePointer(o)
        }
        // Tiles of 4 rows (decode) or 2 rows (prefill): chunks in multiples of 4.
        pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { _, r0, r1 in
            avx2ExactMatmul(kind: kind, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: acts,
                            aRow: aRow, ad: scales, asum: scales + nb * nTokens, q50Offsets: offsets, nTokens: nTokens,
                            y: y, yStride: rows)
        }
        return
    }
    pool.run { t, _ in
        let r0 = min(rows, t * chunk), r1 = min(rows, r0 + chunk)
        for r in r0..<r1 {
            for tok in 0..<nTokens {
                y[tok * rows + r] = ExactKernels.dot(type, k, data + r * rowBytes, acts + tok * aRow)
            }
        }
    }
}

/// Q4_1/Q5_0/Q8_0 × 5 or more tokens on AVX2 with eight tokens in the vector lanes (`avx2MatmulTokenLanes`): whole
/// groups of eight, and a last group of 5–7 (fewer would leave most lanes idle); a remainder of 1–4 tokens takes
/// the register tiles. Scratch: the activations' float scales, the regrouped tokens (`avx2TokenLaneFloats` a
/// group), then (Q5_0 only) the remainder's offsets.
private func avx2TokenLaneMatmul(_ kind: AVX2ExactKind, _ data: UnsafeRawPointer, rowBytes: Int, rows: Int, k: Int,
                                 _ acts: UnsafeRawPointer, aRow: Int, nTokens: Int,
                                 _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let nb = k / 32
    let laneTokens = nTokens % 8 >= 5 ? nTokens : nTokens - nTokens % 8
    let groups = (laneTokens + 7) / 8, tail = nTokens - laneTokens
    let groupFloats = avx2TokenLaneFloats(nb: nb)
    let offsetWords = kind == .q5_0 ? 8 * nb * tail : 0
    let buffer = pool.scratch.floats(2 * nb * nTokens + groups * groupFloats + offsetWords)
    let ad = buffer, asum = buffer + nb * nTokens, lanes = buffer + 2 * nb * nTokens
    avx2ActivationScales(q81: kind == .q4_1, acts: acts, k: k, nTokens: nTokens, ad: ad, asum: asum)
    for g in 0..<groups {
        avx2InterleaveTokens(kind: kind, acts: acts, aRow: aRow, nb: nb, tokenStart: 8 * g,
                             count: min(8, laneTokens - 8 * g), ad: ad, asum: asum, group: lanes + g * groupFloats)
    }
    let tailActs = acts + laneTokens * aRow
    var tailOffsets: UnsafePointer<Int32>? = nil
    if offsetWords > 0 {
        let o = UnsafeMutableRawPointer(lanes + groups * groupFloats).bindMemory(to: Int32.self, capacity: offsetWords)
        avx2Q50Offsets(acts: tailActs, aRow: aRow, nb: nb, nTokens: tail, out: o)
        tailOffsets = UnsafePointer(o)
    }
    pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { _, r0, r1 in
        for g in 0..<groups {
            avx2MatmulTokenLanes(kind: kind, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1,
                                 group: lanes + g * groupFloats, count: min(8, laneTokens - 8 * g),
                                 y: y + 8 * g * rows, yStride: rows)
        }
        if tail > 0 {
            avx2ExactMatmul(kind: kind, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, acts: tailActs,
                            aRow: aRow, ad: ad + laneTokens * nb, asum: asum + laneTokens * nb,
                            q50Offsets: tailOffsets, nTokens: tail, y: y + laneTokens * rows, yStride: rows)
        }
    }
}

extension ExactKernels.Q4KKernel {
    /// The same kernel in the AVX2 module's terms.
    var avx2: AVX2Q4KKernel {
        switch self {
        case .gemm: return .gemm
        case .gemv: return .gemv
        case .rowwise: return .rowwise
        case .tiled: return .tiled
        }
    }
}

/// Rows a chunk of a multi-token matmul. A decode step of a few streams computes 2–16 tokens a weight byte, so
/// its chunks are sized by work (bytes × tokens) and cut finer (32 a thread): with byte-sized chunks the last
/// chunk of every matmul left the other thread waiting (≈ 10 % of the caller's time at 8 streams on
/// Qwen2.5-0.5B). Prefill batches keep the byte-sized chunks.
func batchGrain(_ pool: ThreadPool, rows: Int, align: Int, rowBytes: Int, nTokens: Int) -> Int {
    nTokens > SmallBatch.maxTokens
        ? pool.grain(rows: rows, align: align, rowBytes: rowBytes)
        : pool.grain(rows: rows, align: align, rowBytes: rowBytes * nTokens, perThread: 32)
}

/// Where the small-batch kernel (HearthKernelsAVX512/SmallBatch.swift) takes over from the prefill GEMM.
public enum SmallBatch {
    /// Batches of 2…`maxTokens` tokens of Q4_1/Q5_0/Q8_0 weights use the register-tiled small-batch kernel on
    /// AVX-512 (same bits as the GEMM and GEMV: they share ggml's per-dot arithmetic). 0 turns it off, and the
    /// AVX2 token-lane kernel with it (the environment variable `HEARTH_SMALL_BATCH_MAX` sets it at start-up, for
    /// A/B measurements).
    nonisolated(unsafe) public static var maxTokens: Int = {
        if let v = getenv("HEARTH_SMALL_BATCH_MAX"), let n = Int(String(cString: v)), n >= 0 { return n }
        return 16
    }()

    /// Q4_1's own bound: 2–3 tokens. From 4 tokens the prefill GEMM's 4×4 tiles over an unpacked panel do the
    /// same work per dot (measured 0.98–1.05× of this kernel at 4–16 tokens, 1-thread A/B, bench/RESULTS.md);
    /// Q5_0/Q8_0 gain up to 16 tokens (their GEMM pays a sign fix per token that this kernel does not).
    nonisolated(unsafe) public static var maxTokensQ4_1 = 3

    /// Q4_1, Q5_0 and Q8_0 from 5 tokens on AVX2: eight tokens in the vector lanes (`avx2MatmulTokenLanes`)
    /// rather than the register tiles. `HEARTH_Q50_LANES=0` / `HEARTH_Q80_LANES=0` keep the tiles for Q5_0 / Q8_0
    /// (A/B measurements; `HEARTH_SMALL_BATCH_MAX=0` turns off all three).
    nonisolated(unsafe) public static var q50TokenLanes: Bool = getenv("HEARTH_Q50_LANES").map { String(cString: $0) != "0" } ?? true
    nonisolated(unsafe) public static var q80TokenLanes: Bool = getenv("HEARTH_Q80_LANES").map { String(cString: $0) != "0" } ?? true

    static func tokenLanes(_ kind: AVX2ExactKind) -> Bool {
        switch kind {
        case .q4_1: return true
        case .q5_0: return q50TokenLanes
        case .q8_0: return q80TokenLanes
        }
    }

    /// The largest batch the small-batch kernel takes for `type`.
    public static func limit(_ type: GGMLType) -> Int {
        type == .q4_1 ? min(maxTokens, maxTokensQ4_1) : maxTokens
    }
}

/// Q4_1/Q5_0/Q8_0 × 2…16 tokens on AVX-512: the activations' quants repacked contiguous (Q5_0/Q8_0: as y + 128),
/// their scales as floats, then 4-row × 8-token tiles split over the threads by rows.
private func smallBatchMatmul(_ type: GGMLType, _ data: UnsafeRawPointer, rowBytes: Int, k: Int, rows: Int,
                              acts: UnsafeRawPointer, q81: Bool, nTokens: Int, _ y: UnsafeMutablePointer<Float>,
                              pool: ThreadPool, chunk: Int) {
    let kind: SmallBatchWeights = type == .q4_1 ? .q4_1 : (type == .q5_0 ? .q5_0 : .q8_0)
    let nb = k / 32, stride = (nTokens + 7) & ~3, pairStride = avx512PairScalesStride(nTokens: nTokens)
    let scales = pool.scratch.floats(2 * nb * stride + nb * pairStride + nTokens * k / 2 + 16)
    let ad = scales, asum = scales + nb * stride, adPairs = scales + 2 * nb * stride
    let q = UnsafeMutableRawPointer(adPairs + nb * pairStride).assumingMemoryBound(to: Int8.self)
    avx512ActivationScales(q81: q81, acts: acts, k: k, nTokens: nTokens, tokenStride: stride, ad: ad, asum: asum)
    for b in 0..<nb {
        for t in nTokens..<stride { asum[b * stride + t] = 0 }  // Q4_1 reads whole groups of 4, never uses these
    }
    avx512PairScales(ad, tokenStride: stride, nb: nb, nTokens: nTokens, adPairs)
    avx512PackActivationQuants(acts, q81: q81, k: k, nTokens: nTokens, unsigned: kind != .q4_1, q)
    pool.runChunks(items: rows, grain: batchGrain(pool, rows: rows, align: 4, rowBytes: rowBytes, nTokens: nTokens)) { t, r0, r1 in
        let products = pool.scratch.threadBuffer(t, bytes: 4 * avx512SmallBatchProductFloats(k: k))
        avx512SmallBatchMatmul(kind, w: data, rowBytes: rowBytes, k: k, rowStart: r0, rowEnd: r1, q: q,
                               adPairs: adPairs, asum: asum, tokenStride: stride, nTokens: nTokens, y: y,
                               yStride: rows, products: products.assumingMemoryBound(to: Float.self))
    }
}

/// Errors of the kernel entry points that check caller data.
public enum KernelError: Error, CustomStringConvertible, Equatable {
    case tokenOutOfRange(tensor: String, id: Int32, rows: Int)
    case unsupportedType(tensor: String, type: String)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(tensor, id, rows):
            return "getRows: \(tensor): token id \(id) is outside 0..<\(rows)"
        case let .unsupportedType(tensor, type):
            return "getRows: \(tensor): type \(type) cannot be a weight tensor"
        }
    }
}

/// Embedding lookup: `out[i * w.columns ..< (i + 1) * w.columns]` = row `ids[i]` of `w`, dequantized.
/// Throws `KernelError.tokenOutOfRange` (and writes nothing) when an id is outside `0..<w.rows`.
public func getRows(_ w: TensorView, _ ids: UnsafeBufferPointer<Int32>, _ out: UnsafeMutablePointer<Float>) throws {
    let rows = w.rows, k = w.columns
    for id in ids where id < 0 || Int(id) >= rows {
        throw KernelError.tokenOutOfRange(tensor: w.name, id: id, rows: rows)
    }
    if w.type == .q8_1 || w.type == .q8_K { throw KernelError.unsupportedType(tensor: w.name, type: "\(w.type)") }
    for (i, id) in ids.enumerated() {
        dequantizeWeightRow(w.type, w.row(Int(id)), k: k, out + i * k)
    }
}

/// `getRows` for an array of ids.
public func getRows(_ w: TensorView, _ ids: [Int32], _ out: UnsafeMutablePointer<Float>) throws {
    try ids.withUnsafeBufferPointer { try getRows(w, $0, out) }
}

// MARK: - Scratch

/// A 64-byte-aligned buffer that grows on demand and is never shrunk.
struct GrowableBuffer {
    private(set) var pointer: UnsafeMutableRawPointer
    private var bytes = 64

    init() { pointer = GrowableBuffer.allocate(64) }

    /// At least `need` bytes; the contents are not kept when it grows.
    mutating func reserve(_ need: Int) -> UnsafeMutableRawPointer {
        if need > bytes {
            free(pointer)
            pointer = GrowableBuffer.allocate(need)
            bytes = need
        }
        return pointer
    }

    func release() { free(pointer) }

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        let rc = posix_memalign(&p, 64, max(64, bytes))
        // Out of memory for a scratch buffer (at most a few MB per call): nothing sensible to continue with.
        guard rc == 0, let p else { fatalError("MatmulScratch: cannot allocate \(bytes) bytes") }
        return p
    }
}

/// Reusable buffers of one pool: the quantized activations and activation scales (shared by all threads of a
/// call, filled before `run`) and one weight panel per thread. They grow on demand and are never shrunk, so
/// steady-state calls do not allocate. Each thread touches only its own slots of the per-thread arrays.
final class MatmulScratch: @unchecked Sendable {
    struct Activations {
        let qs: UnsafeMutablePointer<Int8>
        let dg: UnsafeMutablePointer<Float>
        let sg: UnsafeMutablePointer<Float>
    }
    private var act = GrowableBuffer()
    private var floatBuf = GrowableBuffer()
    private var panels: [GrowableBuffer]
    private var threadBufs: [GrowableBuffer]

    init(threads: Int) {
        panels = (0..<threads).map { _ in GrowableBuffer() }
        threadBufs = (0..<threads).map { _ in GrowableBuffer() }
    }

    deinit {
        act.release()
        floatBuf.release()
        panels.forEach { $0.release() }
        threadBufs.forEach { $0.release() }
    }

    /// Layout: `qs[t * kPad + e]`, `dg[t * kPad/16 + g]`, `sg[t * kPad/16 + g]`.
    func activations(kPad: Int, tokens: Int) -> Activations {
        let qsBytes = (tokens * kPad + 63) & ~63
        let groups = tokens * (kPad / 16)
        let gBytes = (groups * 4 + 63) & ~63
        let base = act.reserve(qsBytes + 2 * gBytes)
        return Activations(qs: base.assumingMemoryBound(to: Int8.self),
                           dg: (base + qsBytes).assumingMemoryBound(to: Float.self),
                           sg: (base + qsBytes + gBytes).assumingMemoryBound(to: Float.self))
    }

    /// A raw buffer of at least `bytes` for activations in ggml's block layout (shares the activation buffer).
    func raw(bytes: Int) -> UnsafeMutableRawPointer { act.reserve(bytes) }

    /// A float buffer of at least `count`.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        floatBuf.reserve(count * 4).assumingMemoryBound(to: Float.self)
    }

    /// A buffer private to pool thread `thread`.
    func threadBuffer(_ thread: Int, bytes: Int) -> UnsafeMutableRawPointer { threadBufs[thread].reserve(bytes) }

    /// Panel of `panelRows` (4) unpacked weight rows: see `panelLayout`.
    func panel(thread: Int, kPad: Int) -> UnsafeMutableRawPointer {
        panels[thread].reserve(PanelLayout(kPad: kPad).totalBytes)
    }
}
