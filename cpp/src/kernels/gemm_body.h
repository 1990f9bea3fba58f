// GEMM register-tile microkernel, written once and compiled per family by gemm_<isa>.cc.
//
// Contract (see KernelTable::gemm_ukernel): computes the MR x NR tile A_panel · B_panel over k steps, where
// a[p * MR + i] is row i at step p and b[p * NR + j] is column j at step p (both zero-padded past the matrix
// edge by the packing routines in src/ops/matmul.cc), then writes or adds the top-left m x n of it to c
// (row-major, leading dimension ldc). Full tiles store straight from registers; edge tiles go through a small
// stack buffer so nothing outside the m x n region is touched. No alignment is assumed. Single-threaded.
//
// The vector families keep MR x (NR / width) accumulators in registers and, per step, load NR / width vectors
// of B and broadcast MR scalars of A (the tinyBLAS/BLIS register tile with the roles of x and W as in
// x · W^T): AVX-512 uses 8 x 48 (24 zmm accumulators), AVX2 6 x 16 (12 ymm accumulators).
#pragma once

#include "bertcore/kernels.h"
#include "simd.h"

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

#if defined(BERTCORE_KERNEL_SCALAR)
constexpr int kMR = 4;
constexpr int kNR = 16;
constexpr int kKC = 256;
constexpr int kMC = 64;
constexpr int kNC = 512;
#elif defined(BERTCORE_KERNEL_AVX2)
constexpr int kMR = 6;
constexpr int kNR = 16;
constexpr int kKC = 256;
constexpr int kMC = 72;
constexpr int kNC = 1024;
#else
constexpr int kMR = 8;
constexpr int kNR = 48;
constexpr int kKC = 256;
constexpr int kMC = 96;
constexpr int kNC = 768;
#endif

#if defined(BERTCORE_KERNEL_SCALAR)

// Plain loops: the obviously-right fallback and test oracle.
void gemm_ukernel_impl(int64_t k, const float* a, const float* b, float* c, int64_t ldc, int64_t m, int64_t n,
                       int accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t p = 0; p < k; ++p) {
    for (int i = 0; i < kMR; ++i) {
      const float av = a[p * kMR + i];
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

constexpr int kNV = kNR / Vec::kWidth;

void gemm_ukernel_impl(int64_t k, const float* a, const float* b, float* c, int64_t ldc, int64_t m, int64_t n,
                       int accumulate) {
  using V = Vec;
  V::T acc[kMR][kNV];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) acc[i][j] = V::zero();

  for (int64_t p = 0; p < k; ++p) {
    V::T bv[kNV];
    for (int j = 0; j < kNV; ++j) bv[j] = V::load(b + j * Vec::kWidth);
    for (int i = 0; i < kMR; ++i) {
      const V::T av = V::set1(a[i]);
      for (int j = 0; j < kNV; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
    a += kMR;
    b += kNR;
  }

  if (m == kMR && n == kNR) {
    for (int i = 0; i < kMR; ++i) {
      float* ci = c + i * ldc;
      for (int j = 0; j < kNV; ++j) {
        V::T v = acc[i][j];
        if (accumulate) v = V::add(v, V::load(ci + j * Vec::kWidth));
        V::store(ci + j * Vec::kWidth, v);
      }
    }
    return;
  }
  alignas(64) float tile[kMR * kNR];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNV; ++j) V::store(tile + i * kNR + j * Vec::kWidth, acc[i][j]);
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    const float* ti = tile + i * kNR;
    for (int64_t j = 0; j < n; ++j) ci[j] = accumulate ? ci[j] + ti[j] : ti[j];
  }
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
}

}  // namespace BERTCORE_KNS
}  // namespace bertcore
