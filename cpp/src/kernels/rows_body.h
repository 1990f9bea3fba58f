// Row kernels (layer norm, activations, softmax, add, dense-layer epilogue), written once
// over the Vec type of simd.h and compiled once per family by the shim files rows_<isa>.cc.
//
// Contract: each function works on one contiguous row of n >= 0 floats, any alignment; tails shorter than a
// vector use masked loads and stores, so no byte outside [p, p + n) is read or written. Single-threaded.
// Numerics follow PyTorch where it matters: two-pass mean/variance for layer norm, y = (x - mean) * rstd *
// gamma + beta; softmax subtracts the row maximum; the GELU variants evaluate the formula each Hugging Face
// name denotes (see Activation in kernels.h).
#pragma once

#include "bertcore/kernels.h"
#include "simd.h"

namespace bertcore {
namespace BERTCORE_KNS {
namespace {

using V = Vec;
using VT = Vec::T;

inline VT apply_act(VT x, Activation act) {
  switch (act) {
    case Activation::kIdentity:
      return x;
    case Activation::kGeluErf: {
      const VT e = V::erf(V::mul(x, V::set1(0.707106781186547524f)));
      return V::mul(V::mul(x, V::set1(0.5f)), V::add(V::set1(1.0f), e));
    }
    case Activation::kGeluTanh: {
      const VT x3 = V::mul(V::mul(x, x), x);
      const VT inner = V::mul(V::set1(0.797884560802865355f), V::fma(V::set1(0.044715f), x3, x));
      return V::mul(V::mul(V::set1(0.5f), x), V::add(V::set1(1.0f), V::tanh(inner)));
    }
    case Activation::kGeluFast: {
      const VT poly = V::fma(V::mul(V::set1(0.044715f), x), x, V::set1(1.0f));
      const VT inner = V::mul(V::mul(x, V::set1(0.7978845608f)), poly);
      return V::mul(V::mul(V::set1(0.5f), x), V::add(V::set1(1.0f), V::tanh(inner)));
    }
    case Activation::kQuickGelu:
      return V::mul(x, vsigmoid(V::mul(V::set1(1.702f), x)));
    case Activation::kRelu:
      return V::max(x, V::zero());
    case Activation::kSilu:
      return V::mul(x, vsigmoid(x));
    case Activation::kTanh:
      return V::tanh(x);
    case Activation::kSigmoid:
      return vsigmoid(x);
  }
  return x;
}

constexpr int64_t W = Vec::kWidth;

void bias_act_residual_impl(float* c, int64_t ldc, int64_t rows, int64_t n, const float* bias, const float* residual,
                            int64_t ldr, Activation act) {
  for (int64_t row = 0; row < rows; ++row, c += ldc) {
    const float* res = residual != nullptr ? residual + row * ldr : nullptr;
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      VT v = V::load(c + i);
      if (bias) v = V::add(v, V::load(bias + i));
      v = apply_act(v, act);
      if (res) v = V::add(v, V::load(res + i));
      V::store(c + i, v);
    }
    if (i < n) {
      const int64_t r = n - i;
      VT v = V::load_tail(c + i, r, 0.0f);
      if (bias) v = V::add(v, V::load_tail(bias + i, r, 0.0f));
      v = apply_act(v, act);
      if (res) v = V::add(v, V::load_tail(res + i, r, 0.0f));
      V::store_tail(c + i, v, r);
    }
  }
}

void activation_impl(float* x, int64_t n, Activation act) {
  bias_act_residual_impl(x, n, 1, n, nullptr, nullptr, 0, act);
}

float sum_impl(const float* x, int64_t n) {
  VT acc0 = V::zero(), acc1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    acc0 = V::add(acc0, V::load(x + i));
    acc1 = V::add(acc1, V::load(x + i + W));
  }
  for (; i + W <= n; i += W) acc0 = V::add(acc0, V::load(x + i));
  if (i < n) acc1 = V::add(acc1, V::load_tail(x + i, n - i, 0.0f));
  return V::reduce_add(V::add(acc0, acc1));
}

void layer_norm_impl(const float* x, float* y, const float* gamma, const float* beta, int64_t n, float eps) {
  if (n <= 0) return;
  const float mean = sum_impl(x, n) / static_cast<float>(n);
  const VT vmean = V::set1(mean);
  VT acc0 = V::zero(), acc1 = V::zero();
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const VT d = V::sub(V::load(x + i), vmean);
    acc0 = V::fma(d, d, acc0);
  }
  if (i < n) {
    const VT d = V::sub(V::load_tail(x + i, n - i, mean), vmean);
    acc1 = V::fma(d, d, acc1);
  }
  const float var = V::reduce_add(V::add(acc0, acc1)) / static_cast<float>(n);
  const float rstd = 1.0f / std::sqrt(var + eps);
  const VT vrstd = V::set1(rstd);
  i = 0;
  for (; i + W <= n; i += W) {
    const VT d = V::mul(V::sub(V::load(x + i), vmean), vrstd);
    V::store(y + i, V::fma(d, V::load(gamma + i), V::load(beta + i)));
  }
  if (i < n) {
    const int64_t r = n - i;
    const VT d = V::mul(V::sub(V::load_tail(x + i, r, 0.0f), vmean), vrstd);
    V::store_tail(y + i, V::fma(d, V::load_tail(gamma + i, r, 0.0f), V::load_tail(beta + i, r, 0.0f)), r);
  }
}

