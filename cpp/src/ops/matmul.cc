// Dense layers: packing W once, then the BLIS loops around the family's register tile.
//
// Loop nest for y = x · W^T (x: m x k, W^T: k x n), per work unit (an MC x NC block of y):
//   for pc in K step KC:
//     for ir in MC step MR:       the x rows (MR x KC, read in place: x is not packed) stay in L1
//       for jr in NC step NR:     W micro-panels (KC x NR, pre-packed) stream from L2
//         ukernel; after the last pc, the epilogue (bias, activation, residual) on the tile while it is hot.
// Work units are spread over threads; when M is small, N is split finer so every thread has work.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>
#include <stdexcept>
#include <string>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"
#include "packing.h"

namespace bertcore {

namespace {

constexpr int64_t kLowpGroup = 4;  // K padding of the low-precision panels (int8 groups 4 steps, bf16 2)

// How y is cut into MC x NC work units for `threads` threads.
struct Blocks {
  int64_t mc, nc, mblocks, nblocks;
};

Blocks plan_blocks(const KernelTable& kt, int64_t m, int64_t n, int num_threads) {
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  const int64_t threads = std::max(num_threads, 1);
  // Work units are MC x NC blocks of y, of near-equal size (m = 320 with MC = 96 makes four blocks of 80, not
  // 96 + 96 + 96 + 32, which would leave one thread a small block at the end).
  int64_t mblocks = ceil_div(m, kt.gemm_mc);
  int64_t nblocks = ceil_div(n, kt.gemm_nc);
  // Up to kOneBlockRows rows (a sentence or two), one M block and the threads split N only, so every W panel is
  // read from memory once per call (two or three M blocks would read it two or three times): at these sizes W
  // is the traffic that counts. Kept only while every thread still gets two N blocks. The K blocks do not
  // change, so neither does any output bit.
  constexpr int64_t kOneBlockRows = 256;
  if (m <= kOneBlockRows && ceil_div(n, nr) >= 2 * threads) mblocks = 1;
  // Enough units to keep every thread busy and balanced: split N finer (down to one panel) when M gives too
  // few blocks, aiming at four units per thread (a multiple of the thread count), so that a thread the OS
  // deschedules on a shared machine leaves units for the others to take (they are handed out dynamically).
  if (threads > 1 && mblocks * nblocks < 4 * threads) {
    nblocks = std::min(ceil_div(n, nr), ceil_div(4 * threads, mblocks));
  }
  const int64_t mc = round_up(ceil_div(m, mblocks), mr);
  const int64_t nc = round_up(ceil_div(n, nblocks), nr);
  return Blocks{mc, nc, ceil_div(m, mc), ceil_div(n, nc)};
}

}  // namespace

void quantize_rows(const KernelTable& kt, const float* x, int64_t m, int64_t k, int64_t ldx, int64_t kp,
                   bool unsigned_a, int8_t* q, float* scale) {
  const int offset = unsigned_a ? 128 : 0;
  for (int64_t i = 0; i < m; ++i) scale[i] = kt.quantize_row(x + i * ldx, k, kp, offset, q + i * kp);
}

int64_t PackedLinear::weight_bytes() const {
  const int64_t per = type == WeightType::kF32 ? 4 : type == WeightType::kBF16 ? 2 : 1;
  return num_panels() * nr * (type == WeightType::kF32 ? k : kp) * per;
}

PackedLinear pack_linear(const KernelTable& kt, const float* weight, int64_t n, int64_t k, const float* bias,
                         WeightType type) {
  if (n <= 0 || k <= 0) {
    throw std::invalid_argument("linear layer needs positive sizes, got out=" + std::to_string(n) +
                                " in=" + std::to_string(k));
  }
  PackedLinear w;
  w.isa = kt.isa;
  w.type = type;
  w.nr = kt.gemm_nr;
  w.n = n;
  w.k = k;
  w.kp = round_up(k, kLowpGroup);
  const int64_t nr = w.nr, panels = w.num_panels();
  if (bias != nullptr) w.bias.copy_from(bias, n);
  if (type == WeightType::kF32) {
    w.panels.resize(panels * k * nr);
    pack_b_transposed(weight, k, n, k, w.nr, w.panels.data());
    return w;
  }
  w.panels.resize(ceil_div(w.weight_bytes(), 4));
  if (type == WeightType::kBF16) {
    uint16_t* dst = reinterpret_cast<uint16_t*>(w.panels.data());
    for (int64_t j = 0; j < panels; ++j) {
      for (int64_t c = 0; c < nr; ++c) {
        const int64_t col = j * nr + c;
        for (int64_t p = 0; p < w.kp; ++p) {
          const uint16_t v = col < n && p < k ? bf16_bits_of(weight[col * k + p]) : 0;
          dst[j * w.kp * nr + ((p / 2) * nr + c) * 2 + p % 2] = v;
        }
      }
    }
    return w;
  }
  w.scales.resize(panels * nr);
  w.comp.assign(static_cast<size_t>(panels * nr), 0);
  std::vector<int8_t> q(static_cast<size_t>(w.kp));
  int8_t* dst = reinterpret_cast<int8_t*>(w.panels.data());
  for (int64_t col = 0; col < panels * nr; ++col) {
    const int64_t j = col / nr, c = col % nr;
    std::fill(q.begin(), q.end(), 0);
    w.scales.data()[col] = col < n ? kt.quantize_row(weight + col * k, k, w.kp, 0, q.data()) : 1.0f;
    int32_t sum = 0;
    for (int64_t p = 0; p < w.kp; ++p) {
      dst[j * w.kp * nr + ((p / 4) * nr + c) * 4 + p % 4] = q[p];
      sum += q[p];
    }
    w.comp[col] = 128 * sum;
  }
  return w;
}

void unpack_linear(const PackedLinear& w, float* weight) {
  for (int64_t col = 0; col < w.n; ++col) {
    const int64_t j = col / w.nr, c = col % w.nr;
    for (int64_t p = 0; p < w.k; ++p) {
      float v;
      if (w.type == WeightType::kF32) {
        v = w.panel(j)[p * w.nr + c];
      } else if (w.type == WeightType::kBF16) {
        const uint32_t u = static_cast<uint32_t>(w.panel_bf16(j)[((p / 2) * w.nr + c) * 2 + p % 2]) << 16;
        std::memcpy(&v, &u, sizeof v);
      } else {
        v = static_cast<float>(w.panel_i8(j)[((p / 4) * w.nr + c) * 4 + p % 4]) * w.scales.data()[col];
      }
      weight[col * w.k + p] = v;
    }
  }
}

namespace {

// Asks for the cache lines of a rows x n block (row i at p + i * ld) ahead of its use: the epilogue's residual
// tile, whose rows are a layer's width apart, a stride the hardware prefetchers do not follow across pages.
inline void prefetch_block(const float* p, int64_t ld, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; ++i) prefetch_bytes(p + i * ld, n * static_cast<int64_t>(sizeof(float)));
}

// The rows a low-precision layer reads and writes: fp32, or bf16 bits when layers are chained through bf16
// (linear_bf16_out / linear_bf16_in).
struct LowpRows {
  const float* x = nullptr;
  const uint16_t* xb = nullptr;  // instead of x: rows of kp bits, already converted
  int64_t ldx = 0;
  float* y = nullptr;
  uint16_t* yb = nullptr;  // instead of y: rows of round_up(n, 4) bits, zero past n
  int64_t ldy = 0;
};

// bf16 and int8 layers: x converted per call (rows in parallel) unless given as bf16, then the whole K per
// register tile; the work units and the epilogue are the fp32 path's. A bf16 output is the epilogue's fp32
// tile rounded.
void linear_lowp(const KernelTable& kt, const LowpRows& io, int64_t m, const PackedLinear& w, Activation act,
                 const float* residual, int64_t ldr, int num_threads) {
  const int64_t n = w.n, k = w.k, kp = w.kp;
  const int mr = kt.lowp_mr, nr = kt.gemm_nr;
  const bool bf16 = w.type == WeightType::kBF16;
  const int ko = bf16 ? 0 : w.outliers;
  const float* x = io.x;
  const int64_t ldx = io.ldx;
  // Every element is written before it is read: no zero fill of megabytes per call.
  std::unique_ptr<uint16_t[]> xb(bf16 && io.xb == nullptr ? new uint16_t[static_cast<size_t>(m * kp)] : nullptr);
  std::unique_ptr<int8_t[]> xq(bf16 ? nullptr : new int8_t[static_cast<size_t>(m * kp)]);
  std::unique_ptr<float[]> xs(bf16 ? nullptr : new float[static_cast<size_t>(m)]);
  std::unique_ptr<int32_t[]> oidx(new int32_t[static_cast<size_t>(m * ko)]);
  std::unique_ptr<float[]> oval(new float[static_cast<size_t>(m * ko)]);
  if (io.xb == nullptr) {
    parallel_for(m, num_threads, threads_for_elements(m * k, num_threads), [&](int64_t begin, int64_t end) {
      if (!bf16 && ko > 0) {
        std::vector<float> row(static_cast<size_t>(k));
        for (int64_t i = begin; i < end; ++i) {
          int32_t* idx = oidx.get() + i * ko;
          float* val = oval.get() + i * ko;
          const int filled = kt.largest_inputs(x + i * ldx, k, ko, idx, val);
          std::memcpy(row.data(), x + i * ldx, static_cast<size_t>(k) * sizeof(float));
          for (int o = 0; o < filled; ++o) row[idx[o]] = 0.0f;
          quantize_rows(kt, row.data(), 1, k, k, kp, kt.i8_unsigned_a, xq.get() + i * kp, xs.get() + i);
        }
        return;
      }
      if (!bf16) {
        quantize_rows(kt, x + begin * ldx, end - begin, k, ldx, kp, kt.i8_unsigned_a, xq.get() + begin * kp,
                      xs.get() + begin);
        return;
      }
      for (int64_t i = begin; i < end; ++i) kt.bf16_row(x + i * ldx, k, kp, xb.get() + i * kp);
    });
  }
  const uint16_t* a16 = io.xb != nullptr ? io.xb : xb.get();
  const int64_t lda16 = io.xb != nullptr ? io.ldx : kp;
  const Blocks b = plan_blocks(kt, m, n, num_threads);
  const float* bias = w.bias.size() > 0 ? w.bias.data() : nullptr;
  const bool epilogue = bias != nullptr || act != Activation::kIdentity || residual != nullptr;
  const int64_t n_kp = round_up(n, kLowpGroup);
  parallel_for_dynamic(b.mblocks * b.nblocks, num_threads, [&](int64_t unit) {
    const int64_t i0 = (unit / b.nblocks) * b.mc, rows = std::min(b.mc, m - i0);
    const int64_t j0 = (unit % b.nblocks) * b.nc, cols = std::min(b.nc, n - j0);
    std::vector<float> tile(io.yb != nullptr ? static_cast<size_t>(mr * nr) : 0);
    for (int64_t jr = 0; jr < cols; jr += nr) {
      const int64_t col = j0 + jr, ncols = std::min<int64_t>(nr, cols - jr);
      for (int64_t ir = 0; ir < rows; ir += mr) {
        const int64_t r = i0 + ir, mrows = std::min<int64_t>(mr, rows - ir);
        float* c = io.yb != nullptr ? tile.data() : io.y + r * io.ldy + col;
        const int64_t ldc = io.yb != nullptr ? nr : io.ldy;
        if (residual != nullptr) prefetch_block(residual + r * ldr + col, ldr, mrows, ncols);
        if (bf16) {
          kt.gemm_bf16_ukernel(kp, a16 + r * lda16, lda16, w.panel_bf16(col / nr), c, ldc, mrows, ncols);
        } else {
          kt.gemm_i8_ukernel(kp, xq.get() + r * kp, kp, w.panel_i8(col / nr), xs.get() + r,
                             w.scales.data() + col, w.comp.data() + col, c, ldc, mrows, ncols);
          if (ko > 0) {
            kt.i8_outliers(w.panel_i8(col / nr), w.scales.data() + col, oidx.get() + r * ko,
                           oval.get() + r * ko, ko, c, ldc, mrows, ncols);
          }
        }
        if (epilogue) {
          kt.bias_act_residual(c, ldc, mrows, ncols, bias != nullptr ? bias + col : nullptr,
                               residual != nullptr ? residual + r * ldr + col : nullptr, ldr, act);
        }
        if (io.yb != nullptr) {
          // The last panel also writes the zeros that pad each row to the next layer's K groups.
          const int64_t width = col + ncols == n ? n_kp - col : ncols;
          for (int64_t i = 0; i < mrows; ++i) kt.bf16_row(c + i * nr, ncols, width, io.yb + (r + i) * io.ldy + col);
        }
      }
    }
  });
}

// What every linear entry point checks: the packing matches the kernels, and rows of x (row_x values), y
// (row_y) and the residual (n) fit their leading dimensions.
void check_linear_call(const KernelTable& kt, const PackedLinear& w, int64_t ldx, int64_t row_x, int64_t ldy,
                       int64_t row_y, const float* residual, int64_t ldr) {
  if (w.isa != kt.isa || w.nr != kt.gemm_nr) {
    throw std::invalid_argument(std::string("weights were packed for '") + isa_name(w.isa) +
                                "' but the kernels in use are '" + isa_name(kt.isa) + "'");
  }
  if (ldx < row_x || ldy < row_y || (residual != nullptr && ldr < w.n)) {
    throw std::invalid_argument("linear: a leading dimension is smaller than the row length");
  }
}

}  // namespace

