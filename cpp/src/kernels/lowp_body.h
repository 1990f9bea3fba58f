// Low-precision GEMM tiles (bf16 and int8 weights), written once and compiled per family by lowp_<isa>.cc;
// lowp_avx512_vnni.cc and lowp_avx512_bf16.cc compile the AVX-512 VNNI / BF16 variants with those flags.
//
// Contract (see KernelTable::gemm_bf16_ukernel / gemm_i8_ukernel): one MR x NR tile over the whole K, padded
// to kp (a multiple of 4, zero in A and B past K). B panels group the K steps so that one 32-bit lane holds
// one column's consecutive steps: bf16 panels hold per pair g of steps NR lanes (step 2g in the low half,
// 2g + 1 in the high half); int8 panels hold per quad g of steps NR lanes of four bytes (step 4g + e in byte
// e). A rows are converted by the op: bf16 bits, or int8 quantized per row, stored + 128 as u8 when the table
// says i8_unsigned_a (vpdpbusd multiplies u8 by s8; the op's compensation, 128 times each column's sum, is
// subtracted here). The int8 result is float(acc - comp[j]) * a_scale[i] * b_scale[j], in that order, so a
// numpy reference of the same scheme matches bit for bit. Rows i >= m are clamped and dropped as in the fp32
// tile; only the m x n corner of c is written. No alignment assumed. Single-threaded.
//
// Without VNNI the int8 products use vpmaddubsw on |a| and sign(a) * b: both stay within 127 in magnitude
// (quantization clamps to [-127, 127]), so the pairwise 16-bit sums (at most 2 * 127 * 127) never saturate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "bertcore/kernels.h"
#include "simd.h"
#include "tile.h"

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

inline float bf16_to_float(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline int32_t load_i32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

#if defined(BERTCORE_KERNEL_SCALAR)

template <int NR>
void gemm_bf16_impl(int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, float* c, int64_t ldc, int64_t m,
                    int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < kp; ++p) {
        acc += bf16_to_float(a[i * lda + p]) * bf16_to_float(b[((p / 2) * NR + j) * 2 + p % 2]);
      }
      c[i * ldc + j] = acc;
    }
  }
}

void gemm_i8_impl(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, const float* a_scale,
                  const float* b_scale, const int32_t* /*comp: signed A*/, float* c, int64_t ldc, int64_t m,
                  int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < kp; ++p) {
        acc += static_cast<int32_t>(a[i * lda + p]) * static_cast<int32_t>(b[((p / 4) * kNR + j) * 4 + p % 4]);
      }
      c[i * ldc + j] = static_cast<float>(acc) * a_scale[i] * b_scale[j];
    }
  }
}

constexpr bool kUnsignedA = false;
constexpr int kLowpMR = kMR;

int largest_inputs_impl(const float* x, int64_t k, int ko, int32_t* idx, float* val) {
  float mag[kMaxOutliers];
  for (int o = 0; o < ko; ++o) mag[o] = -1.0f, idx[o] = 0, val[o] = 0.0f;
  int filled = 0;
  for (int64_t p = 0; p < k; ++p) insert_largest(x[p], p, ko, mag, idx, val, &filled);
  return filled;
}

void i8_outliers_impl(const int8_t* b, const float* b_scale, const int32_t* idx, const float* val, int ko, float* c,
                      int64_t ldc, int64_t m, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int o = 0; o < ko; ++o) {
        const int32_t p = idx[i * ko + o];
        sum += val[i * ko + o] * static_cast<float>(b[((p / 4) * kNR + j) * 4 + p % 4]);
      }
      c[i * ldc + j] += sum * b_scale[j];
    }
  }
}

void bf16_row_impl(const float* x, int64_t k, int64_t kp, uint16_t* out) {
  for (int64_t p = 0; p < k; ++p) out[p] = bf16_bits_of(x[p]);
  for (int64_t p = k; p < kp; ++p) out[p] = 0;
}