// Softmax of one row; with kScaled, of x * scale + mask (mask may be null), written back to x first. The
// partial last vector is loaded once and kept in a register until its final masked store: a masked store
// followed by a load of the same bytes cannot be forwarded and stalls until the store reaches L1.
template <bool kScaled>
void softmax_row(float* x, int64_t n, float scale, const float* mask) {
  if (n <= 0) return;
  const int64_t full = n / W * W, r = n - full;
  const VT s = V::set1(scale);
  VT vmax = V::set1(-INFINITY);
  for (int64_t i = 0; i < full; i += W) {
    VT v = V::load(x + i);
    if (kScaled) {
      v = V::mul(v, s);
      if (mask != nullptr) v = V::add(v, V::load(mask + i));
      V::store(x + i, v);
    }
    vmax = V::max(vmax, v);
  }
  VT tail = V::set1(-INFINITY);  // lanes past the row stay -inf: their exp is exactly 0 and adds nothing
  if (r > 0) {
    tail = V::load_tail(x + full, r, 0.0f);
    if (kScaled) {
      tail = V::mul(tail, s);
      if (mask != nullptr) tail = V::add(tail, V::load_tail(mask + full, r, 0.0f));
    }
    tail = V::blend_tail(tail, r, -INFINITY);
    vmax = V::max(vmax, tail);
  }
  const VT m = V::set1(V::reduce_max(vmax));
  VT acc = V::zero();
  for (int64_t i = 0; i < full; i += W) {
    const VT e = V::exp(V::sub(V::load(x + i), m));
    V::store(x + i, e);
    acc = V::add(acc, e);
  }
  if (r > 0) {
    tail = V::exp(V::sub(tail, m));
    acc = V::add(acc, tail);
  }
  const VT inv = V::set1(1.0f / V::reduce_add(acc));
  for (int64_t i = 0; i < full; i += W) V::store(x + i, V::mul(V::load(x + i), inv));
  if (r > 0) V::store_tail(x + full, V::mul(tail, inv), r);
}

void softmax_impl(float* x, int64_t n) { softmax_row<false>(x, n, 1.0f, nullptr); }

// x * scale + mask, then softmax, in transformers' order.
void softmax_scaled_impl(float* x, int64_t n, float scale, const float* mask) {
  softmax_row<true>(x, n, scale, mask);
}

void add3_impl(const float* a, const float* b, const float* c, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    VT v = V::add(V::load(a + i), V::load(b + i));
    if (c) v = V::add(v, V::load(c + i));
    V::store(y + i, v);
  }
  if (i < n) {
    const int64_t r = n - i;
    VT v = V::add(V::load_tail(a + i, r, 0.0f), V::load_tail(b + i, r, 0.0f));
    if (c) v = V::add(v, V::load_tail(c + i, r, 0.0f));
    V::store_tail(y + i, v, r);
  }
}

}  // namespace

void register_rows(KernelTable* t) {
  t->bias_act_residual = bias_act_residual_impl;
  t->layer_norm = layer_norm_impl;
  t->activation = activation_impl;
  t->softmax = softmax_impl;
  t->softmax_scaled = softmax_scaled_impl;
  t->add3 = add3_impl;
}

}  // namespace BERTCORE_KNS
}  // namespace bertcore
