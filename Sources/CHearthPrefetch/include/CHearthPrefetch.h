#ifndef CHEARTH_PREFETCH_H
#define CHEARTH_PREFETCH_H
/// Software prefetch for the Swift kernels. Swift cannot import `_mm_prefetch` (a macro taking an immediate) and
/// has no `__builtin_prefetch`; a static inline function here is imported and inlined by the Swift compiler
/// (ClangImporter emits its body into the calling module), so a call compiles to one `prefetcht0`.
static inline __attribute__((always_inline)) void hearth_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
#endif
