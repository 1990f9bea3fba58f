// The Encoder: built once from the loaded weights, then one forward call per batch with the GIL released.
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "bertcore/encoder.h"
#include "common.h"

namespace bertcore::bindings {
namespace {

AlignedBuffer copy_vector(const FloatArray& a, const char* name) {
  if (a.ndim() < 1) throw std::invalid_argument(std::string(name) + " must be an array");
  AlignedBuffer b;
  b.copy_from(a.data(), a.size());
  return b;
}

// A float32 array already copied into the core's memory: a loader makes one for a large table (the word
// embeddings) before it reads the layers, frees the numpy original, and the Encoder then takes the buffer
// over instead of copying it, so the table is never held twice while the rest of the model is resident.
struct FloatTensor {
  AlignedBuffer data;
  std::vector<int64_t> shape;
};

// The buffer of a FloatTensor (taken over: the tensor is empty afterwards) or a copy of a float32 array.
AlignedBuffer take_vector(const py::handle& h, const char* name) {
  if (py::isinstance<FloatTensor>(h)) {
    auto& t = h.cast<FloatTensor&>();
    if (t.data.size() == 0) {
      throw std::invalid_argument(std::string(name) + ": this FloatTensor was already given to an Encoder");
    }
    AlignedBuffer b;
    b.swap(t.data);
    t.shape.clear();
    return b;
  }
  if (!FloatArray::check_(h)) {
    throw std::invalid_argument(std::string(name) + " must be a C-contiguous float32 numpy array or a FloatTensor");
  }
  return copy_vector(py::reinterpret_borrow<FloatArray>(h), name);
}

// The array itself (no converted copy, which would silently drop what forward writes), writeable.
FloatArray exact_float_array(const py::handle& h, const char* name) {
  if (!FloatArray::check_(h)) {
    throw std::invalid_argument(std::string(name) + " must be a C-contiguous float32 numpy array");
  }
  FloatArray a = py::reinterpret_borrow<FloatArray>(h);
  require_writeable(a, name);
  return a;
}

// Named fields of a float vector held in the core (a LayerNorm's weight, an embedding table): set from a
// float32 array (copied), read back as a new array.
template <class C>
void def_vector(py::class_<C>& cls, const char* name, AlignedBuffer C::*field) {
  cls.def_property(
      name,
      [field](const C& obj) {
        const AlignedBuffer& b = obj.*field;
        FloatArray out(b.size());
        if (b.size() > 0) std::memcpy(out.mutable_data(), b.data(), static_cast<size_t>(b.size()) * sizeof(float));
        return out;
      },
      [field, name](C& obj, const FloatArray& a) { obj.*field = copy_vector(a, name); });
}

// A layer as the encoder keeps it: packed weights are shared, the LayerNorm vectors copied, so one bound
// EncoderLayer can serve several layer steps (ALBERT's shared groups).
EncoderLayer copy_layer(const EncoderLayer& l) {
  EncoderLayer out;
  out.qkv = l.qkv;
  out.attn_out = l.attn_out;
  out.ffn_in = l.ffn_in;
  out.ffn_out = l.ffn_out;
  out.distance = l.distance;
  for (auto [dst, src] : {std::pair{&out.ln1_gamma, &l.ln1_gamma}, std::pair{&out.ln1_beta, &l.ln1_beta},
                          std::pair{&out.ln2_gamma, &l.ln2_gamma}, std::pair{&out.ln2_beta, &l.ln2_beta}}) {
    dst->copy_from(src->data(), src->size());
  }
  return out;
}

std::unique_ptr<Encoder> make_encoder(const EncoderConfig& config, const py::object& word,
                                      const std::optional<FloatArray>& word_scale,
                                      const std::optional<FloatArray>& position,
                                      const std::optional<FloatArray>& token_type,
                                      const std::optional<FloatArray>& task_type, const FloatArray& norm_weight,
                                      const FloatArray& norm_bias, const std::vector<const EncoderLayer*>& layers,
                                      std::shared_ptr<PackedLinear> pooler, std::shared_ptr<PackedLinear> projection,
                                      const std::string& isa) {
  EncoderWeights w;
  if (word_scale) {
    if (!Int8Array::check_(word)) throw std::invalid_argument("word_scale goes with an int8 word table");
    const auto q = py::reinterpret_borrow<Int8Array>(word);
    w.word_i8.resize((q.size() + 3) / 4);
    std::memcpy(w.word_i8.data(), q.data(), static_cast<size_t>(q.size()));
    w.word_scale = copy_vector(*word_scale, "word embedding scales");
  } else if (Uint16Array::check_(word)) {
    const auto bits = py::reinterpret_borrow<Uint16Array>(word);
    w.word_bf16.resize((bits.size() + 1) / 2);
    std::memcpy(w.word_bf16.data(), bits.data(), static_cast<size_t>(bits.size()) * sizeof(uint16_t));
  } else {
    w.word = take_vector(word, "word embeddings");
  }
  if (position) w.position = copy_vector(*position, "position embeddings");
  if (token_type) w.token_type = copy_vector(*token_type, "token type embeddings");
  if (task_type) w.task_type = copy_vector(*task_type, "task type embeddings");
  w.emb_ln_gamma = copy_vector(norm_weight, "embeddings LayerNorm weight");
  w.emb_ln_beta = copy_vector(norm_bias, "embeddings LayerNorm bias");
  for (const EncoderLayer* l : layers) {
    if (l == nullptr) throw std::invalid_argument("layers must be EncoderLayer objects, not None");
    w.layers.push_back(copy_layer(*l));
  }
  w.pooler = std::move(pooler);
  w.emb_project = std::move(projection);
  return std::make_unique<Encoder>(config, std::move(w), table_for(isa));
}

void forward(Encoder& enc, const Int64Array& ids, const Int64Array& type_ids,
             const std::optional<Int64Array>& task_ids, const Int64Array& pos_ids,
             const std::optional<Int64Array>& row_pos, const Int64Array& segments,
             const std::optional<FloatArray>& key_mask_add, int64_t seq, FloatArray& last_hidden,
             std::optional<FloatArray> pooled, const std::optional<py::list>& hidden_states,
             const std::optional<py::list>& attentions, int num_threads) {
  const EncoderConfig& c = enc.config();
  require_ndim(ids, 1, "ids");
  const int64_t rows = ids.shape(0);
  require_shape(type_ids, {rows}, "type_ids");
  require_shape(pos_ids, {rows}, "pos_ids");
  if (task_ids) require_shape(*task_ids, {rows}, "task_ids");
  require_ndim(segments, 2, "segments");
  const int64_t b = segments.shape(0);
  require_shape(segments, {b, 4}, "segments");
  if (row_pos) require_shape(*row_pos, {rows}, "row_pos");
  if (key_mask_add) require_shape(*key_mask_add, {rows}, "key_mask_add");
  const int64_t s = seq;
  require_shape(last_hidden, {b, s, c.hidden}, "last_hidden");
  require_writeable(last_hidden, "last_hidden");
  if (num_threads < 1) throw std::invalid_argument("num_threads must be >= 1");
  EncoderOutputs out;
  out.last_hidden = last_hidden.mutable_data();
  if (pooled) {
    require_shape(*pooled, {b, c.hidden}, "pooled");
    require_writeable(*pooled, "pooled");
    out.pooled = pooled->mutable_data();
  }
  if (hidden_states) {
    for (const py::handle& h : *hidden_states) {
      FloatArray a = exact_float_array(h, "hidden_states[i]");
      require_shape(a, {b, s, c.hidden}, "hidden_states[i]");
      out.hidden_states.push_back(a.mutable_data());
    }
  }
  if (attentions) {
    for (const py::handle& h : *attentions) {
      FloatArray a = exact_float_array(h, "attentions[i]");
      require_shape(a, {b, c.heads, s, s}, "attentions[i]");
      out.attentions.push_back(a.mutable_data());
    }
  }
  std::vector<AttentionSegment> segs(static_cast<size_t>(b));
  const int64_t* sp = segments.data();
  for (int64_t i = 0; i < b; ++i) segs[i] = AttentionSegment{sp[4 * i], sp[4 * i + 1], sp[4 * i + 2], sp[4 * i + 3]};
  TokenBatch tk;
  tk.batch = b;
  tk.seq = s;
  tk.rows = rows;
  tk.ids = ids.data();
  tk.type_ids = type_ids.data();
  tk.task_ids = task_ids ? task_ids->data() : nullptr;
  tk.pos_ids = pos_ids.data();
  tk.row_pos = row_pos ? row_pos->data() : nullptr;
  tk.segments = segs.data();
  tk.key_mask_add = key_mask_add ? key_mask_add->data() : nullptr;
  run_without_gil([&] { enc.forward(tk, out, num_threads); });
}

}  // namespace

void register_encoder(py::module_& m) {
  py::class_<FloatTensor>(m, "FloatTensor",
                          "A float32 array copied into the core's memory, for Encoder to take over without a copy.")
      .def(py::init([](const FloatArray& a) {
             FloatTensor t;
             t.data = copy_vector(a, "array");
             t.shape.assign(a.shape(), a.shape() + a.ndim());
             return t;
           }),
           py::arg("array").noconvert())
      .def_property_readonly("shape", [](const FloatTensor& t) { return py::tuple(py::cast(t.shape)); })
      .def_property_readonly("nbytes", [](const FloatTensor& t) { return t.data.size() * int64_t{4}; });
  py::class_<EncoderConfig> config(m, "EncoderConfig", "The encoder's sizes and settings, by name.");
  config.def(py::init<>())
      .def_readwrite("hidden", &EncoderConfig::hidden)
      .def_readwrite("heads", &EncoderConfig::heads)
      .def_readwrite("layers", &EncoderConfig::layers)
      .def_readwrite("intermediate", &EncoderConfig::intermediate)
      .def_readwrite("vocab", &EncoderConfig::vocab)
      .def_readwrite("max_positions", &EncoderConfig::max_positions)
      .def_readwrite("type_vocab", &EncoderConfig::type_vocab)
      .def_readwrite("task_type_vocab", &EncoderConfig::task_type_vocab)
      .def_readwrite("embedding_size", &EncoderConfig::embedding_size)
      .def_readwrite("eps", &EncoderConfig::eps)
      .def_readwrite("absolute_positions", &EncoderConfig::absolute_positions)
      .def_readwrite("relative_attention", &EncoderConfig::relative_attention)
      .def_readwrite("attention_bf16", &EncoderConfig::attention_bf16)
      .def_property(
          "activation", [](const EncoderConfig& c) { return activation_name(c.act); },
          [](EncoderConfig& c, const std::string& name) { c.act = parse_activation(name); });

  py::class_<EncoderLayer> layer(m, "EncoderLayer", "One transformer layer's weights, by name.");
  layer
      .def(py::init([](std::shared_ptr<PackedLinear> qkv, std::shared_ptr<PackedLinear> attn_out,
                       std::shared_ptr<PackedLinear> ffn_in, std::shared_ptr<PackedLinear> ffn_out,
                       const FloatArray& ln1_gamma, const FloatArray& ln1_beta, const FloatArray& ln2_gamma,
                       const FloatArray& ln2_beta, std::shared_ptr<PackedLinear> distance) {
             EncoderLayer l;
             l.qkv = std::move(qkv);
             l.attn_out = std::move(attn_out);
             l.ffn_in = std::move(ffn_in);
             l.ffn_out = std::move(ffn_out);
             l.ln1_gamma = copy_vector(ln1_gamma, "ln1_gamma");
             l.ln1_beta = copy_vector(ln1_beta, "ln1_beta");
             l.ln2_gamma = copy_vector(ln2_gamma, "ln2_gamma");
             l.ln2_beta = copy_vector(ln2_beta, "ln2_beta");
             l.distance = std::move(distance);
             return l;
           }),
           py::kw_only(), py::arg("qkv"), py::arg("attn_out"), py::arg("ffn_in"), py::arg("ffn_out"),
           py::arg("ln1_gamma").noconvert(), py::arg("ln1_beta").noconvert(), py::arg("ln2_gamma").noconvert(),
           py::arg("ln2_beta").noconvert(), py::arg("distance") = py::none())
      .def_property_readonly("qkv", [](const EncoderLayer& l) { return std::const_pointer_cast<PackedLinear>(l.qkv); })
      .def_property_readonly("attn_out",
                             [](const EncoderLayer& l) { return std::const_pointer_cast<PackedLinear>(l.attn_out); })
      .def_property_readonly("ffn_in",
                             [](const EncoderLayer& l) { return std::const_pointer_cast<PackedLinear>(l.ffn_in); })
      .def_property_readonly("ffn_out",
                             [](const EncoderLayer& l) { return std::const_pointer_cast<PackedLinear>(l.ffn_out); })
      .def_property_readonly("distance",
                             [](const EncoderLayer& l) { return std::const_pointer_cast<PackedLinear>(l.distance); });
  def_vector(layer, "ln1_gamma", &EncoderLayer::ln1_gamma);
  def_vector(layer, "ln1_beta", &EncoderLayer::ln1_beta);
  def_vector(layer, "ln2_gamma", &EncoderLayer::ln2_gamma);
  def_vector(layer, "ln2_beta", &EncoderLayer::ln2_beta);

  py::class_<Encoder>(m, "Encoder", "The encoder core; built by bertcore's model classes.")
      .def(py::init(&make_encoder), py::arg("config"), py::kw_only(), py::arg("word"),
           py::arg("word_scale").noconvert() = py::none(),
           py::arg("position").noconvert(), py::arg("token_type").noconvert(), py::arg("task_type").noconvert(),
           py::arg("norm_weight").noconvert(), py::arg("norm_bias").noconvert(), py::arg("layers"),
           py::arg("pooler"), py::arg("projection"), py::arg("isa"))
      .def("forward", &forward, py::kw_only(), py::arg("ids").noconvert(), py::arg("type_ids").noconvert(),
           py::arg("task_ids").noconvert(), py::arg("pos_ids").noconvert(), py::arg("row_pos").noconvert(),
           py::arg("segments").noconvert(), py::arg("key_mask_add").noconvert(), py::arg("seq"),
           py::arg("last_hidden").noconvert(), py::arg("pooled").noconvert(), py::arg("hidden_states"),
           py::arg("attentions"), py::arg("num_threads"),
           "Runs the encoder on a packed token batch (see bertcore.batching for how it is built).")
      .def_property_readonly("config", &Encoder::config)
      .def_property_readonly("isa", [](const Encoder& e) { return std::string(isa_name(e.kernels().isa)); })
      .def_property_readonly("has_pooler", &Encoder::has_pooler)
      .def_property_readonly("workspace_bytes", &Encoder::workspace_bytes)
      .def_property_readonly("weight_bytes", &Encoder::weight_bytes)
      .def("scratch_bytes", &Encoder::scratch_bytes, py::kw_only(), py::arg("rows"), py::arg("batch"), py::arg("seq"),
           py::arg("num_threads"),
           "About the most scratch memory (bytes) a forward call on this batch allocates at once.")
      .def("release_workspace", &Encoder::release_workspace);
}

}  // namespace bertcore::bindings
