// Row-wise ops (layer norm, activation, softmax): threads take contiguous blocks of rows.
#include <algorithm>
#include <stdexcept>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"

namespace bertcore {

void layer_norm_rows(const KernelTable& kt, const float* x, float* y, int64_t rows, int64_t n, const float* gamma,
                     const float* beta, float eps, int num_threads) {
  if (rows <= 0 || n <= 0) return;
  parallel_for(rows, num_threads, threads_for_elements(rows * n, num_threads), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) kt.layer_norm(x + r * n, y + r * n, gamma, beta, n, eps);
  });
}

void activation_inplace(const KernelTable& kt, float* x, int64_t count, Activation act, int num_threads) {
  if (count <= 0) return;
  constexpr int64_t kChunk = 4096;
  const int workers = threads_for_elements(count, num_threads);
  parallel_for((count + kChunk - 1) / kChunk, num_threads, workers, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t start = c * kChunk;
      kt.activation(x + start, std::min(kChunk, count - start), act);
    }
  });
}

void softmax_rows(const KernelTable& kt, float* x, int64_t rows, int64_t n, int num_threads) {
  if (rows <= 0 || n <= 0) return;
  parallel_for(rows, num_threads, threads_for_elements(rows * n, num_threads), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) kt.softmax(x + r * n, n);
  });
}

}  // namespace bertcore
