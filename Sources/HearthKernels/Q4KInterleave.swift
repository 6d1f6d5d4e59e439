#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HearthTensors
import HearthKernelsAVX512

/// Q4_K weights repacked sixteen rows at a time for the AVX-512 kernels.
///
/// Why: in the file's layout (ggml `block_q4_K`, one row after another) a decode GEMV must reduce each row's
/// integer sums across a vector and unpack each block's 6-bit scales on its own: about 44 instructions per
/// 144-byte block, which computes at ~15 GB/s a core, below what two cores stream from DRAM. llama.cpp's CPU
/// backend repacks Q4_K into `block_q4_Kx8` (ggml-cpu/repack.cpp) for the same reason. Here sixteen rows
/// share each vector: lane r of every int32 vector is row r, so the sums need no reduction, a broadcast
/// activation word serves all sixteen rows, and one block's scales are unpacked once for sixteen rows.
///
/// One repacked block (sixteen rows × 256 columns) is 2304 bytes, exactly the sixteen original blocks:
/// - `[0, 32)` d of rows 0…15 (fp16); `[32, 64)` dmin of rows 0…15 (fp16).
/// - `[64, 128)` L: byte `16·s + r` (s < 4) = low 4 bits of scale(s, r) | low 4 bits of scale(s + 4, r) << 4.
/// - `[128, 192)` M: the same for the mins.
/// - `[192, 256)` H: byte `16·s + r` = the high 2 bits of scale(s, r), scale(s + 4, r), min(s, r),
///   min(s + 4, r) at bits 0, 2, 4, 6.
/// - `[256, 2304)` quants: for p < 4 and c < 8, 64 bytes `[row 16][4 bytes]`: bytes 4c…4c+3 of the row's
///   32-byte group p (low nibbles: elements 4c…4c+3 of sub-block 2p, high nibbles: of sub-block 2p + 1).
/// Groups follow each other: group g (rows 16g…16g+15) is `k/256` repacked blocks in column order.
///
/// The arithmetic does not change (the integer sums are exact; the float steps are per row and block as
/// before), so results keep ggml's bits: see ExactQ4K.swift.
public enum Q4KInterleave {
    /// Rows per group.
    public static let rows = 16
    /// Bytes of one repacked block (sixteen rows × 256 columns); the kernels' constant, defined once.
    public static let blockBytes = avx512Q4KR16BlockBytes

    /// Whether `t` can be repacked: Q4_K with a whole number of 16-row groups.
    public static func canRepack(_ t: TensorView) -> Bool {
        t.type == .q4_K && t.rows > 0 && t.rows % rows == 0 && t.columns % 256 == 0
            && t.byteCount >= t.rows * t.rowBytes
    }

    /// Repacks row groups `groupStart..<groupEnd` of `src` (Q4_K rows of `k` columns) into `dst`, which holds
    /// the whole tensor's repacked groups.
    public static func repack(src: UnsafeRawPointer, k: Int, groupStart: Int, groupEnd: Int,
                              dst: UnsafeMutableRawPointer) {
        let nb = k / 256, rowBytes = nb * 144
        // Each block is assembled in a stack buffer and copied out whole: scattering 4-byte stores over the
        // fresh destination directly waited on a cache-line fill for every first touch (~0.8 GB/s a thread).
        withUnsafeTemporaryAllocation(byteCount: blockBytes, alignment: 64) { tmp in
            guard let out = tmp.baseAddress else { return }
            for g in groupStart..<groupEnd {
                for b in 0..<nb {
                    for r in 0..<rows {
                        let x = src + (g * rows + r) * rowBytes + b * 144
                        packRow(x, r, out)
                    }
                    (dst + (g * nb + b) * blockBytes).copyMemory(from: out, byteCount: blockBytes)
                }
            }
        }
    }

