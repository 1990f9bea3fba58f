// PackedLinear and the individual ops, for the Python layer and the kernel tests. Every op takes the kernel
// family to use by name ("" = the active one), so tests can cover every family in one process.
#include <map>
#include <memory>

#include "bertcore/ops.h"
#include "common.h"

namespace bertcore::bindings {
namespace {

const std::map<std::string, Activation>& activation_map() {
  static const std::map<std::string, Activation> m = {
      {"identity", Activation::kIdentity},   {"linear", Activation::kIdentity},
      {"gelu", Activation::kGeluErf},        {"gelu_python", Activation::kGeluErf},
      {"gelu_new", Activation::kGeluTanh},   {"gelu_pytorch_tanh", Activation::kGeluTanh},
      {"gelu_accurate", Activation::kGeluTanh}, {"gelu_fast", Activation::kGeluFast},
      {"quick_gelu", Activation::kQuickGelu}, {"relu", Activation::kRelu},
      {"silu", Activation::kSilu},           {"swish", Activation::kSilu},
      {"tanh", Activation::kTanh},           {"sigmoid", Activation::kSigmoid},
  };
  return m;
}

WeightType weight_type(const std::string& dtype) {
  if (dtype == "float32") return WeightType::kF32;
  if (dtype == "bfloat16") return WeightType::kBF16;
  if (dtype == "int8") return WeightType::kI8;
  throw std::invalid_argument("unknown dtype '" + dtype + "'; use float32, bfloat16 or int8");
}

const char* weight_type_name(WeightType t) {
  return t == WeightType::kF32 ? "float32" : t == WeightType::kBF16 ? "bfloat16" : "int8";
}

std::shared_ptr<PackedLinear> make_packed(const FloatArray& weight, const std::optional<FloatArray>& bias,
                                          const std::string& isa, const std::string& dtype, int outliers) {
  const WeightType type = weight_type(dtype);
  require_ndim(weight, 2, "weight");
  const int64_t n = weight.shape(0), k = weight.shape(1);
  if (bias) require_shape(*bias, {n}, "bias");
  if (outliers != 0 && type != WeightType::kI8) {
    throw py::value_error("outliers applies to int8 layers only, got dtype '" + dtype + "'");
  }
  if (outliers < 0 || outliers > kMaxOutliers || outliers > k) {
    throw py::value_error("outliers must be between 0 and " + std::to_string(std::min<int64_t>(kMaxOutliers, k)) +
                          ", got " + std::to_string(outliers));
  }
  const KernelTable& kt = table_for(isa);
  const float* wp = weight.data();
  const float* bp = bias ? bias->data() : nullptr;
  auto packed = std::make_shared<PackedLinear>();
  run_without_gil([&] { *packed = pack_linear(kt, wp, n, k, bp, type); });
  packed->outliers = outliers;
  return packed;
}

FloatArray linear_op(const FloatArray& x, const PackedLinear& w, const std::string& act,
                     const std::optional<FloatArray>& residual, int num_threads) {
  require_ndim(x, 2, "x");
  if (x.shape(1) != w.k) {
    throw std::invalid_argument("x has " + std::to_string(x.shape(1)) + " features, the layer takes " +
                                std::to_string(w.k));
  }
  const int64_t m = x.shape(0);
  if (residual) require_shape(*residual, {m, w.n}, "residual");
  const Activation a = parse_activation(act);
  const KernelTable& kt = kernels_for(w.isa);
  FloatArray y({m, w.n});
  const float* xp = x.data();
  const float* rp = residual ? residual->data() : nullptr;
  float* yp = y.mutable_data();
  run_without_gil([&] { linear(kt, xp, m, w.k, w, yp, w.n, a, rp, w.n, num_threads); });
  return y;
}

// A bf16 or int8 layer chained into a bf16 one as the encoder chains them (linear_bf16_out, then
// linear_bf16_in): the bf16 bits in between, rows padded to the second layer's kp, and the second layer's
// output (+ residual).
py::tuple linear_bf16_chain_op(const FloatArray& x, const PackedLinear& first, const PackedLinear& second,
                               const std::string& act, const std::optional<FloatArray>& residual, int num_threads) {
  require_ndim(x, 2, "x");
  if (x.shape(1) != first.k || second.k != first.n || second.isa != first.isa) {
    throw std::invalid_argument("x, first and second must chain: x [m, first.in], second.in == first.out, one isa");
  }
  const int64_t m = x.shape(0);
  if (residual) require_shape(*residual, {m, second.n}, "residual");
  const Activation a = parse_activation(act);
  const KernelTable& kt = kernels_for(first.isa);
  Uint16Array mid({m, second.kp});
  FloatArray y({m, second.n});
  const float* xp = x.data();
  const float* rp = residual ? residual->data() : nullptr;
  uint16_t* mp = mid.mutable_data();
  float* yp = y.mutable_data();
  run_without_gil([&] {
    linear_bf16_out(kt, xp, m, first.k, first, mp, second.kp, a, num_threads);
    linear_bf16_in(kt, mp, m, second.kp, second, yp, second.n, Activation::kIdentity, rp, second.n, num_threads);
  });
  return py::make_tuple(mid, y);
}

FloatArray layer_norm_op(const FloatArray& x, const FloatArray& gamma, const FloatArray& beta, float eps,
                         const std::string& isa, int num_threads) {
  require_ndim(x, 2, "x");
  const int64_t rows = x.shape(0), n = x.shape(1);
  require_shape(gamma, {n}, "gamma");
  require_shape(beta, {n}, "beta");
  const KernelTable& kt = table_for(isa);
  FloatArray y({rows, n});
  const float *xp = x.data(), *gp = gamma.data(), *bp = beta.data();
  float* yp = y.mutable_data();
  run_without_gil([&] { layer_norm_rows(kt, xp, yp, rows, n, gp, bp, eps, num_threads); });
  return y;
}

FloatArray activation_op(const FloatArray& x, const std::string& act, const std::string& isa, int num_threads) {
  const Activation a = parse_activation(act);
  const KernelTable& kt = table_for(isa);
  FloatArray y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  const int64_t count = x.size();
  if (count > 0) std::memcpy(y.mutable_data(), x.data(), static_cast<size_t>(count) * sizeof(float));
  float* yp = y.mutable_data();
  run_without_gil([&] { activation_inplace(kt, yp, count, a, num_threads); });
  return y;
}

FloatArray softmax_op(const FloatArray& x, const std::string& isa, int num_threads) {
  require_ndim(x, 2, "x");
  const int64_t rows = x.shape(0), n = x.shape(1);
  const KernelTable& kt = table_for(isa);
  FloatArray y({rows, n});
  if (rows * n > 0) std::memcpy(y.mutable_data(), x.data(), static_cast<size_t>(rows * n) * sizeof(float));
  float* yp = y.mutable_data();
  run_without_gil([&] { softmax_rows(kt, yp, rows, n, num_threads); });
  return y;
}

py::tuple attention_op(const FloatArray& qkv, int64_t batch, int64_t seq, int64_t heads, const FloatArray& mask_add,
                       float scale, bool output_probs, const std::string& dtype, const std::string& isa,
                       int num_threads) {
  require_ndim(qkv, 2, "qkv");
  if (batch <= 0 || seq <= 0 || heads <= 0) throw std::invalid_argument("batch, seq and heads must be positive");
  if (qkv.shape(0) != batch * seq || qkv.shape(1) % (3 * heads) != 0) {
    throw std::invalid_argument("qkv must have shape (batch * seq, 3 * heads * head_dim)");
  }
  require_shape(mask_add, {batch, seq}, "mask_add");
  const int64_t hidden = qkv.shape(1) / 3, head_dim = hidden / heads;
  if (dtype != "float32" && dtype != "bfloat16") {
    throw std::invalid_argument("attention dtype must be 'float32' or 'bfloat16', got '" + dtype + "'");
  }
  const bool bf16 = dtype == "bfloat16";
  const KernelTable& kt = table_for(isa);
  FloatArray ctx({batch * seq, hidden});
  py::object probs_obj = py::none();
  float* pp = nullptr;
  if (output_probs) {
    FloatArray probs({batch, heads, seq, seq});
    pp = probs.mutable_data();
    probs_obj = probs;
  }
  const float *qp = qkv.data(), *mp = mask_add.data();
  float* cp = ctx.mutable_data();
  std::vector<AttentionSegment> segments(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) segments[b] = AttentionSegment{b * seq, seq, b * seq, seq};
  run_without_gil([&] {
    if (bf16) {
      const int64_t ld = 3 * hidden;
      std::vector<uint16_t> bits(static_cast<size_t>(batch * seq * ld));
      for (int64_t r = 0; r < batch * seq; ++r) kt.bf16_row(qp + r * ld, ld, ld, bits.data() + r * ld);
      attention_bf16(kt, bits.data(), ld, segments.data(), batch, heads, head_dim, mp, scale, cp, pp, seq, nullptr,
                     num_threads);
    } else {
      attention(kt, qp, segments.data(), batch, heads, head_dim, mp, scale, cp, pp, seq, nullptr, num_threads);
    }
  });
  return py::make_tuple(ctx, probs_obj);
}

FloatArray embeddings_op(const Int64Array& ids, const Int64Array& type_ids, const std::optional<Int64Array>& pos_ids,
                         const FloatArray& word, const std::optional<FloatArray>& position,
                         const FloatArray& token_type, const FloatArray& gamma, const FloatArray& beta, float eps,
                         const std::string& isa, int num_threads) {
  require_ndim(ids, 1, "ids");
  const int64_t tokens = ids.shape(0);
  require_shape(type_ids, {tokens}, "type_ids");
  require_ndim(word, 2, "word");
  const int64_t h = word.shape(1);
  require_shape(token_type, {token_type.ndim() == 2 ? token_type.shape(0) : -1, h}, "token_type");
  require_shape(gamma, {h}, "gamma");
  require_shape(beta, {h}, "beta");
  EmbeddingTables e;
  e.word = word.data();
  e.vocab = word.shape(0);
  e.token_type = token_type.data();
  e.type_vocab = token_type.shape(0);
  e.ln_gamma = gamma.data();
  e.ln_beta = beta.data();
  e.hidden = h;
  e.eps = eps;
  const int64_t* pp = nullptr;
  if (position) {
    if (!pos_ids) throw std::invalid_argument("position embeddings need pos_ids");
    require_shape(*pos_ids, {tokens}, "pos_ids");
    require_shape(*position, {position->ndim() == 2 ? position->shape(0) : -1, h}, "position");
    e.position = position->data();
    e.max_positions = position->shape(0);
    pp = pos_ids->data();
  }
  const KernelTable& kt = table_for(isa);
  FloatArray out({tokens, h});
  float* op = out.mutable_data();
  const int64_t *ip = ids.data(), *tp = type_ids.data();
  run_without_gil([&] { embeddings(kt, e, ip, tp, nullptr, pp, tokens, op, num_threads); });
  return out;
}

}  // namespace

Activation parse_activation(const std::string& name) {
  const auto& m = activation_map();
  const auto it = m.find(name);
  if (it == m.end()) {
    std::string known;
    for (const auto& kv : m) known += (known.empty() ? "" : ", ") + kv.first;
    throw std::invalid_argument("unknown activation '" + name + "'; supported: " + known);
  }
  return it->second;
}

std::string activation_name(Activation act) {
  for (const auto& kv : activation_map()) {
    if (kv.second == act) return kv.first;
  }
  return "identity";
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& kv : activation_map()) names.push_back(kv.first);
  return names;
}

