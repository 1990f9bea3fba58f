// parallel_for: the one place where work is split across threads (OpenMP when the build has it).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bertcore {

// Registers the fork handlers run_native relies on (once; called when the module is imported).
void install_fork_handlers();
// Whether fork() releases the forking thread's OpenMP pool (default true); false makes children use the
// hand-off thread, for testing it.
void set_fork_pool_release(bool enabled);
void run_native_impl(const std::function<void()>& fn);

// Runs fn, a call from Python into code that may open parallel regions, so that it works in a forked child at
// the full thread count and fork() never copies it half-done: fork() waits for calls in flight and releases the
// forking thread's OpenMP pool, or the child hands that thread's calls to a new one (fork_safety.cc says why).
template <class Fn>
void run_native(Fn&& fn) {
  run_native_impl(std::function<void()>(std::forward<Fn>(fn)));
}

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

// An exception may not leave an OpenMP region (the runtime would terminate the process): the first one a
// worker throws (std::bad_alloc from scratch that does not fit) is kept, the remaining work skipped, and it is
// rethrown on the calling thread once the region ends.
class RegionError {
 public:
  template <class Fn>
  void run(Fn&& fn) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      fn();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

// Calls fn(begin, end) on contiguous, near-equal slices of [0, n) on `workers` of the team's `num_threads`
// threads (see threads_for_elements). Runs inline when one worker is asked for or there are fewer than two
// items. An exception from fn reaches the caller (see RegionError).
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
  RegionError error;
#pragma omp parallel num_threads(team)
  {
    const int64_t ith = omp_get_thread_num();
    // The team can come out smaller than asked (OMP_THREAD_LIMIT, nesting): then fewer slices, none lost.
    const int64_t nth = std::min<int64_t>(nw, omp_get_num_threads());
    if (ith < nth) {
      const int64_t begin = n * ith / nth;
      const int64_t end = n * (ith + 1) / nth;
      if (begin < end) error.run([&] { fn(begin, end); });
    }
  }
  error.rethrow();
#else
  fn(int64_t{0}, n);
#endif
}

// Calls fn(i) for every i in [0, n), handing items out one at a time to the `num_threads` threads: for work
// items of uneven cost (sequences of different lengths). An exception from fn reaches the caller.
template <class Fn>
void parallel_for_dynamic(int64_t n, int num_threads, Fn&& fn) {
  if (n <= 0) return;
  const int team = std::max(num_threads, 1);
  if (team <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#ifdef _OPENMP
  RegionError error;
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) error.run([&] { fn(i); });
  error.rethrow();
#else
  for (int64_t i = 0; i < n; ++i) fn(i);
#endif
}

}  // namespace bertcore
