// Packing into the GEMM microkernel's B layout (see KernelTable::gemm_ukernel): panels of NR columns, each k
// rows of NR floats, columns past the matrix zero-filled; and into the bf16 tile's pair layout for attention's
// bf16 products. Shared by the dense layers (weights, once at load) and attention (K and V of a head, per
// call). Baseline code: compiled with the ops, never with ISA flags.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace bertcore {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Columns are rows of src: panel j, row p, column c = src[(j*nr + c) * ld + p] (W^T from W[n][k]; K^T).
// Each source row is read once, contiguously, and scattered down its column of the panel.
inline void pack_b_transposed(const float* src, int64_t ld, int64_t cols, int64_t k, int nr, float* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - j0);
    for (int64_t c = 0; c < w; ++c) {
      const float* row = src + (j0 + c) * ld;
      for (int64_t p = 0; p < k; ++p) dst[p * nr + c] = row[p];
    }
    if (w < nr) {
      for (int64_t p = 0; p < k; ++p)
        for (int64_t c = w; c < nr; ++c) dst[p * nr + c] = 0.0f;
    }
    dst += k * nr;
  }
}

// Columns are columns of src: panel j, row p, column c = src[p * ld + j*nr + c] (V).
inline void pack_b_rows(const float* src, int64_t ld, int64_t cols, int64_t k, int nr, float* dst) {
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

// Asks for the cache lines of [p, p + bytes) ahead of their use.
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(c + b, 0, 3);
  __builtin_prefetch(c + bytes - 1, 0, 3);
}

// How far ahead the bf16 packers ask for the source rows they will read.
constexpr int64_t kRowsAhead = 8;

// The bf16 tile's B layout (KernelTable::gemm_bf16_ukernel) from bf16 bits: panel j holds per pair g of K
// steps nr 32-bit lanes, lane c = steps 2g (low half) and 2g + 1 (high half) of column j*nr + c; columns past
// `cols` are zero. kp (even) steps per panel.

// Columns are rows of src (K^T), k valid steps each: lane = the 32-bit word at src[(j*nr + c) * ld + 2g], its
// steps at or past k zero.
inline void pack_bf16_transposed(const uint16_t* src, int64_t ld, int64_t cols, int64_t k, int64_t kp, int nr,
                                 uint32_t* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - j0);
    for (int64_t c = 0; c < w; ++c) {
      const uint16_t* row = src + (j0 + c) * ld;
      // Rows are far apart (attention's K rows: 3 hidden values), beyond the hardware prefetchers.
      if (j0 + c + kRowsAhead < cols) prefetch_bytes(row + kRowsAhead * ld, k * sizeof(uint16_t));
      int64_t g = 0;
      for (; 2 * g + 1 < k; ++g) std::memcpy(dst + g * nr + c, row + 2 * g, sizeof(uint32_t));
      if (2 * g < k) {
        dst[g * nr + c] = row[2 * g];  // an odd k: the last step alone, its pair zero
        ++g;
      }
      for (; g < kp / 2; ++g) dst[g * nr + c] = 0;
    }
    for (int64_t g = 0; w < nr && g < kp / 2; ++g) std::fill(dst + g * nr + w, dst + (g + 1) * nr, 0u);
    dst += kp / 2 * nr;
  }
}

// Columns are columns of src, steps its rows (V): lane = src[2g][col] | src[2g + 1][col] << 16, rows at or past
// `rows` read as zero.
inline void pack_bf16_rows(const uint16_t* src, int64_t ld, int64_t rows, int64_t cols, int64_t kp, int nr,
                           uint32_t* dst) {
  for (int64_t j0 = 0; j0 < cols; j0 += nr) {
    const int64_t w = std::min<int64_t>(nr, cols - j0);
    for (int64_t g = 0; g < kp / 2; ++g) {
      const uint16_t* lo = src + 2 * g * ld + j0;
      if (2 * g + kRowsAhead + 1 < rows) {
        prefetch_bytes(lo + kRowsAhead * ld, w * sizeof(uint16_t));
        prefetch_bytes(lo + (kRowsAhead + 1) * ld, w * sizeof(uint16_t));
      }
      uint32_t* d = dst + g * nr;
      int64_t c = 0;
      if (2 * g + 1 < rows) {
        for (; c < w; ++c) d[c] = lo[c] | static_cast<uint32_t>(lo[ld + c]) << 16;
      } else if (2 * g < rows) {
        for (; c < w; ++c) d[c] = lo[c];
      }
      std::fill(d + c, d + nr, 0u);
    }
    dst += kp / 2 * nr;
  }
}

}  // namespace bertcore
