// Multi-head attention in transformers' eager form (see ops.h), built on the GEMM register tile.
//
// One work unit per (sequence, head), handed out dynamically (sequences differ in length). K and V of the head
// are packed once into the microkernel's B layout; then, per block of MR query rows: scores = Q_blk · K^T
// (k = head_dim), plus the relative position scores when asked for, each row scaled, masked and soft-maxed by
// kt.softmax_scaled (in transformers' order: (q·k) * scale + mask), and ctx_blk = P_blk · V (k = keys, on the
// narrow tile when it fits the head size better). attention_bf16 takes Q, K and V as bf16 and runs both
// products on the bf16 tile (fp32 accumulation), P rounded to bf16 in between; the scores and softmax stay
// fp32. Scratch lives in per-thread buffers that grow to the largest shape seen.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"
#include "packing.h"

namespace bertcore {
namespace {

struct AttentionScratch {
  AlignedBuffer kpack, vpack, scores, qe, ke, bits, wide;
};

// A float buffer's room as 16- or 32-bit words.
template <class T>
T* words(AlignedBuffer& b) {
  return reinterpret_cast<T*>(b.data());
}

// out[i][c] = rows[i] · E[col0 + c] for the table panels covering [col0, col0 + width), i < count (any count).
void relative_dots(const KernelTable& kt, const float* rows, int64_t ld, int64_t count, const PackedLinear& table,
                   int64_t col0, int64_t width, float* out) {
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  for (int64_t i0 = 0; i0 < count; i0 += mr) {
    const int64_t m = std::min<int64_t>(mr, count - i0);
    for (int64_t c = 0; c < width; c += nr) {
      const int64_t panel = (col0 + c) / nr;
      const int64_t n = std::min<int64_t>(nr, table.n - (col0 + c));
      if (n <= 0) break;
      kt.gemm_ukernel(table.k, rows + i0 * ld, ld, table.panel(panel), out + i0 * width + c, width, m, n, 0);
    }
  }
}

// count rows of n bf16 values (ld apart) widened to fp32 rows of n.
void widen_rows(const uint16_t* src, int64_t ld, int64_t count, int64_t n, float* dst) {
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const uint32_t u = static_cast<uint32_t>(src[i * ld + j]) << 16;
      std::memcpy(dst + i * n + j, &u, sizeof u);
    }
  }
}

