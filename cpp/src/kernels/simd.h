// Per-ISA vector type for the kernel bodies. Include exactly once per translation unit, after defining one of
// BERTCORE_KERNEL_SCALAR, BERTCORE_KERNEL_AVX2 or BERTCORE_KERNEL_AVX512; the per-ISA shim files do this and
// get the matching compiler flags from CMake.
//
// Everything here lives in an anonymous namespace inside the per-ISA namespace (BERTCORE_KNS), so no inline
// function compiled with AVX-512 flags can be picked by the linker for a caller in another family
// (numpy#25274, xsimd#1311). No SIMD constant lives at namespace scope: constants are made inside functions.
#pragma once

#include <cmath>
#include <cstdint>

// A shim may name its own namespace (the AVX-512 extension files share the family's flags and vector type).
#if defined(BERTCORE_KERNEL_SCALAR)
#ifndef BERTCORE_KNS
#define BERTCORE_KNS kernels_scalar
#endif
#elif defined(BERTCORE_KERNEL_AVX2)
#ifndef BERTCORE_KNS
#define BERTCORE_KNS kernels_avx2
#endif
#include <immintrin.h>
#elif defined(BERTCORE_KERNEL_AVX512)
#ifndef BERTCORE_KNS
#define BERTCORE_KNS kernels_avx512
#endif
#include <immintrin.h>
#else
#error "define BERTCORE_KERNEL_SCALAR, BERTCORE_KERNEL_AVX2 or BERTCORE_KERNEL_AVX512 before including simd.h"
#endif

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

#if defined(BERTCORE_KERNEL_SCALAR)

