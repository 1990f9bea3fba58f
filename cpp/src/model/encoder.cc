// The BERT encoder forward pass (see encoder.h). Per layer, as transformers' BertLayer:
//   qkv = x Wqkv^T + b;  ctx = attention(qkv);  x1 = LN(ctx Wo^T + bo + x);
//   h = act(x1 W1^T + b1);  x = LN(h W2^T + b2 + x1)
#include "bertcore/encoder.h"
#include "../ops/packing.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bertcore {
namespace {

void check_linear(const std::shared_ptr<const PackedLinear>& wp, int64_t n, int64_t k, const KernelTable& kt,
                  const std::string& name) {
  if (wp == nullptr) throw std::invalid_argument(name + " is missing");
  const PackedLinear& w = *wp;
  if (w.n != n || w.k != k) {
    throw std::invalid_argument(name + " has shape [" + std::to_string(w.n) + ", " + std::to_string(w.k) +
                                "], expected [" + std::to_string(n) + ", " + std::to_string(k) + "]");
  }
  if (w.isa != kt.isa || w.nr != kt.gemm_nr) {
    throw std::invalid_argument(name + " was packed for '" + std::string(isa_name(w.isa)) +
                                "' kernels, but the encoder is built for '" + isa_name(kt.isa) + "'");
  }
  if (w.bias.size() != n) throw std::invalid_argument(name + " has no bias of length " + std::to_string(n));
}

void check_vector(const AlignedBuffer& b, int64_t n, const std::string& name) {
  if (b.size() != n) {
    throw std::invalid_argument(name + " has " + std::to_string(b.size()) + " values, expected " +
                                std::to_string(n));
  }
}

}  // namespace

Encoder::Encoder(const EncoderConfig& c, EncoderWeights weights, const KernelTable& kt)
    : config_(c), weights_(std::move(weights)), kt_(&kt) {
  if (c.hidden <= 0 || c.heads <= 0 || c.layers < 0 || c.intermediate <= 0 || c.vocab <= 0 ||
      c.type_vocab < 0 || c.task_type_vocab < 0 || c.embedding_size < 0 || (c.absolute_positions && c.max_positions <= 0)) {
    throw std::invalid_argument("encoder config has a non-positive size");
  }
  if (c.relative_attention < 0 || c.relative_attention > 2) {
    throw std::invalid_argument("relative_attention must be 0, 1 or 2");
  }
  if (c.relative_attention != 0 && c.max_positions <= 0) {
    throw std::invalid_argument("relative attention needs max_positions");
  }
  if (c.hidden % c.heads != 0) {
    throw std::invalid_argument("hidden size " + std::to_string(c.hidden) + " is not a multiple of " +
                                std::to_string(c.heads) + " attention heads");
  }
  const int64_t h = c.hidden;
  const int64_t e = c.embedding_size > 0 ? c.embedding_size : h;
  if (weights_.word_bf16.size() > 0) {
    check_vector(weights_.word_bf16, (c.vocab * e + 1) / 2, "word embeddings (bf16)");
  } else if (weights_.word_i8.size() > 0) {
    check_vector(weights_.word_i8, (c.vocab * e + 3) / 4, "word embeddings (int8)");
    check_vector(weights_.word_scale, c.vocab, "word embedding scales");
  } else {
    check_vector(weights_.word, c.vocab * e, "word embeddings");
  }
  if (c.absolute_positions) check_vector(weights_.position, c.max_positions * e, "position embeddings");
  check_vector(weights_.token_type, c.type_vocab * e, "token type embeddings");
  check_vector(weights_.task_type, c.task_type_vocab * e, "task type embeddings");
  check_vector(weights_.emb_ln_gamma, e, "embeddings LayerNorm weight");
  check_vector(weights_.emb_ln_beta, e, "embeddings LayerNorm bias");
  if (e != h) {
    check_linear(weights_.emb_project, h, e, kt, "embeddings projection");
  } else if (weights_.emb_project != nullptr) {
    check_linear(weights_.emb_project, h, h, kt, "embeddings projection");
  }
  if (static_cast<int64_t>(weights_.layers.size()) != c.layers) {
    throw std::invalid_argument("got " + std::to_string(weights_.layers.size()) + " layers, config says " +
                                std::to_string(c.layers));
  }
  for (size_t i = 0; i < weights_.layers.size(); ++i) {
    const EncoderLayer& l = weights_.layers[i];
    const std::string p = "layer " + std::to_string(i) + " ";
    check_linear(l.qkv, 3 * h, h, kt, p + "query/key/value");
    if (c.attention_bf16 && l.qkv->type == WeightType::kF32) {
      throw std::invalid_argument(p + "query/key/value: attention_bf16 needs bf16 or int8 weights");
    }
    check_linear(l.attn_out, h, h, kt, p + "attention output dense");
    check_linear(l.ffn_in, c.intermediate, h, kt, p + "intermediate dense");
    check_linear(l.ffn_out, h, c.intermediate, kt, p + "output dense");
    check_vector(l.ln1_gamma, h, p + "attention LayerNorm weight");
    check_vector(l.ln1_beta, h, p + "attention LayerNorm bias");
    check_vector(l.ln2_gamma, h, p + "output LayerNorm weight");
    check_vector(l.ln2_beta, h, p + "output LayerNorm bias");
    if (c.relative_attention != 0) {
      if (l.distance == nullptr || l.distance->n != 2 * c.max_positions - 1 || l.distance->k != h / c.heads ||
          l.distance->isa != kt.isa) {
        throw std::invalid_argument(p + "distance embedding must be [2 * max_positions - 1, head_dim], packed for " +
                                    isa_name(kt.isa));
      }
    }
  }
  if (weights_.pooler != nullptr) check_linear(weights_.pooler, h, h, kt, "pooler dense");
}

