#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthTensors
import HearthKernelsAVX512

/// A float weight matrix (F32, F16 or BF16 on disk) converted once to F32 and repacked into panels of 64 rows,
/// transposed, for the outer-product GEMM (`avx512PackedF32Gemm`): `panel p, k index kk, lane i` holds
/// `W[64p + i][kk]`, zero past the last row. Encoders multiply hundreds of tokens by each weight per call, which
/// this layout runs near the FMA units' peak, where the row-dot kernels spend their time on horizontal sums.
/// Costs one F32 copy of the matrix.
public final class PackedF32Matrix: @unchecked Sendable {
    // @unchecked: written only in init.
    public let name: String
    public let rows: Int
    public let k: Int
    public let panelCount: Int
    let panels: UnsafeMutablePointer<Float>

    /// Packs `w` (any float type; a quantized type is dequantized row by row).
    public init(_ w: TensorView) {
        name = w.name
        rows = w.rows
        k = w.columns
        panelCount = (rows + packedF32PanelRows - 1) / packedF32PanelRows
        let count = max(1, panelCount * packedF32PanelRows * k)
        var raw: UnsafeMutableRawPointer?
        // Out of memory for a weight copy at load time: nothing sensible to continue with.
        guard posix_memalign(&raw, 64, count * 4) == 0, let raw else { fatalError("PackedF32Matrix: cannot allocate \(count * 4) bytes") }
        panels = raw.bindMemory(to: Float.self, capacity: count)
        panels.initialize(repeating: 0, count: count)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k))
        defer { row.deallocate() }
        for r in 0..<rows {
            dequantizeWeightRow(w.type, w.row(r), k: k, row)
            let base = panels + (r / packedF32PanelRows) * packedF32PanelRows * k + r % packedF32PanelRows
            for kk in 0..<k { base[kk * packedF32PanelRows] = row[kk] }
        }
    }

    deinit { free(panels) }

    /// The weight W[r][kk] (for tests).
    public func value(row r: Int, _ kk: Int) -> Float {
        panels[(r / packedF32PanelRows) * packedF32PanelRows * k + kk * packedF32PanelRows + r % packedF32PanelRows]
    }
}

/// `y[t * w.rows + r] = Σ_kk W[r][kk] · x[t * w.k + kk]` for `t < nTokens`: the AVX-512 outer-product kernel where
/// the CPU has it, else the portable loop; panels split over the pool's threads.
public func matmul(_ w: PackedF32Matrix, _ x: UnsafePointer<Float>, nTokens: Int, _ y: UnsafeMutablePointer<Float>,
                   pool: ThreadPool, isa: KernelISA = KernelISA.selected) {
    if nTokens <= 0 || w.rows == 0 { return }
    let panels = UnsafePointer(w.panels), k = w.k, rows = w.rows, count = w.panelCount
    pool.run { t, n in
        let per = (count + n - 1) / n
        let p0 = min(count, t * per), p1 = min(count, p0 + per)
        if p0 >= p1 { return }
        if isa == .avx512 {
            avx512PackedF32Gemm(panels: panels, k: k, rows: rows, panelStart: p0, panelEnd: p1, x: x, nTokens: nTokens,
                                y: y, yStride: rows)
        } else {
            scalarPackedF32Gemm(panels: panels, k: k, rows: rows, panelStart: p0, panelEnd: p1, x: x, nTokens: nTokens,
                                y: y, yStride: rows)
        }
    }
}

/// The portable reference of `avx512PackedF32Gemm`: the same sums, one output at a time (in k order, so the
/// AVX-512 kernel, which also accumulates in k order per output, agrees up to FMA rounding).
public func scalarPackedF32Gemm(panels: UnsafePointer<Float>, k: Int, rows: Int, panelStart: Int, panelEnd: Int,
                                x: UnsafePointer<Float>, nTokens: Int, y: UnsafeMutablePointer<Float>, yStride: Int) {
    let pr = packedF32PanelRows
    for p in panelStart..<panelEnd {
        let w = panels + p * pr * k
        for i in 0..<min(pr, rows - p * pr) {
            for t in 0..<nTokens {
                var s: Float = 0
                let xt = x + t * k
                for kk in 0..<k { s += w[kk * pr + i] * xt[kk] }
                y[t * yStride + p * pr + i] = s
            }
        }
    }
}
