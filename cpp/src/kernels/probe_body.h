// Throughput probes, written once over the Vec type of simd.h and compiled once per family by the shim files
// probe_<isa>.cc: each runs a fixed number of independent vector operations, so that benchmarks can state GEMM
// throughput as a share of the machine's own peak. Single-threaded.
#pragma once

#include "bertcore/kernels.h"
#include "simd.h"

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

using V = Vec;
using VT = Vec::T;
constexpr int64_t W = V::kWidth;

// Twelve independent accumulator chains hide the FMA latency (4 cycles x 2 ports, plus headroom). Each chain
// starts from a different value: identical chains would be merged by the compiler into one, which measures
// latency instead of throughput. The sum is kept live through a volatile store.
double fma_probe_impl(int64_t iters) {
  VT a0 = V::set1(1.00f), a1 = V::set1(1.01f), a2 = V::set1(1.02f), a3 = V::set1(1.03f);
  VT a4 = V::set1(1.04f), a5 = V::set1(1.05f), a6 = V::set1(1.06f), a7 = V::set1(1.07f);
  VT a8 = V::set1(1.08f), a9 = V::set1(1.09f), a10 = V::set1(1.10f), a11 = V::set1(1.11f);
  const VT m = V::set1(0.999999f), c = V::set1(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    a0 = V::fma(a0, m, c);
    a1 = V::fma(a1, m, c);
    a2 = V::fma(a2, m, c);
    a3 = V::fma(a3, m, c);
    a4 = V::fma(a4, m, c);
    a5 = V::fma(a5, m, c);
    a6 = V::fma(a6, m, c);
    a7 = V::fma(a7, m, c);
    a8 = V::fma(a8, m, c);
    a9 = V::fma(a9, m, c);
    a10 = V::fma(a10, m, c);
    a11 = V::fma(a11, m, c);
  }
  VT s = V::add(V::add(V::add(a0, a1), V::add(a2, a3)), V::add(V::add(a4, a5), V::add(a6, a7)));
  s = V::add(s, V::add(V::add(a8, a9), V::add(a10, a11)));
  volatile float sink = V::reduce_add(s);
  (void)sink;
  return 2.0 * 12.0 * static_cast<double>(W) * static_cast<double>(iters);
}

}  // namespace

void register_probes(KernelTable* t) { t->fma_probe = fma_probe_impl; }

}  // namespace BERTCORE_KNS
}  // namespace bertcore