int64_t Encoder::workspace_bytes() const {
  return static_cast<int64_t>(sizeof(float)) *
         (x_.size() + xe_.size() + qkv_.size() + ctx_.size() + tmp_.size() + ffn_.size() + pool_in_.size());
}

int64_t Encoder::scratch_bytes(int64_t rows, int64_t batch, int64_t seq, int num_threads) const {
  const EncoderConfig& c = config_;
  const KernelTable& kt = *kt_;
  const int64_t h = c.hidden, e = c.embedding_size > 0 ? c.embedding_size : h;
  int64_t floats = rows * (5 * h + c.intermediate + (weights_.emb_project != nullptr ? e : 0)) + batch * h;
  // The widest low-precision input (the FFN output layer's) converted per call: 2 bytes a value in bf16.
  int64_t lowp_bytes = 0;
  for (const EncoderLayer& l : weights_.layers) {
    if (l.ffn_out != nullptr && l.ffn_out->type != WeightType::kF32) lowp_bytes = rows * (2 * l.ffn_out->kp + 4);
  }
  const int64_t head_dim = h / c.heads, keys = round_up(std::max<int64_t>(seq, 1), kt.gemm_nr);
  int64_t per_thread = 2 * keys * round_up(head_dim, kt.gemm_nr) + kt.gemm_mr * keys;
  if (c.attention_bf16) {
    // a block's Q or P rows as bf16; with relative attention, the query or key rows widened back
    per_thread += kt.gemm_mr * std::max(round_up(head_dim, 4), keys) / 2 + 1;
    if (c.relative_attention != 0) per_thread += std::max<int64_t>(kt.gemm_mr, seq) * head_dim;
  }
  if (c.relative_attention != 0) per_thread += (kt.gemm_mr + seq) * round_up(2 * seq, kt.gemm_nr);
  floats += std::max(num_threads, 1) * per_thread;
  return static_cast<int64_t>(sizeof(float)) * floats + lowp_bytes;
}

