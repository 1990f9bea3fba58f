// GEMM register-tile microkernel, written once and compiled per family by gemm_<isa>.cc.
//
// Contract (see KernelTable::gemm_ukernel): computes the MR x NR tile A · B_panel over k steps, where row i
// of A is a + i * lda (read straight from the caller's matrix: no packing of A) and b[p * NR + j] is column j
// at step p (zero-padded past the matrix edge by pack_linear / the attention packers). Rows i >= m are never
// read: their row pointer is clamped to row m - 1 and their results are dropped. Results are stored straight
// from registers; on an edge tile, a partial vector is stored masked, so nothing outside m x n is touched.
// No alignment is assumed. Single-threaded.
//
// The vector families keep MR x (NR / width) accumulators in registers and, per step, load NR / width vectors
// of B and broadcast MR scalars of A (the tinyBLAS/BLIS register tile with the roles of x and W as in
// x · W^T): AVX-512 uses 8 x 48 (24 zmm accumulators), AVX2 6 x 16 (12 ymm accumulators). B is prefetched a
// few steps ahead into L1 (it streams from L2; A's rows are re-read across the W panels and stay in L1).
#pragma once

#include "bertcore/kernels.h"
#include "simd.h"
#include "tile.h"

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

#if defined(BERTCORE_KERNEL_SCALAR)
constexpr int kKC = 256;
constexpr int kMC = 64;
constexpr int kNC = 512;
#elif defined(BERTCORE_KERNEL_AVX2)
constexpr int kKC = 256;
constexpr int kMC = 72;
constexpr int kNC = 1024;
#else
constexpr int kKC = 384;  // one K block for K = 384 (MiniLM's hidden size)
constexpr int kMC = 96;
constexpr int kNC = 768;
#endif

#if defined(BERTCORE_KERNEL_SCALAR)

// Plain loops: the obviously-right fallback and test oracle.
void gemm_ukernel_impl(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, int64_t m,
                       int64_t n, int accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t i = 0; i < m; ++i) {
    const float* ai = a + i * lda;
    for (int64_t p = 0; p < k; ++p) {
      const float av = ai[p];
      for (int j = 0; j < kNR; ++j) acc[i][j] += av * b[p * kNR + j];
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
    }
  }
}

#else

constexpr int64_t kPrefetchSteps = 24;  // B rows ahead: 24 steps x NR floats = 4.5 KB (AVX-512), about a DRAM latency of compute

// The MR x (kNV vectors) tile. kNV = kNR / width is the dense layers' tile; AVX-512 also builds a two-vector
// (32-column) one for attention's P·V product, whose width is the head size (32 or 64 in most models).
template <int kNV>
void gemm_ukernel_nv(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, int64_t m,
                     int64_t n, int accumulate) {
  using V = Vec;
  constexpr int kNR = kNV * Vec::kWidth;
  const float* rows[kMR];
  for (int i = 0; i < kMR; ++i) rows[i] = a + (i < m ? i : m - 1) * lda;
  V::T acc[kMR][kNV];
  unrolled<0, kMR>([&](auto i) { unrolled<0, kNV>([&](auto j) { acc[i][j] = V::zero(); }); });

  for (int64_t p = 0; p < k; ++p) {
    // One step of B is NR floats: 3 cache lines (AVX-512) or 1 (AVX2); fetch each of the step kPrefetchSteps on.
    for (int l = 0; l < kNR * 4; l += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchSteps * kNR) + l, _MM_HINT_T0);
    }
    V::T bv[kNV];
    unrolled<0, kNV>([&](auto j) { bv[j] = V::load(b + j * Vec::kWidth); });
    unrolled<0, kMR>([&](auto i) {
      const V::T av = V::set1(rows[i][p]);
      unrolled<0, kNV>([&](auto j) { acc[i][j] = V::fma(av, bv[j], acc[i][j]); });
    });
    b += kNR;
  }

  if (m == kMR && n == kNR) {
    unrolled<0, kMR>([&](auto i) {
      unrolled<0, kNV>([&](auto j) {
        float* cij = c + i * ldc + j * Vec::kWidth;
        V::store(cij, accumulate ? V::add(acc[i][j], V::load(cij)) : acc[i][j]);
      });
    });
    return;
  }
  // Edge tile: only the m x n corner, with masked stores for a partial vector (nothing outside it is touched).
  unrolled<0, kMR>([&](auto i) {
    if (i >= m) return;
    unrolled<0, kNV>([&](auto j) {
      const int64_t left = n - j * Vec::kWidth;
      if (left <= 0) return;
      float* cij = c + i * ldc + j * Vec::kWidth;
      if (left >= Vec::kWidth) {
        V::store(cij, accumulate ? V::add(acc[i][j], V::load(cij)) : acc[i][j]);
      } else {
        V::store_tail(cij, accumulate ? V::add(acc[i][j], V::load_tail(cij, left, 0.0f)) : acc[i][j], left);
      }
    });
  });
}

void gemm_ukernel_impl(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, int64_t m,
                       int64_t n, int accumulate) {
  gemm_ukernel_nv<kNR / Vec::kWidth>(k, a, lda, b, c, ldc, m, n, accumulate);
}

#endif

#if defined(BERTCORE_KERNEL_AVX512)
void gemm_ukernel_narrow_impl(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                              int64_t m, int64_t n, int accumulate) {
  gemm_ukernel_nv<kNarrowNR / Vec::kWidth>(k, a, lda, b, c, ldc, m, n, accumulate);
}
#else
void gemm_ukernel_narrow_impl(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                              int64_t m, int64_t n, int accumulate) {
  gemm_ukernel_impl(k, a, lda, b, c, ldc, m, n, accumulate);
}
#endif

}  // namespace

void register_gemm(KernelTable* t) {
  t->gemm_mr = kMR;
  t->gemm_nr = kNR;
  t->gemm_kc = kKC;
  t->gemm_mc = kMC;
  t->gemm_nc = kNC;
  t->gemm_ukernel = gemm_ukernel_impl;
  t->gemm_nr_narrow = kNarrowNR;
  t->gemm_ukernel_narrow = gemm_ukernel_narrow_impl;
}

}  // namespace BERTCORE_KNS
}  // namespace bertcore
