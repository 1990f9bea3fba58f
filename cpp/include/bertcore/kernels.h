// The kernel table: one set of function pointers per instruction-set family, chosen at run time.
//
// Kernels are primitives on raw pointers. They validate nothing, allocate nothing and know nothing of threads:
// the ops in src/ops/ check shapes, block the work and split it across threads, then call these.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "bertcore/cpu.h"

namespace bertcore {

// Hugging Face hidden_act values, by the formula each one evaluates.
enum class Activation : int {
  kIdentity = 0,
  kGeluErf = 1,    // gelu, gelu_python: 0.5 x (1 + erf(x / sqrt 2))
  kGeluTanh = 2,   // gelu_new, gelu_pytorch_tanh, gelu_accurate: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  kGeluFast = 3,   // gelu_fast: 0.5 x (1 + tanh(x 0.7978845608 (1 + 0.044715 x^2)))
  kQuickGelu = 4,  // quick_gelu: x sigmoid(1.702 x)
  kRelu = 5,
  kSilu = 6,  // silu, swish: x sigmoid(x)
  kTanh = 7,
  kSigmoid = 8,
};

// The bf16 bits of x rounded to nearest even (as torch's float -> bfloat16 conversion); a NaN stays a (quiet)
// NaN. Every family's bf16_row gives these bits.
inline uint16_t bf16_bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// Outlier selection for int8 rows (KernelTable::largest_inputs): at most this many per row.
constexpr int kMaxOutliers = 16;

// One step of that selection: x = v at index p enters the ko slots, kept in descending |x| (ties: the earlier
// index first, a NaN never), when |v| beats the last slot. `mag` starts at -1 in every slot.
inline void insert_largest(float v, int64_t p, int ko, float* mag, int32_t* idx, float* val, int* filled) {
  const float a = std::fabs(v);
  if (!(a > mag[ko - 1])) return;
  int o = ko - 1;
  for (; o > 0 && a > mag[o - 1]; --o) mag[o] = mag[o - 1], idx[o] = idx[o - 1], val[o] = val[o - 1];
  mag[o] = a, idx[o] = static_cast<int32_t>(p), val[o] = v;
  if (*filled < ko) ++*filled;
}

struct KernelTable {
  Isa isa = Isa::kScalar;

  // --- GEMM: C[m x n] (+)= A · B_packed for one MR x NR register tile.
  // a: m rows of k floats, row i at a + i * lda (row-major, not packed; rows past m are never read).
  // b: k x NR panel, k-major (b[p * NR + j] is output column j), columns past the matrix zero-filled.
  // c: row-major with leading dimension ldc; only the top-left m x n (1 <= m <= MR, n <= NR) is written.
  // accumulate = 0 overwrites c, 1 adds to it.
  int gemm_mr = 0;
  int gemm_nr = 0;
  int gemm_kc = 0;  // K block: an A micro-panel of MR x KC stays in L1
  int gemm_mc = 0;  // M block: multiple of MR
  int gemm_nc = 0;  // N block: multiple of NR; the NC x KC slice of B stays in L2
  void (*gemm_ukernel)(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc, int64_t m,
                       int64_t n, int accumulate) = nullptr;
  // The same contract with B panels of gemm_nr_narrow (<= gemm_nr) columns: for products whose width is a
  // multiple of it but not of gemm_nr (attention's P·V at head size 32 or 64 on AVX-512's 48-wide tile).
  int gemm_nr_narrow = 0;
  void (*gemm_ukernel_narrow)(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                              int64_t m, int64_t n, int accumulate) = nullptr;

  // --- Low-precision GEMM tiles (lowp_body.h): a lowp_mr x gemm_nr tile over the whole K, padded to kp (a
  // multiple of 4). B panels hold per group of 2 (bf16) or 4 (int8) K steps gemm_nr 32-bit lanes, one per
  // column, each lane the column's consecutive steps. Only the m x n corner of c is written.
  // bf16: c = A · B in fp32, A rows of kp bf16 bits lda apart.
  void (*gemm_bf16_ukernel)(int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, float* c, int64_t ldc,
                            int64_t m, int64_t n) = nullptr;
  // The same on panels of gemm_nr_narrow columns (attention's P·V, as the fp32 narrow tile).
  void (*gemm_bf16_ukernel_narrow)(int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, float* c,
                                   int64_t ldc, int64_t m, int64_t n) = nullptr;
  // int8: c[i][j] = float(acc - comp[j]) * a_scale[i] * b_scale[j] with acc the int32 dot product of row i
  // (quantized per row; + 128 as u8 when i8_unsigned_a) and column j (s8). b_scale and comp are read for
  // gemm_nr columns; comp (128 times the column's sum) is used only with i8_unsigned_a.
  int lowp_mr = 0;
  bool i8_unsigned_a = false;
  // k floats -> kp bf16 bits (bf16_bits_of each; zeros past k): the bf16 tile's A rows.
  void (*bf16_row)(const float* x, int64_t k, int64_t kp, uint16_t* out) = nullptr;
  // Quantizes one row of k floats into kp int8 values (+ offset, zero-padded) by quantize_rows' rule (ops.h);
  // returns the row's scale.
  float (*quantize_row)(const float* x, int64_t k, int64_t kp, int offset, int8_t* q) = nullptr;
  // The ko (<= kMaxOutliers) inputs of largest magnitude in a row of k, by insert_largest: their indices and
  // values, in descending magnitude; returns how many slots it filled (fewer than ko only when the row has
  // fewer non-NaN values), the others get index 0 and value 0.
  int (*largest_inputs)(const float* x, int64_t k, int ko, int32_t* idx, float* val) = nullptr;
  void (*gemm_i8_ukernel)(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, const float* a_scale,
                          const float* b_scale, const int32_t* comp, float* c, int64_t ldc, int64_t m,
                          int64_t n) = nullptr;
  // The inputs an int8 layer's quantization left out of row i (linear's outlier split, ops.h), added back in
  // fp32 on a tile the int8 kernel wrote: c[i][j] += b_scale[j] * sum_o val[i ko + o] * B[idx[i ko + o]][j]
  // over the m x n corner, B the tile's int8 panel (kp steps, gemm_nr columns) and the sum in slot order.
  void (*i8_outliers)(const int8_t* b, const float* b_scale, const int32_t* idx, const float* val, int ko,
                      float* c, int64_t ldc, int64_t m, int64_t n) = nullptr;

