// Ops: shape checks, cache blocking and threading around the kernel table. Every op takes the table to use,
// so a model keeps the family it was built with. Ops throw std::invalid_argument on bad shapes or indices,
// always before any thread starts.
#pragma once

#include <cstdint>
#include <vector>

#include "bertcore/buffer.h"
#include "bertcore/kernels.h"

namespace bertcore {

// How a dense layer's weight is stored: fp32, bf16 (rounded to nearest even), or int8 (symmetric, one scale
// per output channel); the activations are converted to the same type per call.
enum class WeightType : int { kF32 = 0, kBF16 = 1, kI8 = 2 };

// A dense layer y = x · W^T + b with W (Hugging Face's [out, in] layout) packed once for one family's GEMM:
// panel j holds columns [j NR, (j + 1) NR) of W^T, zero-padded past N. fp32 panels hold K rows of NR floats;
// bf16 and int8 panels hold kp (K rounded up to 4) steps in the lane groups of KernelTable's low-precision
// tiles.
struct PackedLinear {
  Isa isa = Isa::kScalar;
  WeightType type = WeightType::kF32;
  int nr = 0;
  int64_t n = 0;   // output features
  int64_t k = 0;   // input features
  int64_t kp = 0;  // K padded for the low-precision panels
  AlignedBuffer panels;  // fp32 panels, or the bf16 / int8 panels' bytes
  AlignedBuffer bias;    // empty when the layer has none
  AlignedBuffer scales;  // int8: per output channel, padded to whole panels
  std::vector<int32_t> comp;  // int8: 128 * the column's sum of weights, padded to whole panels
  int outliers = 0;           // int8: inputs per row kept out of the quantization (see linear)

  int64_t num_panels() const { return (n + nr - 1) / nr; }
  const float* panel(int64_t j) const { return panels.data() + j * k * nr; }
  const uint16_t* panel_bf16(int64_t j) const { return reinterpret_cast<const uint16_t*>(panels.data()) + j * kp * nr; }
  const int8_t* panel_i8(int64_t j) const { return reinterpret_cast<const int8_t*>(panels.data()) + j * kp * nr; }
  int64_t weight_bytes() const;
};

// Packs weight[n][k] (row-major) and bias[n] (may be null) for the table's GEMM, stored as `type`.
PackedLinear pack_linear(const KernelTable& kt, const float* weight, int64_t n, int64_t k, const float* bias,
                         WeightType type = WeightType::kF32);

// Unpacks to weight[n][k] (row-major; bf16 and int8 weights dequantized), for tests.
void unpack_linear(const PackedLinear& w, float* weight);

// Row i of x[m][k] quantized symmetrically: scale[i] = max|x_i| / 127 (1 for an all-zero or non-finite row)
// and q = clamp(rint(x * (127 / max|x_i|)), -127, 127), written as s8, or as u8 q + 128 when `unsigned_a`; the
// row is padded with zeros (q = 0) to kp values. The weights are quantized by the same rule, one row per
// output channel.
void quantize_rows(const KernelTable& kt, const float* x, int64_t m, int64_t k, int64_t ldx, int64_t kp,
                   bool unsigned_a, int8_t* q, float* scale);

// y[m][n] = act(x[m][k] · W^T + b) (+ residual[m][n]). Rows of x, y and residual are ldx, ldy, ldr apart.
// y must overlap neither x nor residual. bf16 and int8 layers convert x per call. An int8 layer with
// outliers = ko > 0 quantizes each row without its ko inputs of largest magnitude (KernelTable::largest_inputs;
// zeros in their place, so they no longer set the row's scale) and adds their products in fp32
// (KernelTable::i8_outliers).
void linear(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w, float* y,
            int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads);

// Two bf16 layers chained through bf16 activations, which the second layer would round its input to anyway:
// linear_bf16_out writes y = act(x · W^T + b) as bf16 bits (bf16_bits_of), rows ldy apart, each padded with
// zeros to round_up(n, 4), the kp of a layer with n inputs; linear_bf16_in is linear() with x given as such
// rows of w.kp bits. Both give the bits linear() then a conversion would. linear_bf16_out also takes int8
// weights (the query/key/value projection feeding attention_bf16), linear_bf16_in bf16 ones only (else
// std::invalid_argument); linear_bf16_out takes no residual.
void linear_bf16_out(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w,
                     uint16_t* y, int64_t ldy, Activation act, int num_threads);
void linear_bf16_in(const KernelTable& kt, const uint16_t* x, int64_t m, int64_t ldx, const PackedLinear& w,
                    float* y, int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads);

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
  const uint16_t* word_bf16 = nullptr;  // the word table as bf16 bits instead (bf16 models)
  const int8_t* word_i8 = nullptr;      // or quantized per row (int8 models): row v is word_i8[v] * word_scale[v]
  const float* word_scale = nullptr;
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

// The same with Q, K and V as bf16 bits (qkv's layout, rows ld apart): Q·K^T and P·V on the bf16 tile with
// fp32 accumulation, P rounded to bf16 (bf16_bits_of) in between; the scores, softmax and probs stay fp32, and
// the relative terms are fp32 products of the bf16 values.
void attention_bf16(const KernelTable& kt, const uint16_t* qkv, int64_t ld, const AttentionSegment* segments,
                    int64_t batch, int64_t heads, int64_t head_dim, const float* key_mask_add, float scale,
                    float* ctx, float* probs, int64_t seq, const int64_t* row_pos, int num_threads,
                    const RelativePositions* rel = nullptr);

}  // namespace bertcore