float quantize_row_impl(const float* x, int64_t k, int64_t kp, int offset, int8_t* q) {
  float amax = 0.0f;
  for (int64_t p = 0; p < k; ++p) amax = std::max(amax, std::fabs(x[p]));
  if (!(amax > 0.0f) || !std::isfinite(amax)) {
    // All zeros (or a non-finite value, which no scale can represent): zeros, scale 1.
    std::memset(q, offset, static_cast<size_t>(kp));
    return 1.0f;
  }
  const float inv = 127.0f / amax;
  for (int64_t p = 0; p < k; ++p) {
    const float r = std::nearbyint(x[p] * inv);
    q[p] = static_cast<int8_t>(static_cast<int>(std::min(127.0f, std::max(-127.0f, r))) + offset);
  }
  for (int64_t p = k; p < kp; ++p) q[p] = static_cast<int8_t>(offset);
  return amax / 127.0f;
}

double bf16_probe_impl(int64_t iters) {
  float acc[12] = {};
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * 0.999f + 1e-3f;
  volatile float sink = acc[0];
  (void)sink;
  return 2.0 * 12.0 * static_cast<double>(iters);
}

double i8_probe_impl(int64_t iters) {
  int32_t acc[12] = {};
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] += (i + 1) * 3 + static_cast<int32_t>(it);
  volatile int32_t sink = acc[0];
  (void)sink;
  return 2.0 * 12.0 * static_cast<double>(iters);
}

#else

using V = Vec;
constexpr int kW = Vec::kWidth;
constexpr int kNV = kNR / kW;
#if defined(BERTCORE_KERNEL_AVX2)
constexpr int kLowpMR = 4;  // 16 ymm registers: 6 rows of accumulators leave too few for the conversions
#else
constexpr int kLowpMR = kMR;
#endif

#if defined(BERTCORE_KERNEL_AVX2)
using VI = __m256i;
BERTCORE_ALWAYS_INLINE VI loadi(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
BERTCORE_ALWAYS_INLINE VI set1i(int32_t v) { return _mm256_set1_epi32(v); }
BERTCORE_ALWAYS_INLINE VI zeroi() { return _mm256_setzero_si256(); }
BERTCORE_ALWAYS_INLINE VI addi(VI a, VI b) { return _mm256_add_epi32(a, b); }
BERTCORE_ALWAYS_INLINE VI subi(VI a, VI b) { return _mm256_sub_epi32(a, b); }
BERTCORE_ALWAYS_INLINE V::T to_float(VI a) { return _mm256_cvtepi32_ps(a); }
BERTCORE_ALWAYS_INLINE void store_int(int32_t* p, V::T v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_cvtps_epi32(v));
}
BERTCORE_ALWAYS_INLINE V::T bf16_low(VI pairs) { return _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)); }
BERTCORE_ALWAYS_INLINE V::T bf16_high(VI pairs) {
  return _mm256_castsi256_ps(_mm256_and_si256(pairs, _mm256_set1_epi32(static_cast<int32_t>(0xFFFF0000u))));
}
// acc + the four-byte dot products of a (s8) and b (s8), without saturation (see the contract).
BERTCORE_ALWAYS_INLINE VI dot4_signed(VI acc, VI a, VI b) {
  const VI prod = _mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(prod, _mm256_set1_epi16(1)));
}
#else
using VI = __m512i;
BERTCORE_ALWAYS_INLINE VI loadi(const void* p) { return _mm512_loadu_si512(p); }
BERTCORE_ALWAYS_INLINE VI set1i(int32_t v) { return _mm512_set1_epi32(v); }
BERTCORE_ALWAYS_INLINE VI zeroi() { return _mm512_setzero_si512(); }
BERTCORE_ALWAYS_INLINE VI addi(VI a, VI b) { return _mm512_add_epi32(a, b); }
BERTCORE_ALWAYS_INLINE VI subi(VI a, VI b) { return _mm512_sub_epi32(a, b); }
BERTCORE_ALWAYS_INLINE V::T to_float(VI a) { return _mm512_cvtepi32_ps(a); }
BERTCORE_ALWAYS_INLINE void store_int(int32_t* p, V::T v) { _mm512_storeu_si512(p, _mm512_cvtps_epi32(v)); }
BERTCORE_ALWAYS_INLINE V::T bf16_low(VI pairs) { return _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16)); }
BERTCORE_ALWAYS_INLINE V::T bf16_high(VI pairs) {
  return _mm512_castsi512_ps(_mm512_and_si512(pairs, _mm512_set1_epi32(static_cast<int32_t>(0xFFFF0000u))));
}
BERTCORE_ALWAYS_INLINE VI dot4_signed(VI acc, VI a, VI b) {
  const __mmask64 negative = _mm512_movepi8_mask(a);
  const VI signed_b = _mm512_mask_sub_epi8(b, negative, _mm512_setzero_si512(), b);
  const VI prod = _mm512_maddubs_epi16(_mm512_abs_epi8(a), signed_b);
  return _mm512_add_epi32(acc, _mm512_madd_epi16(prod, _mm512_set1_epi16(1)));
}
#endif