struct Vec {
  using T = float;
  static constexpr int kWidth = 1;
  static T zero() { return 0.0f; }
  static T set1(float v) { return v; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T v) { *p = v; }
  static T load_tail(const float* p, int64_t n, float fill) { return n > 0 ? *p : fill; }
  static void store_tail(float* p, T v, int64_t n) {
    if (n > 0) *p = v;
  }
  static T blend_tail(T v, int64_t n, float fill) { return n > 0 ? v : fill; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T max(T a, T b) { return a > b ? a : b; }
  static T min(T a, T b) { return a < b ? a : b; }
  static float reduce_add(T a) { return a; }
  static float reduce_max(T a) { return a; }
  // The scalar family is the reference: it calls the C library's correctly rounded functions.
  static T exp(T x) { return std::exp(x); }
  static T erf(T x) { return std::erf(x); }
  static T tanh(T x) { return std::tanh(x); }
};

#elif defined(BERTCORE_KERNEL_AVX2)

struct VecBase {
  using T = __m256;
  using I = __m256i;
  static constexpr int kWidth = 8;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float v) { return _mm256_set1_ps(v); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  static __m256i tail_mask(int64_t n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
  }
  static T load_tail(const float* p, int64_t n, float fill) {
    const __m256i m = tail_mask(n);
    const T v = _mm256_maskload_ps(p, m);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(m));
  }
  static void store_tail(float* p, T v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
  // v in the first n lanes, `fill` in the others.
  static T blend_tail(T v, int64_t n, float fill) {
    return _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(tail_mask(n)));
  }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T div(T a, T b) { return _mm256_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T abs(T a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static T copysign(T mag, T sign) {
    const T s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign));
  }
  static T select_lt(T a, T b, T if_true, T if_false) {
    return _mm256_blendv_ps(if_false, if_true, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
  static T round_nearest(T a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integer-valued n in [-126, 127].
  static T pow2n(T n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static float reduce_add(T a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(T a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#elif defined(BERTCORE_KERNEL_AVX512)

struct VecBase {
  using T = __m512;
  static constexpr int kWidth = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float v) { return _mm512_set1_ps(v); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  static __mmask16 tail_mask(int64_t n) {
    return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
  }
  static T load_tail(const float* p, int64_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail_mask(n), p);
  }
  static void store_tail(float* p, T v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  // v in the first n lanes, `fill` in the others.
  static T blend_tail(T v, int64_t n, float fill) { return _mm512_mask_blend_ps(tail_mask(n), _mm512_set1_ps(fill), v); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T abs(T a) { return _mm512_abs_ps(a); }
  static T copysign(T mag, T sign) {
    const __m512i s = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(s, _mm512_castps_si512(mag)),
                                               _mm512_and_si512(s, _mm512_castps_si512(sign))));
  }
  static T select_lt(T a, T b, T if_true, T if_false) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), if_false, if_true);
  }
  static T round_nearest(T a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T pow2n(T n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static float reduce_add(T a) { return _mm512_reduce_add_ps(a); }
  static float reduce_max(T a) { return _mm512_reduce_max_ps(a); }
};

#endif

#if !defined(BERTCORE_KERNEL_SCALAR)

// Transcendentals for the vector families, written once over VecBase.
struct Vec : VecBase {
  // exp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r (Cephes expf
  // coefficients, about 1 ulp). Inputs below -86 give exactly 0 (e^-86 = 4.5e-38), as the masked softmax
  // entries need; inputs above 88 are clamped to 88 (callers here never pass them: softmax subtracts the row
  // maximum). The low bound keeps every lane's 2^n product a normal float: a denormal result (n = -126)
  // costs a microcode assist of about a hundred cycles per vector, and the -inf lanes of a masked tail or
  // key hit it on every softmax row.
  static T exp(T x) {
    const T hi = set1(88.0f);  // keeps n <= 127 so 2^n stays finite
    const T lo = set1(-86.0f);
    const T xc = min(max(x, lo), hi);
    const T n = round_nearest(mul(xc, set1(1.44269504088896341f)));
    T r = fma(n, set1(-0.693359375f), xc);
    r = fma(n, set1(2.12194440e-4f), r);
    T p = set1(1.9875691500e-4f);
    p = fma(p, r, set1(1.3981999507e-3f));
    p = fma(p, r, set1(8.3334519073e-3f));
    p = fma(p, r, set1(4.1665795894e-2f));
    p = fma(p, r, set1(1.6666665459e-1f));
    p = fma(p, r, set1(5.0000001201e-1f));
    const T r2 = mul(r, r);
    p = fma(p, r2, add(r, set1(1.0f)));
    const T result = mul(p, pow2n(n));
    return select_lt(x, lo, zero(), result);
  }
  // erf: odd rational minimax approximation on [-4, 4] (the float erf of Eigen/XLA), max abs error 4.5e-7;
  // outside it erf is +-1 in float.
  static T erf(T x) {
    const T xc = min(max(x, set1(-4.0f)), set1(4.0f));
    const T x2 = mul(xc, xc);
    T p = set1(-2.72614225801306e-10f);
    p = fma(p, x2, set1(2.77068142495902e-08f));
    p = fma(p, x2, set1(-2.10102402082508e-06f));
    p = fma(p, x2, set1(-5.69250639462346e-05f));
    p = fma(p, x2, set1(-7.34990630326855e-04f));
    p = fma(p, x2, set1(-2.95459980854025e-03f));
    p = fma(p, x2, set1(-1.60960333262415e-02f));
    p = mul(p, xc);
    T q = set1(-1.45660718464996e-05f);
    q = fma(q, x2, set1(-2.13374055278905e-04f));
    q = fma(q, x2, set1(-1.68282697438203e-03f));
    q = fma(q, x2, set1(-7.37332916720468e-03f));
    q = fma(q, x2, set1(-1.42647390514189e-02f));
    return div(p, q);
  }
  // tanh: odd rational minimax approximation on [-7.9053, 7.9053] (Eigen's float tanh), max error 4e-7;
  // tiny inputs return x itself.
  static T tanh(T x) {
    const T bound = set1(7.90531110763549805f);
    const T xc = min(max(x, sub(zero(), bound)), bound);
    const T x2 = mul(xc, xc);
    T p = set1(-2.76076847742355e-16f);
    p = fma(p, x2, set1(2.00018790482477e-13f));
    p = fma(p, x2, set1(-8.60467152213735e-11f));
    p = fma(p, x2, set1(5.12229709037114e-08f));
    p = fma(p, x2, set1(1.48572235717979e-05f));
    p = fma(p, x2, set1(6.37261928875436e-04f));
    p = fma(p, x2, set1(4.89352455891786e-03f));
    p = mul(p, xc);
    T q = set1(1.19825839466702e-06f);
    q = fma(q, x2, set1(1.18534705686654e-04f));
    q = fma(q, x2, set1(2.26843463243900e-03f));
    q = fma(q, x2, set1(4.89352518554385e-03f));
    const T t = div(p, q);
    return select_lt(abs(x), set1(0.0004f), x, t);
  }
};

#endif

// Shared by every family: sigmoid(x) = 1 / (1 + exp(-x)).
inline Vec::T vsigmoid(Vec::T x) {
  return Vec::div(Vec::set1(1.0f), Vec::add(Vec::set1(1.0f), Vec::exp(Vec::sub(Vec::zero(), x))));
}

}  // namespace
}  // namespace BERTCORE_KNS
}  // namespace bertcore
