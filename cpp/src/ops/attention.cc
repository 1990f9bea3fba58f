// Multi-head attention in transformers' eager form (see ops.h). One work unit per (sequence, head); each
// query row computes its scores against every key, adds the mask, takes the softmax and accumulates P V.
// Keys whose probability is exactly zero (masked keys, unless the whole row is masked) are skipped in P V:
// adding 0 * v changes nothing.
#include <algorithm>
#include <cstring>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"

namespace bertcore {

void attention(const KernelTable& kt, const float* qkv, int64_t batch, int64_t seq, int64_t heads,
               int64_t head_dim, const float* mask_add, float scale, float* ctx, float* probs, int num_threads) {
  if (batch <= 0 || seq <= 0) return;
  const int64_t hidden = heads * head_dim;
  const int64_t ld = 3 * hidden;
  parallel_for(batch * heads, num_threads, [&](int64_t begin, int64_t end) {
    thread_local AlignedBuffer scores_buf;
    scores_buf.reserve(seq);
    float* scores = scores_buf.data();
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / heads, h = unit % heads;
      const float* base = qkv + b * seq * ld;
      const float* q = base + h * head_dim;
      const float* k = base + hidden + h * head_dim;
      const float* v = base + 2 * hidden + h * head_dim;
      const float* mask = mask_add + b * seq;
      for (int64_t i = 0; i < seq; ++i) {
        const float* qi = q + i * ld;
        for (int64_t j = 0; j < seq; ++j) scores[j] = kt.dot(qi, k + j * ld, head_dim) * scale + mask[j];
        kt.softmax(scores, seq);
        if (probs != nullptr) {
          std::memcpy(probs + ((b * heads + h) * seq + i) * seq, scores, static_cast<size_t>(seq) * sizeof(float));
        }
        float* out = ctx + (b * seq + i) * hidden + h * head_dim;
        std::memset(out, 0, static_cast<size_t>(head_dim) * sizeof(float));
        for (int64_t j = 0; j < seq; ++j) {
          if (scores[j] != 0.0f) kt.axpy(scores[j], v + j * ld, out, head_dim);
        }
      }
    }
  });
}

}  // namespace bertcore