#if !defined(BERTCORE_LOWP_VNNI) && !defined(BERTCORE_LOWP_BF16)
// bf16_bits_of on one vector, in integer lanes: round to nearest even, a NaN made quiet instead.
BERTCORE_ALWAYS_INLINE VI bf16_round_bits(VI u) {
  const VI one = set1i(1);
#if defined(BERTCORE_KERNEL_AVX2)
  const VI rounded = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(u, 16), one),
                                                          set1i(0x7FFF)));
  const VI nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, set1i(0x7FFFFFFF)), set1i(0x7F800000));
  const VI quiet = _mm256_or_si256(u, set1i(0x400000));
  return _mm256_srli_epi32(_mm256_blendv_epi8(rounded, quiet, nan), 16);
#else
  const VI rounded = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(u, 16), one),
                                                          set1i(0x7FFF)));
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, set1i(0x7FFFFFFF)), set1i(0x7F800000));
  return _mm512_srli_epi32(_mm512_mask_or_epi32(rounded, nan, u, set1i(0x400000)), 16);
#endif
}

void bf16_row_impl(const float* x, int64_t k, int64_t kp, uint16_t* out) {
  int64_t p = 0;
  for (; p + kW <= k; p += kW) {
    const VI bits = bf16_round_bits(loadi(x + p));
#if defined(BERTCORE_KERNEL_AVX2)
    // Lanes hold values below 2^16, so the unsigned-saturating pack keeps them; it packs per 128-bit half.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(bits, bits), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + p), _mm256_castsi256_si128(packed));
#else
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p), _mm512_cvtepi32_epi16(bits));
#endif
  }
  for (; p < k; ++p) out[p] = bf16_bits_of(x[p]);
  for (; p < kp; ++p) out[p] = 0;
}
#endif

// Asks for the m x n corner's cache lines, for writing, before the K loop: a fresh output's lines come from
// memory at the first store, and the epilogue's first read of the tile used to wait for them.
BERTCORE_ALWAYS_INLINE void prefetch_tile(float* c, int64_t ldc, int64_t m, int64_t n) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; j += 16) __builtin_prefetch(c + i * ldc + j, 1, 3);
    __builtin_prefetch(c + i * ldc + n - 1, 1, 3);
  }
}

// Stores one vector of row i of a tile into the m x n corner: whole, masked, or not at all.
BERTCORE_ALWAYS_INLINE void store_vector(float* cij, int64_t left, V::T v) {
  if (left >= kW) {
    V::store(cij, v);
  } else if (left > 0) {
    V::store_tail(cij, v, left);
  }
}

#if !defined(BERTCORE_LOWP_VNNI)
#if defined(BERTCORE_LOWP_BF16)
// acc + a · b over one pair of steps per lane (vdpbf16ps).
BERTCORE_ALWAYS_INLINE void bf16_step(V::T& acc, VI a_pair, VI b_pairs) {
  acc = _mm512_dpbf16_ps(acc, (__m512bh)b_pairs, (__m512bh)a_pair);
}
#else
// The same with the pairs widened to fp32 in registers: the low step, then the high one.
BERTCORE_ALWAYS_INLINE void bf16_step(V::T& acc, VI a_pair, VI b_pairs) {
  acc = V::fma(bf16_low(a_pair), bf16_low(b_pairs), acc);
  acc = V::fma(bf16_high(a_pair), bf16_high(b_pairs), acc);
}
#endif