int64_t Encoder::weight_bytes() const {
  const EncoderWeights& w = weights_;
  int64_t floats = w.word.size() + w.word_bf16.size() + w.word_i8.size() + w.word_scale.size() + w.position.size() +
                   w.token_type.size() + w.task_type.size() + w.emb_ln_gamma.size() + w.emb_ln_beta.size();
  std::vector<const PackedLinear*> seen;
  int64_t packed = 0;
  auto add = [&](const std::shared_ptr<const PackedLinear>& p) {
    if (p == nullptr || std::find(seen.begin(), seen.end(), p.get()) != seen.end()) return;
    seen.push_back(p.get());
    packed += p->weight_bytes() + static_cast<int64_t>(sizeof(float)) * (p->bias.size() + p->scales.size()) +
              static_cast<int64_t>(sizeof(int32_t) * p->comp.size());
  };
  for (const EncoderLayer& l : w.layers) {
    for (const auto* p : {&l.qkv, &l.attn_out, &l.ffn_in, &l.ffn_out, &l.distance}) add(*p);
    floats += l.ln1_gamma.size() + l.ln1_beta.size() + l.ln2_gamma.size() + l.ln2_beta.size();
  }
  add(w.pooler);
  add(w.emb_project);
  return packed + static_cast<int64_t>(sizeof(float)) * floats;
}

void Encoder::fit_workspace(int64_t rows) {
  recent_rows_[recent_next_] = rows;
  recent_next_ = (recent_next_ + 1) % kRecentCalls;
  int64_t recent_max = 0;
  for (int64_t r : recent_rows_) recent_max = std::max(recent_max, r);
  int64_t target = workspace_rows_;
  if (rows > workspace_rows_) {
    target = rows;
  } else if (workspace_rows_ > 2 * recent_max) {
    target = recent_max;  // shrink back after an unusually large batch
  }
  if (target == workspace_rows_) return;
  const EncoderConfig& c = config_;
  const int64_t e = c.embedding_size > 0 ? c.embedding_size : c.hidden;
  // Buffers already resized are empty after a failure: mark the workspace as holding nothing, so the next call
  // sizes it again rather than running on missing buffers.
  workspace_rows_ = 0;
  try {
    x_.resize(target * c.hidden);
    if (weights_.emb_project != nullptr) xe_.resize(target * e);
    qkv_.resize(target * 3 * c.hidden);
    ctx_.resize(target * c.hidden);
    tmp_.resize(target * c.hidden);
    ffn_.resize(target * c.intermediate);
  } catch (const std::bad_alloc&) {
    recent_rows_[(recent_next_ + kRecentCalls - 1) % kRecentCalls] = 0;
    for (AlignedBuffer* b : {&x_, &xe_, &qkv_, &ctx_, &tmp_, &ffn_}) b->resize(0);
    throw;
  }
  workspace_rows_ = target;
}

void Encoder::release_workspace() {
  std::lock_guard<std::mutex> lock(mutex_);
  workspace_rows_ = 0;
  recent_rows_.fill(0);
  x_.resize(0);
  xe_.resize(0);
  qkv_.resize(0);
  ctx_.resize(0);
  tmp_.resize(0);
  ffn_.resize(0);
  pool_in_.resize(0);
}

void Encoder::scatter_rows(const TokenBatch& tokens, const float* src, float* dst) const {
  const int64_t h = config_.hidden;
  const size_t row_bytes = static_cast<size_t>(h) * sizeof(float);
  if (tokens.row_pos == nullptr) {
    std::memcpy(dst, src, row_bytes * static_cast<size_t>(tokens.rows));
    return;
  }
  for (int64_t b = 0; b < tokens.batch; ++b) {
    const AttentionSegment& g = tokens.segments[b];
    for (int64_t r = g.row_begin; r < g.row_begin + g.row_count; ++r) {
      std::memcpy(dst + (b * tokens.seq + tokens.row_pos[r]) * h, src + r * h, row_bytes);
    }
  }
}