void linear_bf16_out(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w,
                     uint16_t* y, int64_t ldy, Activation act, int num_threads) {
  if (w.type == WeightType::kF32) throw std::invalid_argument("linear_bf16_out needs bf16 or int8 weights");
  check_linear_call(kt, w, ldx, w.k, ldy, round_up(w.n, kLowpGroup), nullptr, 0);
  if (m <= 0) return;
  linear_lowp(kt, LowpRows{x, nullptr, ldx, nullptr, y, ldy}, m, w, act, nullptr, 0, num_threads);
}

void linear_bf16_in(const KernelTable& kt, const uint16_t* x, int64_t m, int64_t ldx, const PackedLinear& w,
                    float* y, int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads) {
  if (w.type != WeightType::kBF16) throw std::invalid_argument("linear_bf16_in needs bf16 weights");
  check_linear_call(kt, w, ldx, w.kp, ldy, w.n, residual, ldr);
  if (m <= 0) return;
  linear_lowp(kt, LowpRows{nullptr, x, ldx, y, nullptr, ldy}, m, w, act, residual, ldr, num_threads);
}

void linear(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w, float* y,
            int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads) {
  check_linear_call(kt, w, ldx, w.k, ldy, w.n, residual, ldr);
  if (m <= 0) return;
  if (w.type != WeightType::kF32) {
    linear_lowp(kt, LowpRows{x, nullptr, ldx, y, nullptr, ldy}, m, w, act, residual, ldr, num_threads);
    return;
  }
  const int64_t n = w.n, k = w.k;
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  const int64_t kc_max = kt.gemm_kc;
  const Blocks blocks = plan_blocks(kt, m, n, num_threads);
  const int64_t mc = blocks.mc, nc = blocks.nc, mblocks = blocks.mblocks, nblocks = blocks.nblocks;
  const float* bias = w.bias.size() > 0 ? w.bias.data() : nullptr;

  const bool epilogue = bias != nullptr || act != Activation::kIdentity || residual != nullptr;
  // One register tile: rows [r, r + mrows) x columns [col, col + ncols), K slice [pc, pc + kc); the rows of x
  // are read in place.
  auto tile = [&](int64_t r, int64_t mrows, int64_t col, int64_t ncols, int64_t pc, int64_t kc, bool last) {
    float* c = y + r * ldy + col;
    if (last && residual != nullptr) prefetch_block(residual + r * ldr + col, ldr, mrows, ncols);
    kt.gemm_ukernel(kc, x + r * ldx + pc, ldx, w.panel(col / nr) + pc * nr, c, ldy, mrows, ncols, pc > 0 ? 1 : 0);
    if (last && epilogue) {
      kt.bias_act_residual(c, ldy, mrows, ncols, bias != nullptr ? bias + col : nullptr,
                           residual != nullptr ? residual + r * ldr + col : nullptr, ldr, act);
    }
  };

  parallel_for_dynamic(mblocks * nblocks, num_threads, [&](int64_t unit) {
    const int64_t ib = unit / nblocks, jb = unit % nblocks;
    const int64_t i0 = ib * mc, rows = std::min(mc, m - i0);
    const int64_t j0 = jb * nc, cols = std::min(nc, n - j0);
    if (rows <= 4 * static_cast<int64_t>(mr)) {
      // Few rows (latency-bound batches): W is the stream that matters. Each W micro-panel slice is read once
      // and used at once by every row tile while it is in L1; the x rows stay in L1/L2. The K blocks are the
      // same as below, so every output sums in the same order whatever the batch size: a row's result does
      // not depend on which other rows share its batch.
      for (int64_t jr = 0; jr < cols; jr += nr) {
        for (int64_t pc = 0; pc < k; pc += kc_max) {
          const int64_t kc = std::min(kc_max, k - pc);
          for (int64_t ir = 0; ir < rows; ir += mr) {
            const int64_t r = i0 + ir;
            tile(r, std::min<int64_t>(mr, rows - ir), j0 + jr, std::min<int64_t>(nr, cols - jr), pc, kc,
                 pc + kc >= k);
          }
        }
      }
      return;
    }
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const bool last = pc + kc >= k;
      for (int64_t ir = 0; ir < rows; ir += mr) {
        const int64_t mrows = std::min<int64_t>(mr, rows - ir);
        for (int64_t jr = 0; jr < cols; jr += nr) {
          tile(i0 + ir, mrows, j0 + jr, std::min<int64_t>(nr, cols - jr), pc, kc, last);
        }
      }
    }
  });
}

}  // namespace bertcore