// The tile NR = NV vectors wide: kNR for the dense layers, kNarrowNR for attention's P·V.
template <int NR>
void gemm_bf16_impl(int64_t kp, const uint16_t* a, int64_t lda, const uint16_t* b, float* c, int64_t ldc, int64_t m,
                    int64_t n) {
  constexpr int NV = NR / kW;
  const uint16_t* rows[kLowpMR];
  for (int i = 0; i < kLowpMR; ++i) rows[i] = a + (i < m ? i : m - 1) * lda;
  prefetch_tile(c, ldc, m, n);
  V::T acc[kLowpMR][NV];
  unrolled<0, kLowpMR>([&](auto i) { unrolled<0, NV>([&](auto j) { acc[i][j] = V::zero(); }); });
  for (int64_t g = 0; g < kp / 2; ++g) {
    VI bv[NV];
    unrolled<0, NV>([&](auto j) { bv[j] = loadi(b + (g * NR + j * kW) * 2); });
    unrolled<0, kLowpMR>([&](auto i) {
      const VI av = set1i(load_i32(rows[i] + 2 * g));
      unrolled<0, NV>([&](auto j) { bf16_step(acc[i][j], av, bv[j]); });
    });
  }
  unrolled<0, kLowpMR>([&](auto i) {
    if (i >= m) return;
    unrolled<0, NV>([&](auto j) { store_vector(c + i * ldc + j * kW, n - j * kW, acc[i][j]); });
  });
}
#endif

#if !defined(BERTCORE_LOWP_BF16)
#if defined(BERTCORE_LOWP_VNNI)
constexpr bool kUnsignedA = true;
BERTCORE_ALWAYS_INLINE VI i8_step(VI acc, VI a_quad, VI b_quads) { return _mm512_dpbusd_epi32(acc, a_quad, b_quads); }
#else
constexpr bool kUnsignedA = false;
BERTCORE_ALWAYS_INLINE VI i8_step(VI acc, VI a_quad, VI b_quads) { return dot4_signed(acc, a_quad, b_quads); }
#endif

void gemm_i8_impl(int64_t kp, const int8_t* a, int64_t lda, const int8_t* b, const float* a_scale,
                  const float* b_scale, const int32_t* comp, float* c, int64_t ldc, int64_t m, int64_t n) {
  const int8_t* rows[kLowpMR];
  for (int i = 0; i < kLowpMR; ++i) rows[i] = a + (i < m ? i : m - 1) * lda;
  prefetch_tile(c, ldc, m, n);
  VI acc[kLowpMR][kNV];
  unrolled<0, kLowpMR>([&](auto i) { unrolled<0, kNV>([&](auto j) { acc[i][j] = zeroi(); }); });
  for (int64_t g = 0; g < kp / 4; ++g) {
    VI bv[kNV];
    unrolled<0, kNV>([&](auto j) { bv[j] = loadi(b + (g * kNR + j * kW) * 4); });
    unrolled<0, kLowpMR>([&](auto i) {
      const VI av = set1i(load_i32(rows[i] + 4 * g));
      unrolled<0, kNV>([&](auto j) { acc[i][j] = i8_step(acc[i][j], av, bv[j]); });
    });
  }
  // Columns past n read the caller's padded scale and compensation arrays (kNR-wide), never stored.
  V::T scale_b[kNV];
  VI comp_v[kNV];
  unrolled<0, kNV>([&](auto j) {
    scale_b[j] = V::load(b_scale + j * kW);
    comp_v[j] = kUnsignedA ? loadi(comp + j * kW) : zeroi();
  });
  unrolled<0, kLowpMR>([&](auto i) {
    if (i >= m) return;
    const V::T sa = V::set1(a_scale[i]);
    unrolled<0, kNV>([&](auto j) {
      const V::T v = V::mul(V::mul(to_float(subi(acc[i][j], comp_v[j])), sa), scale_b[j]);
      store_vector(c + i * ldc + j * kW, n - j * kW, v);
    });
  });
}
#endif

#if !defined(BERTCORE_LOWP_VNNI) && !defined(BERTCORE_LOWP_BF16)
// The low byte of each 32-bit lane after a left shift by `shift` (24 - 8 e for byte e), sign-extended: one
// column's weight at K step 4 g + e of an int8 panel.
BERTCORE_ALWAYS_INLINE VI byte_at(VI lanes, VI shift) {
#if defined(BERTCORE_KERNEL_AVX2)
  return _mm256_srai_epi32(_mm256_sllv_epi32(lanes, shift), 24);
#else
  return _mm512_srai_epi32(_mm512_sllv_epi32(lanes, shift), 24);
#endif
}

