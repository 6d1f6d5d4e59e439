import _Builtin_intrinsics.intel
import HearthTensors

/// Q4_K kernels over the sixteen-row repacked layout (HearthKernels/Q4KInterleave.swift describes it): lane r of
/// every vector is row r of the group, so a decode step needs no horizontal sums and no per-row scale unpacking.
/// The arithmetic is ggml's GEMV arithmetic (ExactQ4K.swift): per row and 256-block the exact integers
/// isum = Σ_s sc_s·dot_s and imin = Σ_s m_s·bs_s, then acc = fma(Float(isum), d·d_t, acc) and
/// accm = fma(Float(imin), dmin·d_t, accm), blocks in order; result acc − accm.

/// Bytes of one repacked block (sixteen rows × 256 columns: the sixteen original 144-byte blocks); HearthKernels'
/// `Q4KInterleave` describes the layout and uses this constant.
public let avx512Q4KR16BlockBytes = 2304

/// Unpacks the 6-bit scales and mins of repacked block `blk` to `sm`: scale(s, r) at byte 16·s + r, min(s, r) at
/// 128 + 16·s + r.
@inline(__always)
private func unpackScales16(_ blk: UnsafeRawPointer, _ sm: UnsafeMutableRawPointer) {
    let m4 = _mm512_set1_epi8(0x0F), m3 = _mm512_set1_epi8(0x03)
    let l = _mm512_loadu_si512(blk + 64), m = _mm512_loadu_si512(blk + 128), h = _mm512_loadu_si512(blk + 192)
    // Byte-wise shifts as 16-bit shifts, masked so no bit crosses into the neighbouring byte.
    @inline(__always) func high2(_ shift: UInt32) -> __m512i {
        _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h, shift), m3), 4)
    }
    _mm512_storeu_si512(sm, _mm512_or_si512(_mm512_and_si512(l, m4), high2(0)))
    _mm512_storeu_si512(sm + 64, _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), high2(2)))
    _mm512_storeu_si512(sm + 128, _mm512_or_si512(_mm512_and_si512(m, m4), high2(4)))
    _mm512_storeu_si512(sm + 192, _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(m, 4), m4), high2(6)))
}

/// Sixteen unpacked bytes at `p` as int32 lanes.
@inline(__always) private func widen16(_ p: UnsafeRawPointer) -> __m512i {
    _mm512_cvtepu8_epi32(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self)))
}