py::tuple quantize_rows_op(const FloatArray& x, bool unsigned_a, const std::string& isa) {
  require_ndim(x, 2, "x");
  const int64_t m = x.shape(0), k = x.shape(1);
  py::array_t<int8_t> q({m, k});
  FloatArray scale(m);
  quantize_rows(table_for(isa), x.data(), m, k, k, k, unsigned_a, q.mutable_data(), scale.mutable_data());
  return py::make_tuple(q, scale);
}

py::tuple largest_inputs_op(const FloatArray& x, int ko, const std::string& isa) {
  require_ndim(x, 2, "x");
  const int64_t m = x.shape(0), k = x.shape(1);
  if (ko < 1 || ko > kMaxOutliers) {
    throw py::value_error("ko must be between 1 and " + std::to_string(kMaxOutliers) + ", got " + std::to_string(ko));
  }
  const KernelTable& kt = table_for(isa);
  py::array_t<int32_t> idx({m, static_cast<int64_t>(ko)});
  FloatArray val({m, static_cast<int64_t>(ko)});
  py::array_t<int32_t> filled(m);
  for (int64_t i = 0; i < m; ++i) {
    filled.mutable_data()[i] =
        kt.largest_inputs(x.data() + i * k, k, ko, idx.mutable_data() + i * ko, val.mutable_data() + i * ko);
  }
  return py::make_tuple(idx, val, filled);
}

