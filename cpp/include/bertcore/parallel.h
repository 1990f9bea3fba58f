// parallel_for: the one place where work is split across threads (OpenMP when the build has it).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bertcore {

// Calls fn(begin, end) on contiguous, near-equal slices of [0, n) on up to `num_threads` threads. Runs inline
// when one thread is asked for or there are fewer than two items. fn must not throw.
template <class Fn>
void parallel_for(int64_t n, int num_threads, Fn&& fn) {
  if (n <= 0) return;
  const int64_t nt = std::min<int64_t>(std::max(num_threads, 1), n);
  if (nt <= 1) {
    fn(int64_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(static_cast<int>(nt))
  {
    const int64_t ith = omp_get_thread_num();
    const int64_t nth = omp_get_num_threads();
    const int64_t begin = n * ith / nth;
    const int64_t end = n * (ith + 1) / nth;
    if (begin < end) fn(begin, end);
  }
#else
  fn(int64_t{0}, n);
#endif
}

}  // namespace bertcore