/// One token (`act`: a Q8_K row, `k/256 · 292` bytes) against row groups groupStart..<groupEnd of the repacked
/// weights `w`: `y[16·g + r]`. The same bits as `ExactKernels.dotQ4_K(kernel: .gemv)` on the original rows.
public func avx512ExactGemvQ4KR16(w: UnsafeRawPointer, k: Int, groupStart: Int, groupEnd: Int,
                                  act: UnsafeRawPointer, y: UnsafeMutablePointer<Float>) {
    let nb = k / 256
    let m4 = _mm512_set1_epi8(0x0F)
    withUnsafeTemporaryAllocation(of: __m512i.self, capacity: 4) { buf in
        guard let base = buf.baseAddress else { return }
        let sm = UnsafeMutableRawPointer(base)
        for g in groupStart..<groupEnd {
            var acc = _mm512_setzero_ps(), accm = _mm512_setzero_ps()
            for b in 0..<nb {
                let blk = w + (g * nb + b) * avx512Q4KR16BlockBytes, a = act + b * 292
                let da = _mm512_set1_ps(a.loadUnaligned(as: Float.self))
                let dd = _mm512_mul_ps(_mm512_cvtph_ps(blk.loadUnaligned(as: __m256i.self)), da)
                let dm = _mm512_mul_ps(_mm512_cvtph_ps((blk + 32).loadUnaligned(as: __m256i.self)), da)
                unpackScales16(blk, sm)
                let q = blk + 256, aq = a + 4
                var isum = _mm512_setzero_si512()
                for p in 0..<4 {
                    // Two chains per sub-block (even and odd chunks) so the dot products overlap.
                    var lo0 = _mm512_setzero_si512(), lo1 = _mm512_setzero_si512()
                    var hi0 = _mm512_setzero_si512(), hi1 = _mm512_setzero_si512()
                    for c in stride(from: 0, to: 8, by: 2) {
                        let w0 = _mm512_loadu_si512(q + (8 * p + c) * 64), w1 = _mm512_loadu_si512(q + (8 * p + c + 1) * 64)
                        @inline(__always) func word(_ off: Int) -> __m512i {
                            _mm512_set1_epi32(aq.loadUnaligned(fromByteOffset: off, as: Int32.self))
                        }
                        lo0 = _mm512_dpbusd_epi32(lo0, _mm512_and_si512(w0, m4), word(64 * p + 4 * c))
                        hi0 = _mm512_dpbusd_epi32(hi0, _mm512_and_si512(_mm512_srli_epi16(w0, 4), m4),
                                                  word(64 * p + 32 + 4 * c))
                        lo1 = _mm512_dpbusd_epi32(lo1, _mm512_and_si512(w1, m4), word(64 * p + 4 * c + 4))
                        hi1 = _mm512_dpbusd_epi32(hi1, _mm512_and_si512(_mm512_srli_epi16(w1, 4), m4),
                                                  word(64 * p + 32 + 4 * c + 4))
                    }
                    isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(lo0, lo1), widen16(sm + 32 * p)))
                    isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(_mm512_add_epi32(hi0, hi1),
                                                                     widen16(sm + 32 * p + 16)))
                }
                var imin = _mm512_setzero_si512()
                for s in 0..<8 {
                    let bs = Int32(a.loadUnaligned(fromByteOffset: 260 + 4 * s, as: Int16.self))
                        &+ Int32(a.loadUnaligned(fromByteOffset: 262 + 4 * s, as: Int16.self))
                    imin = _mm512_add_epi32(imin, _mm512_mullo_epi32(_mm512_set1_epi32(bs), widen16(sm + 128 + 16 * s)))
                }
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), dd, acc)
                accm = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imin), dm, accm)
            }
            _mm512_storeu_ps(y + 16 * g, _mm512_sub_ps(acc, accm))
        }
    }
}

/// Fills the prefill panel (ExactQ4K.swift's `avx512Q4KPanelBytesPerBlock` layout) of one row group from its
/// `nb` repacked blocks at `grp`: the quants need only their nibbles split, no transpose.
func fillPanelQ4KR16(_ grp: UnsafeRawPointer, nb: Int, panel: UnsafeMutableRawPointer) {
    let m4 = _mm512_set1_epi8(0x0F)
    withUnsafeTemporaryAllocation(of: __m512i.self, capacity: 4) { buf in
        guard let base = buf.baseAddress else { return }
        let sm = UnsafeMutableRawPointer(base)
        for b in 0..<nb {
            let blk = grp + b * avx512Q4KR16BlockBytes, pb = panel + b * avx512Q4KPanelBytesPerBlock
            for p in 0..<4 {
                for c in 0..<8 {
                    let v = _mm512_loadu_si512(blk + 256 + (8 * p + c) * 64)
                    _mm512_storeu_si512(pb + 2 * p * 512 + c * 64, _mm512_and_si512(v, m4))
                    _mm512_storeu_si512(pb + (2 * p + 1) * 512 + c * 64, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4))
                }
            }
            unpackScales16(blk, sm)
            for s in 0..<8 {
                _mm512_storeu_si512(pb + 4096 + 64 * s, widen16(sm + 16 * s))
                _mm512_storeu_si512(pb + 4608 + 64 * s, widen16(sm + 128 + 16 * s))
            }
            _mm512_storeu_ps(pb + 5120, _mm512_cvtph_ps(blk.loadUnaligned(as: __m256i.self)))
            _mm512_storeu_ps(pb + 5184, _mm512_cvtph_ps((blk + 32).loadUnaligned(as: __m256i.self)))
        }
    }
}