    /// Row `r`'s 144-byte block at `x` into its places in the repacked block `out`.
    @inline(__always)
    private static func packRow(_ x: UnsafeRawPointer, _ r: Int, _ out: UnsafeMutableRawPointer) {
        out.storeBytes(of: x.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        out.storeBytes(of: x.loadUnaligned(fromByteOffset: 2, as: UInt16.self), toByteOffset: 32 + 2 * r,
                       as: UInt16.self)
        for s in 0..<4 {
            let (sc0, m0) = ExactKernels.q4KScaleMin(x + 4, s)
            let (sc1, m1) = ExactKernels.q4KScaleMin(x + 4, s + 4)
            let i = 16 * s + r
            out.storeBytes(of: UInt8((sc0 & 15) | (sc1 & 15) << 4), toByteOffset: 64 + i, as: UInt8.self)
            out.storeBytes(of: UInt8((m0 & 15) | (m1 & 15) << 4), toByteOffset: 128 + i, as: UInt8.self)
            out.storeBytes(of: UInt8(sc0 >> 4 | (sc1 >> 4) << 2 | (m0 >> 4) << 4 | (m1 >> 4) << 6),
                           toByteOffset: 192 + i, as: UInt8.self)
        }
        for p in 0..<4 {
            for c in 0..<8 {
                out.storeBytes(of: x.loadUnaligned(fromByteOffset: 16 + 32 * p + 4 * c, as: UInt32.self),
                               toByteOffset: 256 + (8 * p + c) * 64 + 4 * r, as: UInt32.self)
            }
        }
    }

    /// The inverse of `repack` for one row's block: writes the original 144 bytes of row `r` (0…15) of repacked
    /// block `blk` to `x`. Tests use it to check the layout; nothing else reads the repacked bytes this way.
    public static func unpack(_ blk: UnsafeRawPointer, row r: Int, to x: UnsafeMutableRawPointer) {
        x.storeBytes(of: blk.loadUnaligned(fromByteOffset: 2 * r, as: UInt16.self), as: UInt16.self)
        x.storeBytes(of: blk.loadUnaligned(fromByteOffset: 32 + 2 * r, as: UInt16.self), toByteOffset: 2, as: UInt16.self)
        var sc = [UInt8](repeating: 0, count: 8), mn = [UInt8](repeating: 0, count: 8)
        for s in 0..<4 {
            let i = 16 * s + r
            let l = blk.load(fromByteOffset: 64 + i, as: UInt8.self), m = blk.load(fromByteOffset: 128 + i, as: UInt8.self)
            let h = blk.load(fromByteOffset: 192 + i, as: UInt8.self)
            sc[s] = l & 15 | (h & 3) << 4
            sc[s + 4] = l >> 4 | ((h >> 2) & 3) << 4
            mn[s] = m & 15 | ((h >> 4) & 3) << 4
            mn[s + 4] = m >> 4 | ((h >> 6) & 3) << 4
        }
        // ggml's 12-byte packing (`get_scale_min_k4` reads it back).
        for j in 0..<4 {
            x.storeBytes(of: sc[j] | (sc[j + 4] >> 4) << 6, toByteOffset: 4 + j, as: UInt8.self)
            x.storeBytes(of: mn[j] | (mn[j + 4] >> 4) << 6, toByteOffset: 8 + j, as: UInt8.self)
            x.storeBytes(of: (sc[j + 4] & 15) | (mn[j + 4] & 15) << 4, toByteOffset: 12 + j, as: UInt8.self)
        }
        for p in 0..<4 {
            for c in 0..<8 {
                x.storeBytes(of: blk.loadUnaligned(fromByteOffset: 256 + (8 * p + c) * 64 + 4 * r, as: UInt32.self),
                             toByteOffset: 16 + 32 * p + 4 * c, as: UInt32.self)
            }
        }
    }
}

/// Owns the repacked copies of a model's weights (see `Q4KInterleave`) and frees them with the model.
///
/// Memory: a repacked tensor costs its own size in anonymous memory; the mapped original's pages are then
/// released (`WeightSource.releasePages`), so the resident total stays about the same. What it costs is load
/// time (one pass over those weights) and page-cache sharing between processes mapping the same file.
public final class PackedWeights: @unchecked Sendable {
    // @unchecked: buffers are written once, in `prepare`, before any view of them is handed out.
    private var buffers: [UnsafeMutableRawPointer] = []
    private let source: WeightSource
    private let pool: ThreadPool
    private let enabled: Bool

    /// Repacks only when the selected kernels read a repacked layout (AVX-512) and `HEARTH_REPACK` is not `0`.
    public init(source: WeightSource, pool: ThreadPool) {
        self.source = source
        self.pool = pool
        let env = getenv("HEARTH_REPACK").map { String(cString: $0) }
        enabled = KernelISA.selected == .avx512 && env != "0"
    }

    /// `t` with a repacked copy attached when that pays (Q4_K weights in whole 16-row groups), else `t`.
    public func prepare(_ t: TensorView) -> TensorView {
        guard enabled, t.interleavedQ4K == nil, Q4KInterleave.canRepack(t) else { return t }
        let groups = t.rows / Q4KInterleave.rows, k = t.columns
        let bytes = groups * (k / 256) * Q4KInterleave.blockBytes
        let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        buffers.append(dst)
        let src = t.data
        pool.runChunks(items: groups, grain: max(1, groups / (4 * pool.threadCount))) { _, g0, g1 in
            Q4KInterleave.repack(src: src, k: k, groupStart: g0, groupEnd: g1, dst: dst)
        }
        source.releasePages(of: t)
        return TensorView(name: t.name, type: t.type, shape: t.shape, data: t.data, byteCount: t.byteCount,
                          interleavedQ4K: UnsafeRawPointer(dst))
    }

    deinit {
        for b in buffers { b.deallocate() }
    }
}
