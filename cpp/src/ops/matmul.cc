// Dense layers: packing W once, then the BLIS loops around the family's register tile.
//
// Loop nest for y = x · W^T (x: m x k, W^T: k x n), per work unit (an MC x NC block of y):
//   for pc in K step KC:
//     for ir in MC step MR:       the x rows (MR x KC, read in place: x is not packed) stay in L1
//       for jr in NC step NR:     W micro-panels (KC x NR, pre-packed) stream from L2
//         ukernel; after the last pc, the epilogue (bias, activation, residual) on the tile while it is hot.
// Work units are spread over threads; when M is small, N is split finer so every thread has work.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "bertcore/ops.h"
#include "bertcore/parallel.h"
#include "packing.h"

namespace bertcore {

PackedLinear pack_linear(const KernelTable& kt, const float* weight, int64_t n, int64_t k, const float* bias) {
  if (n <= 0 || k <= 0) {
    throw std::invalid_argument("linear layer needs positive sizes, got out=" + std::to_string(n) +
                                " in=" + std::to_string(k));
  }
  PackedLinear w;
  w.isa = kt.isa;
  w.nr = kt.gemm_nr;
  w.n = n;
  w.k = k;
  const int64_t nr = w.nr;
  w.panels.resize(w.num_panels() * k * nr);
  pack_b_transposed(weight, k, n, k, w.nr, w.panels.data());
  if (bias != nullptr) w.bias.copy_from(bias, n);
  return w;
}

void unpack_linear(const PackedLinear& w, float* weight) {
  for (int64_t j = 0; j < w.num_panels(); ++j) {
    const float* src = w.panel(j);
    const int64_t cols = std::min<int64_t>(w.nr, w.n - j * w.nr);
    for (int64_t p = 0; p < w.k; ++p)
      for (int64_t c = 0; c < cols; ++c) weight[(j * w.nr + c) * w.k + p] = src[p * w.nr + c];
  }
}

void linear(const KernelTable& kt, const float* x, int64_t m, int64_t ldx, const PackedLinear& w, float* y,
            int64_t ldy, Activation act, const float* residual, int64_t ldr, int num_threads) {
  if (w.isa != kt.isa || w.nr != kt.gemm_nr) {
    throw std::invalid_argument(std::string("weights were packed for '") + isa_name(w.isa) +
                                "' but the kernels in use are '" + isa_name(kt.isa) + "'");
  }
  if (m <= 0) return;
  if (ldx < w.k || ldy < w.n || (residual != nullptr && ldr < w.n)) {
    throw std::invalid_argument("linear: a leading dimension is smaller than the row length");
  }
  const int64_t n = w.n, k = w.k;
  const int mr = kt.gemm_mr, nr = kt.gemm_nr;
  const int64_t kc_max = kt.gemm_kc;
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
  mblocks = ceil_div(m, mc);
  nblocks = ceil_div(n, nc);
  const float* bias = w.bias.size() > 0 ? w.bias.data() : nullptr;

  const bool epilogue = bias != nullptr || act != Activation::kIdentity || residual != nullptr;
  // One register tile: rows [r, r + mrows) x columns [col, col + ncols), K slice [pc, pc + kc); the rows of x
  // are read in place.
  auto tile = [&](int64_t r, int64_t mrows, int64_t col, int64_t ncols, int64_t pc, int64_t kc, bool last) {
    float* c = y + r * ldy + col;
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