// Both forms: fp32 Q, K, V in qkv (rows 3 hidden apart), or bf16 bits in qkv16 (rows ld16 apart).
void attention_impl(const KernelTable& kt, const float* qkv, const uint16_t* qkv16, int64_t ld16,
                    const AttentionSegment* segments, int64_t batch, int64_t heads, int64_t head_dim,
                    const float* key_mask_add, float scale, float* ctx, float* probs, int64_t seq,
                    const int64_t* row_pos, int num_threads, const RelativePositions* rel) {
  if (batch <= 0) return;
  const bool bf16 = qkv16 != nullptr;
  if (rel != nullptr && (rel->table == nullptr || rel->mode < 1 || rel->mode > 2 || seq > rel->max_positions ||
                         rel->table->n != 2 * rel->max_positions - 1 || rel->table->k != head_dim ||
                         rel->table->nr != kt.gemm_nr)) {
    throw std::invalid_argument("relative position table does not fit this attention call");
  }
  const int64_t hidden = heads * head_dim;
  const int64_t ld = 3 * hidden;
  // Query rows per block: the height of the tile the products run on.
  const int mr = bf16 ? kt.lowp_mr : kt.gemm_mr, nr = kt.gemm_nr;
  int64_t max_keys = 0;
  for (int64_t b = 0; b < batch; ++b) max_keys = std::max(max_keys, segments[b].key_count);
  const int64_t keys_nr = round_up(std::max<int64_t>(max_keys, 1), nr);
  // P·V on whichever tile wastes fewer columns: the narrow one when head_dim rounds up to less with it.
  const bool narrow_pv = round_up(head_dim, kt.gemm_nr_narrow) < round_up(head_dim, nr);
  const int pv_nr = narrow_pv ? kt.gemm_nr_narrow : nr;
  const auto pv_ukernel = narrow_pv ? kt.gemm_ukernel_narrow : kt.gemm_ukernel;
  const auto pv_bf16 = narrow_pv ? kt.gemm_bf16_ukernel_narrow : kt.gemm_bf16_ukernel;
  const int64_t dim_nr = round_up(head_dim, pv_nr);
  // bf16 K steps come in the tile's groups of 4: Q·K^T's head_dim, P·V's keys.
  const int64_t dim_kp = round_up(head_dim, 4), keys_kp = round_up(std::max<int64_t>(max_keys, 1), 4);
  // Distance-table columns any (query, key) pair of a seq-long sequence can use, rounded out to whole panels.
  int64_t rel_col0 = 0, rel_width = 0;
  if (rel != nullptr) {
    const int64_t lo = rel->max_positions - seq, hi = rel->max_positions + seq - 2;
    rel_col0 = lo / nr * nr;
    rel_width = (hi / nr + 1) * nr - rel_col0;
  }
  parallel_for_dynamic(batch * heads, num_threads, [&](int64_t unit) {
    const int64_t b = unit / heads, h = unit % heads;
    const AttentionSegment& g = segments[b];
    if (g.row_count <= 0) return;
    const int64_t nk = g.key_count;
    thread_local AttentionScratch s;
    s.kpack.reserve(keys_nr * dim_kp);
    s.vpack.reserve(dim_nr * keys_kp);
    s.scores.reserve(static_cast<int64_t>(mr) * keys_nr);
    const float *q = nullptr, *k = nullptr, *v = nullptr;
    const uint16_t *q16 = nullptr, *k16 = nullptr, *v16 = nullptr;
    if (bf16) {
      q16 = qkv16 + g.row_begin * ld16 + h * head_dim;
      k16 = qkv16 + g.key_begin * ld16 + hidden + h * head_dim;
      v16 = qkv16 + g.key_begin * ld16 + 2 * hidden + h * head_dim;
    } else {
      q = qkv + g.row_begin * ld + h * head_dim;
      k = qkv + g.key_begin * ld + hidden + h * head_dim;
      v = qkv + g.key_begin * ld + 2 * hidden + h * head_dim;
    }
    const float* mask = key_mask_add != nullptr ? key_mask_add + g.key_begin : nullptr;
    if (nk <= 0) {
      // No keys at all: transformers' softmax over an all-masked row is uniform over the masked keys, which a
      // packed batch no longer holds; the caller only builds such segments for rows it then discards.
      for (int64_t i = 0; i < g.row_count; ++i) {
        std::memset(ctx + (g.row_begin + i) * hidden + h * head_dim, 0, static_cast<size_t>(head_dim) * sizeof(float));
      }
      return;
    }
    const int64_t nk_kp = round_up(nk, 4);
    uint16_t* qb = nullptr;  // the block's Q rows, zero-padded to dim_kp, then its P rows
    if (bf16) {
      s.bits.reserve(static_cast<int64_t>(mr) * std::max(dim_kp, keys_kp) / 2 + 1);
      qb = words<uint16_t>(s.bits);
      pack_bf16_transposed(k16, ld16, nk, head_dim, dim_kp, nr, words<uint32_t>(s.kpack));
      pack_bf16_rows(v16, ld16, nk, head_dim, nk_kp, pv_nr, words<uint32_t>(s.vpack));
    } else {
      pack_b_transposed(k, ld, nk, head_dim, nr, s.kpack.data());
      pack_b_rows(v, ld, head_dim, nk, pv_nr, s.vpack.data());
    }
    auto pos_of = [&](int64_t r) { return row_pos != nullptr ? row_pos[r] : r - g.row_begin; };
    if (rel != nullptr) {
      s.qe.reserve(static_cast<int64_t>(mr) * rel_width);
      // The relative terms are fp32 products: bf16 rows are widened for them.
      if (bf16) s.wide.reserve(std::max<int64_t>(mr, rel->mode == 2 ? nk : 0) * head_dim);
      if (rel->mode == 2) {
        s.ke.reserve(nk * rel_width);
        if (bf16) widen_rows(k16, ld16, nk, head_dim, s.wide.data());
        relative_dots(kt, bf16 ? s.wide.data() : k, bf16 ? head_dim : ld, nk, *rel->table, rel_col0, rel_width,
                      s.ke.data());
      }
    }
    for (int64_t i0 = 0; i0 < g.row_count; i0 += mr) {
      const int64_t rows = std::min<int64_t>(mr, g.row_count - i0);
      float* sc = s.scores.data();
      if (bf16) {
        for (int64_t i = 0; i < rows; ++i) {
          std::memcpy(qb + i * dim_kp, q16 + (i0 + i) * ld16, static_cast<size_t>(head_dim) * sizeof(uint16_t));
          std::fill(qb + i * dim_kp + head_dim, qb + (i + 1) * dim_kp, uint16_t{0});
        }
        for (int64_t j0 = 0; j0 < nk; j0 += nr) {
          kt.gemm_bf16_ukernel(dim_kp, qb, dim_kp, words<uint16_t>(s.kpack) + (j0 / nr) * dim_kp * nr, sc + j0,
                               keys_nr, rows, std::min<int64_t>(nr, nk - j0));
        }
      } else {
        for (int64_t j0 = 0; j0 < nk; j0 += nr) {
          kt.gemm_ukernel(head_dim, q + i0 * ld, ld, s.kpack.data() + (j0 / nr) * head_dim * nr, sc + j0, keys_nr,
                          rows, std::min<int64_t>(nr, nk - j0), 0);
        }
      }
      if (rel != nullptr) {
        if (bf16) {
          widen_rows(q16 + i0 * ld16, ld16, rows, head_dim, s.wide.data());
          relative_dots(kt, s.wide.data(), head_dim, rows, *rel->table, rel_col0, rel_width, s.qe.data());
        } else {
          relative_dots(kt, q + i0 * ld, ld, rows, *rel->table, rel_col0, rel_width, s.qe.data());
        }
        const int64_t base = rel->max_positions - 1 - rel_col0;
        for (int64_t i = 0; i < rows; ++i) {
          float* row = sc + i * keys_nr;
          const float* qe = s.qe.data() + i * rel_width;
          const int64_t li = pos_of(g.row_begin + i0 + i);
          if (rel->mode == 1) {
            for (int64_t j = 0; j < nk; ++j) row[j] += qe[li - pos_of(g.key_begin + j) + base];
          } else {
            for (int64_t j = 0; j < nk; ++j) {
              const int64_t t = li - pos_of(g.key_begin + j) + base;
              row[j] = row[j] + qe[t] + s.ke.data()[j * rel_width + t];
            }
          }
        }
      }
      for (int64_t i = 0; i < rows; ++i) {
        float* row = sc + i * keys_nr;
        kt.softmax_scaled(row, nk, scale, mask);
        if (bf16) kt.bf16_row(row, nk, nk_kp, qb + i * nk_kp);
        if (probs != nullptr) {
          const int64_t qpos = pos_of(g.row_begin + i0 + i);
          float* dst = probs + ((b * heads + h) * seq + qpos) * seq;
          if (row_pos == nullptr) {
            std::memcpy(dst, row, static_cast<size_t>(nk) * sizeof(float));
          } else {
            for (int64_t j = 0; j < nk; ++j) dst[row_pos[g.key_begin + j]] = row[j];
          }
        }
      }
      float* out = ctx + (g.row_begin + i0) * hidden + h * head_dim;
      for (int64_t j0 = 0; j0 < head_dim; j0 += pv_nr) {
        if (bf16) {
          pv_bf16(nk_kp, qb, nk_kp, words<uint16_t>(s.vpack) + (j0 / pv_nr) * nk_kp * pv_nr, out + j0, hidden, rows,
                  std::min<int64_t>(pv_nr, head_dim - j0));
        } else {
          pv_ukernel(nk, sc, keys_nr, s.vpack.data() + (j0 / pv_nr) * nk * pv_nr, out + j0, hidden, rows,
                     std::min<int64_t>(pv_nr, head_dim - j0), 0);
        }
      }
    }
  });
}

}  // namespace

void attention(const KernelTable& kt, const float* qkv, const AttentionSegment* segments, int64_t batch,
               int64_t heads, int64_t head_dim, const float* key_mask_add, float scale, float* ctx, float* probs,
               int64_t seq, const int64_t* row_pos, int num_threads, const RelativePositions* rel) {
  attention_impl(kt, qkv, nullptr, 0, segments, batch, heads, head_dim, key_mask_add, scale, ctx, probs, seq,
                 row_pos, num_threads, rel);
}

void attention_bf16(const KernelTable& kt, const uint16_t* qkv, int64_t ld, const AttentionSegment* segments,
                    int64_t batch, int64_t heads, int64_t head_dim, const float* key_mask_add, float scale,
                    float* ctx, float* probs, int64_t seq, const int64_t* row_pos, int num_threads,
                    const RelativePositions* rel) {
  attention_impl(kt, nullptr, qkv, ld, segments, batch, heads, head_dim, key_mask_add, scale, ctx, probs, seq,
                 row_pos, num_threads, rel);
}

}  // namespace bertcore
