// Multi-head attention in transformers' eager form (see ops.h), built on the GEMM register tile.
//
// One work unit per (sequence, head). K and V of the head are packed once into the microkernel's B layout;
// then, per block of MR query rows: scores = Q_blk · K^T (k = head_dim), each row scaled, masked and
// soft-maxed (kt.softmax after the scale and mask, in transformers' order: (q·k) * scale + mask), and
// ctx_blk = P_blk · V (k = seq). Scratch lives in per-thread buffers that grow to the largest shape seen.
#include <algorithm>
#include <cstring>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"

namespace bertcore {
namespace {

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// B panels from rows of a strided matrix: panel j, row p, column c = src[(j*nr + c) * ld + p] (keys as columns).
void pack_b_transposed(const float* src, int64_t ld, int64_t cols, int64_t k, int nr, float* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - j0);
    for (int64_t p = 0; p < k; ++p) {
      int64_t c = 0;
      for (; c < w; ++c) dst[p * nr + c] = src[(j0 + c) * ld + p];
      for (; c < nr; ++c) dst[p * nr + c] = 0.0f;
    }
    dst += k * nr;
  }
}

// B panels straight from rows: panel j, row p, column c = src[p * ld + j*nr + c].
void pack_b_rows(const float* src, int64_t ld, int64_t cols, int64_t k, int nr, float* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - j0);
    for (int64_t p = 0; p < k; ++p) {
      const float* s = src + p * ld + j0;
      int64_t c = 0;
      for (; c < w; ++c) dst[p * nr + c] = s[c];
      for (; c < nr; ++c) dst[p * nr + c] = 0.0f;
    }
    dst += k * nr;
  }
}

// A panel: a[p * mr + i] = src[i * ld + p], rows past `rows` zero.
void pack_a(const float* src, int64_t ld, int64_t rows, int64_t k, int mr, float* dst) {
  for (int64_t p = 0; p < k; ++p) {
    int64_t i = 0;
    for (; i < rows; ++i) dst[p * mr + i] = src[i * ld + p];
    for (; i < mr; ++i) dst[p * mr + i] = 0.0f;
  }
}

struct AttentionScratch {
  AlignedBuffer kpack, vpack, apack, scores;
};

}  // namespace

void attention(const KernelTable& kt, const float* qkv, int64_t batch, int64_t seq, int64_t heads,
               int64_t head_dim, const float* mask_add, float scale, float* ctx, float* probs, int num_threads) {
  if (batch <= 0 || seq <= 0) return;
  const int64_t hidden = heads * head_dim;
  const int64_t ld = 3 * hidden;
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  const int64_t seq_nr = round_up(seq, nr);
  const int64_t dim_nr = round_up(head_dim, nr);
  parallel_for(batch * heads, num_threads, [&](int64_t begin, int64_t end) {
    thread_local AttentionScratch s;
    s.kpack.reserve(seq_nr * head_dim);
    s.vpack.reserve(dim_nr * seq);
    s.apack.reserve(static_cast<int64_t>(mr) * std::max(seq, head_dim));
    s.scores.reserve(static_cast<int64_t>(mr) * seq_nr);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / heads, h = unit % heads;
      const float* base = qkv + b * seq * ld;
      const float* q = base + h * head_dim;
      const float* k = base + hidden + h * head_dim;
      const float* v = base + 2 * hidden + h * head_dim;
      const float* mask = mask_add + b * seq;
      pack_b_transposed(k, ld, seq, head_dim, nr, s.kpack.data());
      pack_b_rows(v, ld, head_dim, seq, nr, s.vpack.data());
      for (int64_t i0 = 0; i0 < seq; i0 += mr) {
        const int64_t rows = std::min<int64_t>(mr, seq - i0);
        float* sc = s.scores.data();
        pack_a(q + i0 * ld, ld, rows, head_dim, mr, s.apack.data());
        for (int64_t j0 = 0; j0 < seq; j0 += nr) {
          kt.gemm_ukernel(head_dim, s.apack.data(), s.kpack.data() + (j0 / nr) * head_dim * nr, sc + j0, seq_nr,
                          rows, std::min<int64_t>(nr, seq - j0), 0);
        }
        for (int64_t i = 0; i < rows; ++i) {
          float* row = sc + i * seq_nr;
          kt.scale(scale, row, row, seq);
          kt.add3(row, mask, nullptr, row, seq);
          kt.softmax(row, seq);
          if (probs != nullptr) {
            std::memcpy(probs + ((b * heads + h) * seq + i0 + i) * seq, row, static_cast<size_t>(seq) * sizeof(float));
          }
        }
        pack_a(sc, seq_nr, rows, seq, mr, s.apack.data());
        float* out = ctx + (b * seq + i0) * hidden + h * head_dim;
        for (int64_t j0 = 0; j0 < head_dim; j0 += nr) {
          kt.gemm_ukernel(seq, s.apack.data(), s.vpack.data() + (j0 / nr) * seq * nr, out + j0, hidden, rows,
                          std::min<int64_t>(nr, head_dim - j0), 0);
        }
      }
    }
  });
}

}  // namespace bertcore
