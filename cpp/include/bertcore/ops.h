// Ops: shape checks, cache blocking and threading around the kernel table. Every op takes the table to use,
// so a model keeps the family it was built with. Ops throw std::invalid_argument on bad shapes or indices,
// always before any thread starts.
#pragma once

#include <cstdint>

#include "bertcore/buffer.h"
#include "bertcore/kernels.h"

namespace bertcore {

// A dense layer y = x · W^T + b with W (Hugging Face's [out, in] layout) packed once for one family's GEMM:
// panel j holds columns [j NR, (j + 1) NR) of W^T as K rows of NR floats, zero-padded past N.
struct PackedLinear {
  Isa isa = Isa::kScalar;
  int nr = 0;
  int64_t n = 0;  // output features
  int64_t k = 0;  // input features
  AlignedBuffer panels;
  AlignedBuffer bias;  // empty when the layer has none

  int64_t num_panels() const { return (n + nr - 1) / nr; }
  const float* panel(int64_t j) const { return panels.data() + j * k * nr; }
};

// Packs weight[n][k] (row-major) and bias[n] (may be null) for the table's GEMM.
PackedLinear pack_linear(const KernelTable& kt, const float* weight, int64_t n, int64_t k, const float* bias);

// Unpacks to weight[n][k] (row-major), for tests.
void unpack_linear(const PackedLinear& w, float* weight);

// y[m][n] = act(x[m][k] · W^T + b) (+ residual[m][n]). Rows of x, y and residual are ldx, ldy, ldr apart.
// y must overlap neither x nor residual.
void linear(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w, float* y,
            int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads);

// Row-wise layer norm over rows x n, in place allowed.
void layer_norm_rows(const KernelTable& kt, const float* x, float* y, int64_t rows, int64_t n, const float* gamma,
                     const float* beta, float eps, int num_threads);

// In place, element-wise.
void activation_inplace(const KernelTable& kt, float* x, int64_t count, Activation act, int num_threads);

// Row-wise softmax over rows x n, in place.
void softmax_rows(const KernelTable& kt, float* x, int64_t rows, int64_t n, int num_threads);

// out[t] = LayerNorm(word[ids[t]] + type[type_ids[t]] + pos[pos_ids[t]] + task[task_ids[t]]) for t < tokens.
// Every table but the word table may be null (then so may its ids): no absolute positions, no token types, no
// task types. Throws std::invalid_argument on an out-of-range index.
struct EmbeddingTables {
  const float* word = nullptr;
  int64_t vocab = 0;
  const float* position = nullptr;
  int64_t max_positions = 0;
  const float* token_type = nullptr;
  int64_t type_vocab = 0;
  const float* task_type = nullptr;  // ERNIE's task type table, added last
  int64_t task_vocab = 0;
  const float* ln_gamma = nullptr;
  const float* ln_beta = nullptr;
  int64_t hidden = 0;
  float eps = 1e-12f;
};
void embeddings(const KernelTable& kt, const EmbeddingTables& tables, const int64_t* ids, const int64_t* type_ids,
                const int64_t* task_ids, const int64_t* pos_ids, int64_t tokens, float* out, int num_threads);

// Which rows of a packed token matrix belong to one sequence. Rows [row_begin, row_begin + row_count) are its
// queries; rows [key_begin, key_begin + key_count) (a sub-range) are its keys and values.
struct AttentionSegment {
  int64_t row_begin = 0;
  int64_t row_count = 0;
  int64_t key_begin = 0;
  int64_t key_count = 0;
};

// Relative position scores of transformers 4.x BERT (position_embedding_type relative_key and
// relative_key_query): with E the layer's distance embedding [2 P - 1, head_dim] (P = max_positions) packed
// as a PackedLinear, and t = pos(query) - pos(key) + P - 1, the raw score q·k gets q·E[t] added (relative_key)
// and also k·E[t] (relative_key_query), before the scaling. Positions are the rows' places in their padded
// sequence (row_pos), as transformers 4.x computes them from the padded layout.
struct RelativePositions {
  const PackedLinear* table = nullptr;
  int mode = 0;  // 1: relative_key, 2: relative_key_query
  int64_t max_positions = 0;
};

// Multi-head scaled dot-product attention, transformers' eager form: P = softmax(Q K^T * scale + mask),
// ctx = P V, per sequence. qkv is [rows][3 * hidden] (Q, K, V side by side, head h in columns h*d .. h*d+d-1
// of each); key_mask_add, when not null, holds one additive value per row (0 for kept keys, finfo(float32).min
// for masked ones); ctx is [rows][hidden]. probs, when not null, receives P as [batch][heads][seq][seq] at the
// positions row_pos gives (row_pos[r] = position of row r in its sequence; null = row - row_begin); entries
// for rows or keys not computed are left as they are.
// rel, when not null, adds relative position scores (see RelativePositions); it needs seq <= max_positions.
void attention(const KernelTable& kt, const float* qkv, const AttentionSegment* segments, int64_t batch,
               int64_t heads, int64_t head_dim, const float* key_mask_add, float scale, float* ctx, float* probs,
               int64_t seq, const int64_t* row_pos, int num_threads, const RelativePositions* rel = nullptr);

}  // namespace bertcore