  // --- Row kernels, each on one contiguous row of n floats.
  // Epilogue of a dense layer on a tile of `rows` rows of n floats (row r at c + r * ldc, its residual row at
  // residual + r * ldr), in place: c = act(c + bias) (+ residual). bias and residual may be null.
  void (*bias_act_residual)(float* c, int64_t ldc, int64_t rows, int64_t n, const float* bias, const float* residual,
                            int64_t ldr, Activation act) = nullptr;
  // y = (x - mean) * rsqrt(var + eps) * gamma + beta, mean and variance in two passes. y may alias x.
  void (*layer_norm)(const float* x, float* y, const float* gamma, const float* beta, int64_t n, float eps) = nullptr;
  // In place: x = act(x).
  void (*activation)(float* x, int64_t n, Activation act) = nullptr;
  // In place: x = softmax(x) = exp(x - max) / sum.
  void (*softmax)(float* x, int64_t n) = nullptr;
  // In place: x = softmax(x * scale + mask), attention's row in transformers' order; mask may be null.
  void (*softmax_scaled)(float* x, int64_t n, float scale, const float* mask) = nullptr;
  // y = a + b (+ c when c is not null). y may alias a.
  void (*add3)(const float* a, const float* b, const float* c, float* y, int64_t n) = nullptr;

  // --- Throughput probe: runs `iters` rounds of independent FMAs on this family's widest vectors and returns
  // the number of floating-point operations performed (2 per lane per FMA).
  double (*fma_probe)(int64_t iters) = nullptr;
  // The same for the low-precision tiles' inner instruction (lowp_body.h): bf16 pair products (vdpbf16ps, or
  // the widening FMAs) and int8 quad products (vpdpbusd, or vpmaddubsw + vpmaddwd), 2 operations a product.
  double (*bf16_probe)(int64_t iters) = nullptr;
  double (*i8_probe)(int64_t iters) = nullptr;
};

// The table in use: the one forced by BERTCORE_ISA, else the best the CPU supports. Chosen on first use.
const KernelTable& kernels();

// The table of one family. Throws std::invalid_argument if this CPU or build cannot run it.
const KernelTable& kernels_for(Isa isa);

// Makes `isa` the family used from now on (models keep the table they were built with).
// Throws std::invalid_argument if this CPU or build cannot run it.
void set_active_isa(Isa isa);

// Family chosen by the environment: BERTCORE_ISA when set (throws std::invalid_argument for an unknown or
// unsupported value), else the best supported.
Isa isa_from_environment();

// Filled by the per-ISA sources.
namespace kernels_scalar {
void register_gemm(KernelTable* t);
void register_lowp(KernelTable* t);
void register_rows(KernelTable* t);
void register_probes(KernelTable* t);
}  // namespace kernels_scalar
namespace kernels_avx2 {
void register_gemm(KernelTable* t);
void register_lowp(KernelTable* t);
void register_rows(KernelTable* t);
void register_probes(KernelTable* t);
}  // namespace kernels_avx2
namespace kernels_avx512 {
void register_gemm(KernelTable* t);
void register_lowp(KernelTable* t);
void register_rows(KernelTable* t);
void register_probes(KernelTable* t);
}  // namespace kernels_avx512
// The AVX-512 extensions, registered over the avx512 family's tiles when the CPU has them.
namespace kernels_avx512_vnni {
void register_vnni(KernelTable* t);
}  // namespace kernels_avx512_vnni
namespace kernels_avx512_bf16 {
void register_bf16(KernelTable* t);
}  // namespace kernels_avx512_bf16

}  // namespace bertcore
