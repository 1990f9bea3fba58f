// parallel_for: the one place where work is split across threads (OpenMP when the build has it).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bertcore {

// Threads worth using for an element-wise op over `elements` floats: one per 16K elements at least, so that
// small inputs stay on the calling thread (a parallel region costs microseconds).
inline int threads_for_elements(int64_t elements, int num_threads) {
  constexpr int64_t kMinElementsPerThread = 16384;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(num_threads, elements / kMinElementsPerThread)));
}

// Every parallel region opens a team of exactly `num_threads` (the model's thread count), even when fewer
// threads have work: GNU libgomp ends the surplus threads of its pool whenever a region asks for fewer threads
// than the previous one, and creates new ones when the next asks for more, so regions of different sizes (the
// GEMMs, attention over the heads, a small layer norm) would create threads on every forward pass. Threads
// with no work in a region just wait at its closing barrier.

// Calls fn(begin, end) on contiguous, near-equal slices of [0, n) on `workers` of the team's `num_threads`
// threads (see threads_for_elements). Runs inline when one worker is asked for or there are fewer than two
// items. fn must not throw.
template <class Fn>
void parallel_for(int64_t n, int num_threads, int workers, Fn&& fn) {
  if (n <= 0) return;
  const int team = std::max(num_threads, 1);
  const int64_t nw = std::min<int64_t>(std::min(std::max(workers, 1), team), n);
  if (nw <= 1) {
    fn(int64_t{0}, n);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(team)
  {
    const int64_t ith = omp_get_thread_num();
    // The team can come out smaller than asked (OMP_THREAD_LIMIT, nesting): then fewer slices, none lost.
    const int64_t nth = std::min<int64_t>(nw, omp_get_num_threads());
    if (ith < nth) {
      const int64_t begin = n * ith / nth;
      const int64_t end = n * (ith + 1) / nth;
      if (begin < end) fn(begin, end);
    }
  }
#else
  fn(int64_t{0}, n);
#endif
}

// Calls fn(i) for every i in [0, n), handing items out one at a time to the `num_threads` threads: for work
// items of uneven cost (sequences of different lengths). fn must not throw.
template <class Fn>
void parallel_for_dynamic(int64_t n, int num_threads, Fn&& fn) {
  if (n <= 0) return;
  const int team = std::max(num_threads, 1);
  if (team <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) fn(i);
#else
  for (int64_t i = 0; i < n; ++i) fn(i);
#endif
}

}  // namespace bertcore
