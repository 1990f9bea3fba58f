// The register tile each family's GEMMs use (fp32 in gemm_body.h, bf16 and int8 in lowp_body.h), and the
// unrolling helper that keeps its accumulators in registers. Include after simd.h.
#pragma once

#include <type_traits>

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

#if defined(BERTCORE_KERNEL_SCALAR)
constexpr int kMR = 4;
constexpr int kNR = 16;
#elif defined(BERTCORE_KERNEL_AVX2)
constexpr int kMR = 6;
constexpr int kNR = 16;
#else
constexpr int kMR = 8;
constexpr int kNR = 48;
#endif

// The narrow tile's width (KernelTable::gemm_nr_narrow): AVX-512's two-vector tile; the others' dense tile is
// already 16 columns wide.
#if defined(BERTCORE_KERNEL_AVX512)
constexpr int kNarrowNR = 32;
#else
constexpr int kNarrowNR = kNR;
#endif

#if defined(__GNUC__)
#define BERTCORE_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define BERTCORE_ALWAYS_INLINE inline
#endif

// Calls f(std::integral_constant<int, I>) for I = 0 .. N-1, unrolled by the front end. The tile's accumulators
// are only ever indexed through it, so every index is a constant whatever the compiler's unrolling heuristics
// decide: a rolled loop indexing acc[i][j] with variables (GCC 13 keeps the edge-tile loop rolled) makes the
// whole tile addressable, and every accumulator is then stored to the stack on every k step.
template <int I, int N, class F>
BERTCORE_ALWAYS_INLINE void unrolled(F&& f) {
  if constexpr (I < N) {
    f(std::integral_constant<int, I>{});
    unrolled<I + 1, N>(f);
  }
}

}  // namespace
}  // namespace BERTCORE_KNS
}  // namespace bertcore