Uint16Array bf16_bits(const FloatArray& x, const std::string& isa) {
  const KernelTable& kt = table_for(isa);
  Uint16Array out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  kt.bf16_row(x.data(), x.size(), x.size(), out.mutable_data());
  return out;
}

void register_ops(py::module_& m) {
  py::class_<PackedLinear, std::shared_ptr<PackedLinear>>(m, "PackedLinear",
                                                          "A dense layer's weight [out, in] and bias, packed once.")
      .def(py::init(&make_packed), py::arg("weight").noconvert(), py::arg("bias").noconvert() = py::none(),
           py::arg("isa") = "", py::arg("dtype") = "float32", py::arg("outliers") = 0)
      .def_property_readonly("dtype", [](const PackedLinear& w) { return std::string(weight_type_name(w.type)); })
      .def_property_readonly("outliers", [](const PackedLinear& w) { return w.outliers; })
      .def_property_readonly("scales", [](const PackedLinear& w) {
        FloatArray out(w.type == WeightType::kI8 ? w.n : 0);
        if (w.type == WeightType::kI8) std::memcpy(out.mutable_data(), w.scales.data(), w.n * sizeof(float));
        return out;
      })
      .def_property_readonly("out_features", [](const PackedLinear& w) { return w.n; })
      .def_property_readonly("in_features", [](const PackedLinear& w) { return w.k; })
      .def_property_readonly("isa", [](const PackedLinear& w) { return std::string(isa_name(w.isa)); })
      .def_property_readonly("nbytes", [](const PackedLinear& w) {
        return w.weight_bytes() + static_cast<int64_t>((w.bias.size() + w.scales.size()) * sizeof(float)) +
               static_cast<int64_t>(w.comp.size() * sizeof(int32_t));
      })
      .def("unpack", [](const PackedLinear& w) {
        FloatArray out({w.n, w.k});
        unpack_linear(w, out.mutable_data());
        return out;
      });
  m.def("activation_names", &activation_names);
  m.def("quantize_rows", &quantize_rows_op, py::arg("x").noconvert(), py::arg("unsigned_a") = false,
        py::arg("isa") = "",
        "int8 rows as the int8 GEMM quantizes its input: (q, scale), q = rint(x * 127 / max|row|).");
  m.def("largest_inputs", &largest_inputs_op, py::arg("x").noconvert(), py::arg("ko"), py::arg("isa") = "",
        "The int8 outlier split's choice per row: (indices, values, slots filled), the ko inputs of largest "
        "magnitude in descending order (ties: the lower index; a NaN never).");
  m.def("bf16_bits", &bf16_bits, py::arg("x").noconvert(), py::arg("isa") = "",
        "float32 -> bfloat16 bits, rounded to nearest even (a NaN stays a quiet NaN).");
  m.def("linear", &linear_op, py::arg("x").noconvert(), py::arg("weight"), py::arg("activation") = "identity",
        py::arg("residual").noconvert() = py::none(), py::arg("num_threads") = 1);
  m.def("linear_bf16_chain", &linear_bf16_chain_op, py::arg("x").noconvert(), py::arg("first"), py::arg("second"),
        py::arg("activation") = "identity", py::arg("residual").noconvert() = py::none(), py::arg("num_threads") = 1,
        "A bf16 or int8 layer into a bf16 one through bf16 activations: (the bits in between, the output).");
  m.def("layer_norm", &layer_norm_op, py::arg("x").noconvert(), py::arg("gamma").noconvert(),
        py::arg("beta").noconvert(), py::arg("eps"), py::arg("isa") = "", py::arg("num_threads") = 1);
  m.def("activation", &activation_op, py::arg("x").noconvert(), py::arg("name"), py::arg("isa") = "",
        py::arg("num_threads") = 1);
  m.def("softmax", &softmax_op, py::arg("x").noconvert(), py::arg("isa") = "", py::arg("num_threads") = 1);
  m.def("attention", &attention_op, py::arg("qkv").noconvert(), py::arg("batch"), py::arg("seq"), py::arg("heads"),
        py::arg("mask_add").noconvert(), py::arg("scale"), py::arg("output_probs") = false,
        py::arg("dtype") = "float32", py::arg("isa") = "", py::arg("num_threads") = 1);
  m.def("embeddings", &embeddings_op, py::arg("ids").noconvert(), py::arg("type_ids").noconvert(),
        py::arg("pos_ids").noconvert(), py::arg("word").noconvert(), py::arg("position").noconvert(),
        py::arg("token_type").noconvert(), py::arg("gamma").noconvert(), py::arg("beta").noconvert(),
        py::arg("eps"), py::arg("isa") = "", py::arg("num_threads") = 1);
}

}  // namespace bertcore::bindings
