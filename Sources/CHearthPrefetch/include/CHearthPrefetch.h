#ifndef CHEARTH_PREFETCH_H
#define CHEARTH_PREFETCH_H
/// Software prefetch for the Swift kernels. Swift cannot import `_mm_prefetch` (a macro taking an immediate) and
/// has no `__builtin_prefetch`; a static inline function here is imported and inlined by the Swift compiler
/// (ClangImporter emits its body into the calling module), so a call compiles to one `prefetcht0`.
static inline __attribute__((always_inline)) void hearth_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

/// A spin-wait step: `pause` on x86, which tells the core the loop waits (it yields pipeline resources to an SMT
/// sibling and avoids the memory-order flush when the awaited value changes).
static inline __attribute__((always_inline)) void hearth_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

#if defined(__x86_64__)
#include <immintrin.h>
/// AVX-512 intrinsics that clang defines as macros with an immediate operand, which Swift cannot import:
/// wrapped here with the immediate fixed (the same instruction, inlined into the Swift caller).
#define HEARTH_AVX512 __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,f16c")))

/// `vcvtps2ph` with round to nearest even (imm 0: ggml's `GGML_FP32_TO_FP16` on x86 uses `_cvtss_sh(x, 0)`).
static inline HEARTH_AVX512 __m256i hearth_cvtps_ph(__m512 v) {
    return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
}

/// Sixteen 32-bit loads at `base + 2·idx` (`vpgatherdd`, scale 2: a table of 16-bit entries).
static inline HEARTH_AVX512 __m512i hearth_gather_scale2(__m512i idx, const void *base) {
    return _mm512_i32gather_epi32(idx, base, 2);
}

/// `vpbroadcastd` from memory, kept a load: a broadcast the compiler can see turns, after a store to the same
/// bytes, into a `vpermd` from the stored register — an ALU operation where the load costs none
/// (ExactTokenLanes.swift broadcasts each unpacked weight lane this way).
static inline __attribute__((always_inline, target("avx2"))) __m256i hearth_broadcastd_load(const void *p) {
    __m256i r;
    __asm__("vpbroadcastd %1, %0" : "=x"(r) : "m"(*(const int *)p));
    return r;
}

/// The 256-bit `vcvtps2ph` (F16C, round to nearest even) for the AVX2 kernels.
static inline __attribute__((always_inline, target("avx2,f16c"))) __m128i hearth_cvtps_ph256(__m256 v) {
    return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
}
#endif
#endif