// Bit l set when lane l of v is at least t (clear for NaN lanes, which insert_largest never takes).
BERTCORE_ALWAYS_INLINE unsigned lanes_at_least(V::T v, V::T t) {
#if defined(BERTCORE_KERNEL_AVX2)
  return static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ)));
#else
  return _mm512_cmp_ps_mask(v, t, _CMP_GE_OQ);
#endif
}

// Two passes: the ko-th largest of the kW lane maxima is at most the row's ko-th largest |x| (they are kW
// distinct inputs), so only the few inputs at least that large go through the scalar rule.
int largest_inputs_impl(const float* x, int64_t k, int ko, int32_t* idx, float* val) {
  V::T vmax = V::zero();
  int64_t p = 0;
  for (; p + kW <= k; p += kW) vmax = V::max(vmax, V::abs(V::load(x + p)));
  if (p < k) vmax = V::max(vmax, V::abs(V::load_tail(x + p, k - p, 0.0f)));
  float lanes[kW];
  std::memcpy(lanes, &vmax, sizeof lanes);
  float mag[kMaxOutliers];
  int32_t lane_idx[kMaxOutliers];
  float lane_val[kMaxOutliers];
  for (int o = 0; o < ko; ++o) mag[o] = -1.0f;
  int filled = 0;
  for (int l = 0; l < kW; ++l) insert_largest(lanes[l], l, ko, mag, lane_idx, lane_val, &filled);
  const V::T floor = V::set1(filled == ko ? mag[ko - 1] : -1.0f);
  for (int o = 0; o < ko; ++o) mag[o] = -1.0f, idx[o] = 0, val[o] = 0.0f;
  filled = 0;
  for (p = 0; p < k; p += kW) {
    const int64_t n = k - p < kW ? k - p : kW;
    // In index order, as the scalar rule: its ties go to the earlier input.
    const unsigned bits = lanes_at_least(V::abs(V::load_tail(x + p, n, 0.0f)), floor);
    for (int64_t l = 0; bits >> l != 0 && l < n; ++l) {
      if ((bits >> l) & 1u) insert_largest(x[p + l], p + l, ko, mag, idx, val, &filled);
    }
  }
  return filled;
}

void i8_outliers_impl(const int8_t* b, const float* b_scale, const int32_t* idx, const float* val, int ko, float* c,
                      int64_t ldc, int64_t m, int64_t n) {
  V::T scale_b[kNV];
  unrolled<0, kNV>([&](auto j) { scale_b[j] = V::load(b_scale + j * kW); });
  for (int64_t i = 0; i < m; ++i) {
    V::T sum[kNV];
    unrolled<0, kNV>([&](auto j) { sum[j] = V::zero(); });
    for (int o = 0; o < ko; ++o) {
      const int32_t p = idx[i * ko + o];
      const int8_t* quads = b + (p / 4) * kNR * 4;
      const VI shift = set1i(24 - 8 * (p % 4));
      const V::T v = V::set1(val[i * ko + o]);
      unrolled<0, kNV>([&](auto j) {
        sum[j] = V::fma(v, to_float(byte_at(loadi(quads + j * kW * 4), shift)), sum[j]);
      });
    }
    // Columns past n read the panel's and the scales' padding, never stored.
    float* ci = c + i * ldc;
    unrolled<0, kNV>([&](auto j) {
      const int64_t left = n - j * kW;
      if (left > 0) store_vector(ci + j * kW, left, V::fma(sum[j], scale_b[j], V::load_tail(ci + j * kW, left, 0.0f)));
    });
  }
}
#endif