void Encoder::forward(const TokenBatch& tk, const EncoderOutputs& out, int num_threads) {
  const EncoderConfig& c = config_;
  const KernelTable& kt = *kt_;
  if (tk.batch <= 0 || tk.seq <= 0 || tk.rows <= 0) throw std::invalid_argument("empty batch");
  if (tk.row_pos == nullptr && tk.rows != tk.batch * tk.seq) {
    throw std::invalid_argument("a packed batch needs row positions");
  }
  for (int64_t b = 0; b < tk.batch; ++b) {
    const AttentionSegment& g = tk.segments[b];
    if (g.row_begin < 0 || g.row_count < 1 || g.row_begin + g.row_count > tk.rows || g.key_begin < g.row_begin ||
        g.key_count < 0 || g.key_begin + g.key_count > g.row_begin + g.row_count || g.row_count > tk.seq) {
      throw std::invalid_argument("malformed segment for sequence " + std::to_string(b));
    }
  }
  if (c.relative_attention != 0 && tk.seq > c.max_positions) {
    throw std::invalid_argument("sequence length " + std::to_string(tk.seq) + " exceeds max_position_embeddings (" +
                                std::to_string(c.max_positions) + "), which relative attention needs");
  }
  if (tk.row_pos != nullptr) {
    for (int64_t r = 0; r < tk.rows; ++r) {
      if (tk.row_pos[r] < 0 || tk.row_pos[r] >= tk.seq) throw std::invalid_argument("row position out of range");
    }
  }
  if (out.last_hidden == nullptr) throw std::invalid_argument("forward needs a last_hidden output buffer");
  if (!out.hidden_states.empty() && static_cast<int64_t>(out.hidden_states.size()) != c.layers + 1) {
    throw std::invalid_argument("hidden_states needs layers + 1 buffers");
  }
  if (!out.attentions.empty() && static_cast<int64_t>(out.attentions.size()) != c.layers) {
    throw std::invalid_argument("attentions needs one buffer per layer");
  }
  if (out.pooled != nullptr && weights_.pooler == nullptr) throw std::invalid_argument("this encoder has no pooler");
  if ((tk.task_ids != nullptr) != (c.task_type_vocab > 0)) {
    throw std::invalid_argument(c.task_type_vocab > 0 ? "this encoder needs task type ids"
                                                      : "this encoder has no task type embeddings");
  }

  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t h = c.hidden, t = tk.rows, inter = c.intermediate;
  fit_workspace(t);
  float* x = x_.data();
  float* tmp = tmp_.data();

  EmbeddingTables e;
  e.word = weights_.word.size() > 0 ? weights_.word.data() : nullptr;
  e.word_bf16 = weights_.word_bf16.size() > 0 ? reinterpret_cast<const uint16_t*>(weights_.word_bf16.data()) : nullptr;
  e.word_i8 = weights_.word_i8.size() > 0 ? reinterpret_cast<const int8_t*>(weights_.word_i8.data()) : nullptr;
  e.word_scale = weights_.word_scale.size() > 0 ? weights_.word_scale.data() : nullptr;
  e.vocab = c.vocab;
  e.position = c.absolute_positions ? weights_.position.data() : nullptr;
  e.max_positions = c.max_positions;
  e.token_type = c.type_vocab > 0 ? weights_.token_type.data() : nullptr;
  e.type_vocab = c.type_vocab;
  e.task_type = c.task_type_vocab > 0 ? weights_.task_type.data() : nullptr;
  e.task_vocab = c.task_type_vocab;
  e.ln_gamma = weights_.emb_ln_gamma.data();
  e.ln_beta = weights_.emb_ln_beta.data();
  e.hidden = c.embedding_size > 0 ? c.embedding_size : h;
  e.eps = c.eps;
  if (weights_.emb_project != nullptr) {
    embeddings(kt, e, tk.ids, tk.type_ids, tk.task_ids, tk.pos_ids, t, xe_.data(), num_threads);
    linear(kt, xe_.data(), t, e.hidden, *weights_.emb_project, x, h, Activation::kIdentity, nullptr, 0,
           num_threads);
  } else {
    embeddings(kt, e, tk.ids, tk.type_ids, tk.task_ids, tk.pos_ids, t, x, num_threads);
  }
  if (!out.hidden_states.empty()) scatter_rows(tk, x, out.hidden_states[0]);

  const int64_t head_dim = h / c.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int64_t li = 0; li < c.layers; ++li) {
    const EncoderLayer& l = weights_.layers[li];
    RelativePositions rel;
    if (c.relative_attention != 0) {
      rel.table = l.distance.get();
      rel.mode = c.relative_attention;
      rel.max_positions = c.max_positions;
    }
    float* probs = out.attentions.empty() ? nullptr : out.attentions[li];
    if (c.attention_bf16) {
      // Q, K and V leave the projection as bf16 (qkv_ holds them as bits): half the bytes, no conversion pass.
      uint16_t* qkv16 = reinterpret_cast<uint16_t*>(qkv_.data());
      const int64_t ld16 = round_up(3 * h, 4);
      linear_bf16_out(kt, x, t, h, *l.qkv, qkv16, ld16, Activation::kIdentity, num_threads);
      attention_bf16(kt, qkv16, ld16, tk.segments, tk.batch, c.heads, head_dim, tk.key_mask_add, scale,
                     ctx_.data(), probs, tk.seq, tk.row_pos, num_threads, c.relative_attention != 0 ? &rel : nullptr);
    } else {
      linear(kt, x, t, h, *l.qkv, qkv_.data(), 3 * h, Activation::kIdentity, nullptr, 0, num_threads);
      attention(kt, qkv_.data(), tk.segments, tk.batch, c.heads, head_dim, tk.key_mask_add, scale, ctx_.data(),
                probs, tk.seq, tk.row_pos, num_threads, c.relative_attention != 0 ? &rel : nullptr);
    }
    linear(kt, ctx_.data(), t, h, *l.attn_out, tmp, h, Activation::kIdentity, x, h, num_threads);
    layer_norm_rows(kt, tmp, tmp, t, h, l.ln1_gamma.data(), l.ln1_beta.data(), c.eps, num_threads);
    const int64_t ffn_kp = l.ffn_out->kp;
    if (l.ffn_in->type == WeightType::kBF16 && l.ffn_out->type == WeightType::kBF16 && ffn_kp <= 2 * inter) {
      // The FFN's widest activations stay bf16 between its layers (ffn_ holds them as bits): no fp32 round
      // trip through memory, no conversion pass.
      uint16_t* mid = reinterpret_cast<uint16_t*>(ffn_.data());
      linear_bf16_out(kt, tmp, t, h, *l.ffn_in, mid, ffn_kp, c.act, num_threads);
      linear_bf16_in(kt, mid, t, ffn_kp, *l.ffn_out, x, h, Activation::kIdentity, tmp, h, num_threads);
    } else {
      linear(kt, tmp, t, h, *l.ffn_in, ffn_.data(), inter, c.act, nullptr, 0, num_threads);
      linear(kt, ffn_.data(), t, inter, *l.ffn_out, x, h, Activation::kIdentity, tmp, h, num_threads);
    }
    layer_norm_rows(kt, x, x, t, h, l.ln2_gamma.data(), l.ln2_beta.data(), c.eps, num_threads);
    if (!out.hidden_states.empty()) scatter_rows(tk, x, out.hidden_states[li + 1]);
  }
  scatter_rows(tk, x, out.last_hidden);

  if (out.pooled != nullptr) {
    if (pool_in_.size() < tk.batch * h || pool_in_.size() > 2 * tk.batch * h) pool_in_.resize(tk.batch * h);
    for (int64_t b = 0; b < tk.batch; ++b) {
      std::memcpy(pool_in_.data() + b * h, x + tk.segments[b].row_begin * h, static_cast<size_t>(h) * sizeof(float));
    }
    linear(kt, pool_in_.data(), tk.batch, h, *weights_.pooler, out.pooled, h, Activation::kTanh, nullptr, 0,
           num_threads);
  }
}

}  // namespace bertcore
