// The BERT encoder: embeddings, N post-LayerNorm transformer layers, optional pooler. One forward call runs the
// whole model on the kernel family the encoder was built with; scratch buffers are kept and reused across
// calls (a mutex serialises concurrent calls on one encoder).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "bertcore/buffer.h"
#include "bertcore/kernels.h"
#include "bertcore/ops.h"

namespace bertcore {

struct EncoderConfig {
  int64_t hidden = 0;
  int64_t heads = 0;
  int64_t layers = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  int64_t max_positions = 0;
  int64_t type_vocab = 0;      // 0: no token type embeddings (DistilBERT)
  int64_t task_type_vocab = 0;  // 0: no task type embeddings (all but ERNIE with use_task_id)
  int64_t embedding_size = 0;  // width of the embedding tables; 0 = hidden. Else emb_project maps it to hidden.
  float eps = 1e-12f;          // every LayerNorm
  Activation act = Activation::kGeluErf;
  bool absolute_positions = true;
  int relative_attention = 0;  // 0: none, 1: relative_key, 2: relative_key_query (transformers 4.x)
  bool attention_bf16 = false;  // attention's two products in bf16 (see attention() in ops.h)
};

struct EncoderLayer {
  // Packed weights are shared, not copied: the Python objects that made them may keep them too.
  std::shared_ptr<const PackedLinear> qkv;       // [3 hidden, hidden]: query, key, value stacked
  std::shared_ptr<const PackedLinear> attn_out;  // [hidden, hidden]
  std::shared_ptr<const PackedLinear> ffn_in;    // [intermediate, hidden]
  std::shared_ptr<const PackedLinear> ffn_out;   // [hidden, intermediate]
  AlignedBuffer ln1_gamma, ln1_beta, ln2_gamma, ln2_beta;
  std::shared_ptr<const PackedLinear> distance;  // [2 max_positions - 1, head_dim] with relative attention
};

struct EncoderWeights {
  AlignedBuffer word, position, token_type, task_type, emb_ln_gamma, emb_ln_beta;
  AlignedBuffer word_bf16;  // the word table as bf16 bits (two per float slot) instead of `word`
  AlignedBuffer word_i8, word_scale;  // or as int8 (four per float slot) with one scale per row
  std::shared_ptr<const PackedLinear> emb_project;  // [hidden, embedding_size] when the sizes differ
  std::vector<EncoderLayer> layers;
  std::shared_ptr<const PackedLinear> pooler;  // null without a pooling layer
};

// The tokens of one forward call, as a packed list of rows. The dense case has rows = batch * seq with every
// position present; the packed case (padding skipped) holds only the rows that are computed.
struct TokenBatch {
  int64_t batch = 0;
  int64_t seq = 0;   // output layout: [batch, seq]
  int64_t rows = 0;  // rows computed
  const int64_t* ids = nullptr;       // [rows]
  const int64_t* type_ids = nullptr;  // [rows]
  const int64_t* task_ids = nullptr;  // [rows] task type ids; null when the encoder has no task types
  const int64_t* pos_ids = nullptr;   // [rows] position-embedding index
  const int64_t* row_pos = nullptr;   // [rows] position of the row in its sequence; null when rows == batch*seq
  const AttentionSegment* segments = nullptr;  // [batch]; a sequence's first row is its position 0 (pooler)
  const float* key_mask_add = nullptr;         // [rows] additive key mask, or null (every key kept)
};

// Where forward writes. Null pointers are outputs not asked for. Positions of [batch, seq] that no row maps
// to are left as they are (callers pass zeroed arrays).
struct EncoderOutputs {
  float* last_hidden = nullptr;       // [batch, seq, hidden]
  float* pooled = nullptr;            // [batch, hidden]
  std::vector<float*> hidden_states;  // empty, or layers + 1 of [batch, seq, hidden]
  std::vector<float*> attentions;     // empty, or layers of [batch, heads, seq, seq]
};

class Encoder {
 public:
  // Takes the weights; checks every shape against the config and that all linears were packed for `kt`.
  Encoder(const EncoderConfig& config, EncoderWeights weights, const KernelTable& kt);

  // Runs the whole encoder. Throws std::invalid_argument on an out-of-range index or a malformed batch.
  void forward(const TokenBatch& tokens, const EncoderOutputs& out, int num_threads);

  const EncoderConfig& config() const { return config_; }
  const KernelTable& kernels() const { return *kt_; }
  bool has_pooler() const { return weights_.pooler != nullptr; }
  // Bytes held in scratch buffers now.
  int64_t workspace_bytes() const;
  // About the most scratch memory (bytes) a forward call on `rows` token rows of `batch` sequences of up to
  // `seq` tokens allocates at once, on `num_threads` threads: the layer buffers, a low-precision layer's
  // converted input, each thread's attention buffers.
  int64_t scratch_bytes(int64_t rows, int64_t batch, int64_t seq, int num_threads) const;
  // Bytes held by the weights (each shared packed layer counted once).
  int64_t weight_bytes() const;
  // Frees the scratch buffers (they are re-made on the next call).
  void release_workspace();

 private:
  EncoderConfig config_;
  EncoderWeights weights_;
  const KernelTable* kt_;
  std::mutex mutex_;
  void scatter_rows(const TokenBatch& tokens, const float* src, float* dst) const;
  // Sizes the scratch buffers for `rows` token rows. They grow as needed and shrink back once the largest
  // call among the last kRecentCalls needs less than half of what they hold (so one unusually large batch
  // does not pin its memory for the life of the model, unlike an arena that never shrinks).
  void fit_workspace(int64_t rows);
  static constexpr int kRecentCalls = 8;
  std::array<int64_t, kRecentCalls> recent_rows_{};
  int recent_next_ = 0;
  int64_t workspace_rows_ = 0;

  AlignedBuffer x_, xe_, qkv_, ctx_, tmp_, ffn_, pool_in_;
};

}  // namespace bertcore
