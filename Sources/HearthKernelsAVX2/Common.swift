import _Builtin_intrinsics.intel
import CHearthPrefetch
import HearthTensors

/// A spin-wait step for the thread pool: one `pause`. (`_mm_pause` does not link from Swift — it is a builtin
/// with no out-of-line definition — so it comes from the C header's inline `hearth_pause`.)
@inline(__always)
public func cpuRelax() { hearth_pause() }

/// Where the unpacked rows of a 4-row weight panel live (the scalar and AVX2 paths fill it with the portable
/// decoder, the AVX-512 path with its own): for slot `i < 4`, `kPad` bytes of q, `kPad / 4` floats of per-lane
/// scales (one per int32 lane, i.e. each 16-group's d four times) and `kPad / 16` floats of per-group `m - o*d`.
public struct PanelLayout {
    public let kPad: Int
    public init(kPad: Int) { self.kPad = kPad }
    @inline(__always) public func qOffset(_ slot: Int) -> Int { slot * kPad }
    @inline(__always) public func dOffset(_ slot: Int) -> Int { 4 * kPad + slot * kPad }
    @inline(__always) public func mOffset(_ slot: Int) -> Int { 8 * kPad + slot * (kPad / 4) }
    public var totalBytes: Int { 9 * kPad + 256 }
}
