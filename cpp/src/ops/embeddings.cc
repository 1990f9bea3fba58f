// Embeddings: ((word + token type) + absolute position) + task type, then LayerNorm, in transformers' order of
// additions; all but the word table are optional (DistilBERT has no token types, relative-position models no
// positions, only ERNIE has task types).
#include <cstring>
#include <stdexcept>
#include <string>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"

namespace bertcore {
namespace {

void check_range(const int64_t* idx, int64_t tokens, int64_t limit, const char* what) {
  for (int64_t t = 0; t < tokens; ++t) {
    if (idx[t] < 0 || idx[t] >= limit) {
      throw std::invalid_argument(std::string(what) + " holds " + std::to_string(idx[t]) + " at flat position " +
                                  std::to_string(t) + "; valid values are 0.." + std::to_string(limit - 1));
    }
  }
}

}  // namespace

void embeddings(const KernelTable& kt, const EmbeddingTables& e, const int64_t* ids, const int64_t* type_ids,
                const int64_t* task_ids, const int64_t* pos_ids, int64_t tokens, float* out, int num_threads) {
  if (tokens <= 0) return;
  check_range(ids, tokens, e.vocab, "input_ids");
  if (e.token_type != nullptr) check_range(type_ids, tokens, e.type_vocab, "token_type_ids");
  if (e.position != nullptr) check_range(pos_ids, tokens, e.max_positions, "position_ids");
  if (e.task_type != nullptr) check_range(task_ids, tokens, e.task_vocab, "task_type_ids");
  const int64_t h = e.hidden;
  parallel_for(tokens, num_threads, threads_for_elements(tokens * h, num_threads), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* row = out + t * h;
      const float* pos = e.position != nullptr ? e.position + pos_ids[t] * h : nullptr;
      const float* word = e.word != nullptr ? e.word + ids[t] * h : row;
      if (e.word_bf16 != nullptr) {
        const uint16_t* src = e.word_bf16 + ids[t] * h;
        for (int64_t i = 0; i < h; ++i) {
          const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
          std::memcpy(row + i, &bits, sizeof(float));
        }
      } else if (e.word_i8 != nullptr) {
        const int8_t* src = e.word_i8 + ids[t] * h;
        const float scale = e.word_scale[ids[t]];
        for (int64_t i = 0; i < h; ++i) row[i] = static_cast<float>(src[i]) * scale;
      }
      if (e.token_type != nullptr) {
        kt.add3(word, e.token_type + type_ids[t] * h, pos, row, h);
      } else if (pos != nullptr) {
        kt.add3(word, pos, nullptr, row, h);
      } else if (word != row) {
        std::memcpy(row, word, static_cast<size_t>(h) * sizeof(float));
      }
      if (e.task_type != nullptr) kt.add3(row, e.task_type + task_ids[t] * h, nullptr, row, h);
      kt.layer_norm(row, row, e.ln_gamma, e.ln_beta, h, e.eps);
    }
  });
}

}  // namespace bertcore