// Row conversions for the tiles' A operand (see quantize_rows in ops.h for the rule; the scalar family's
// plain loops define it, and these give the same bits: max, one division, a multiply, round-half-even).
#if !defined(BERTCORE_LOWP_VNNI) && !defined(BERTCORE_LOWP_BF16)
float quantize_row_impl(const float* x, int64_t k, int64_t kp, int offset, int8_t* q) {
  V::T vmax = V::zero();
  int64_t p = 0;
  for (; p + kW <= k; p += kW) vmax = V::max(vmax, V::abs(V::load(x + p)));
  if (p < k) vmax = V::max(vmax, V::abs(V::load_tail(x + p, k - p, 0.0f)));
  const float amax = V::reduce_max(vmax);
  if (!(amax > 0.0f) || !std::isfinite(amax)) {
    std::memset(q, offset, static_cast<size_t>(kp));
    return 1.0f;
  }
  const V::T inv = V::set1(127.0f / amax), hi = V::set1(127.0f), lo = V::set1(-127.0f);
  int32_t lanes[kW];
  for (p = 0; p < k; p += kW) {
    const int64_t n = k - p < kW ? k - p : kW;
    const V::T r = V::round_nearest(V::mul(V::load_tail(x + p, n, 0.0f), inv));
    const V::T clamped = V::min(hi, V::max(lo, r));
    for (int l = 0; l < kW; ++l) lanes[l] = 0;
    store_int(lanes, clamped);
    for (int64_t l = 0; l < n; ++l) q[p + l] = static_cast<int8_t>(lanes[l] + offset);
  }
  for (p = k; p < kp; ++p) q[p] = static_cast<int8_t>(offset);
  return amax / 127.0f;
}
#endif

// Throughput probes of the tiles' inner instruction: twelve independent accumulator chains (as the FMA
// probe), returning the operations performed: bf16 counts 2 per product (4 per lane per pair step), int8 2 per
// product (8 per lane per quad step).
#if !defined(BERTCORE_LOWP_VNNI)
double bf16_probe_impl(int64_t iters) {
  V::T acc[12];
  unrolled<0, 12>([&](auto i) { acc[i] = V::set1(1.0f + 0.01f * i); });
  const VI a = set1i(0x3F803F80), b = set1i(0x3F7F3F7F);  // bf16 pairs (1.0, 1.0) and (0.996, 0.996)
  for (int64_t it = 0; it < iters; ++it) unrolled<0, 12>([&](auto i) { bf16_step(acc[i], a, b); });
  V::T sum = V::zero();
  unrolled<0, 12>([&](auto i) { sum = V::add(sum, acc[i]); });
  volatile float sink = V::reduce_add(sum);
  (void)sink;
  return 4.0 * 12.0 * kW * static_cast<double>(iters);
}
#endif

#if !defined(BERTCORE_LOWP_BF16)
double i8_probe_impl(int64_t iters) {
  VI acc[12];
  unrolled<0, 12>([&](auto i) { acc[i] = set1i(i); });
  const VI b = set1i(0x01FF0102);
  // Each chain's accumulator is also its A operand, so nothing in the loop is invariant.
  for (int64_t it = 0; it < iters; ++it) unrolled<0, 12>([&](auto i) { acc[i] = i8_step(acc[i], acc[i], b); });
  VI sum = zeroi();
  unrolled<0, 12>([&](auto i) { sum = addi(sum, acc[i]); });
  int32_t lanes[kW];
  std::memcpy(lanes, &sum, sizeof lanes);
  volatile int32_t sink = lanes[0];
  (void)sink;
  return 8.0 * 12.0 * kW * static_cast<double>(iters);
}
#endif

#endif

}  // namespace

#if defined(BERTCORE_LOWP_BF16)
void register_bf16(KernelTable* t) {
  t->gemm_bf16_ukernel = gemm_bf16_impl<kNR>;
  t->gemm_bf16_ukernel_narrow = gemm_bf16_impl<kNarrowNR>;
  t->bf16_probe = bf16_probe_impl;
}
#elif defined(BERTCORE_LOWP_VNNI)
void register_vnni(KernelTable* t) {
  t->gemm_i8_ukernel = gemm_i8_impl;
  t->i8_unsigned_a = kUnsignedA;
  t->i8_probe = i8_probe_impl;
}
#else
void register_lowp(KernelTable* t) {
  t->lowp_mr = kLowpMR;
  t->quantize_row = quantize_row_impl;
  t->bf16_row = bf16_row_impl;
  t->gemm_bf16_ukernel = gemm_bf16_impl<kNR>;
  t->gemm_bf16_ukernel_narrow = gemm_bf16_impl<kNarrowNR>;
  t->gemm_i8_ukernel = gemm_i8_impl;
  t->largest_inputs = largest_inputs_impl;
  t->i8_outliers = i8_outliers_impl;
  t->i8_unsigned_a = kUnsignedA;
  t->bf16_probe = bf16_probe_impl;
  t->i8_probe = i8_probe_impl;
}
#endif

}  // namespace BERTCORE_KNS
}  // namespace bertcore
