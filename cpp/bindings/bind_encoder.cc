// The Encoder: built once from the loaded weights, then one forward call per batch with the GIL released.
#include <memory>

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

template <class T>
T get(const py::dict& d, const char* key) {
  if (!d.contains(key)) throw std::invalid_argument(std::string("encoder config lacks '") + key + "'");
  return d[key].cast<T>();
}

std::unique_ptr<Encoder> make_encoder(const py::dict& cfg, const py::object& word,
                                      const std::optional<FloatArray>& position,
                                      const std::optional<FloatArray>& token_type,
                                      const FloatArray& emb_ln_gamma, const FloatArray& emb_ln_beta,
                                      const py::list& layers, std::shared_ptr<PackedLinear> pooler,
                                      std::shared_ptr<PackedLinear> emb_project, const std::string& isa) {
  EncoderConfig c;
  c.hidden = get<int64_t>(cfg, "hidden");
  c.heads = get<int64_t>(cfg, "heads");
  c.layers = get<int64_t>(cfg, "layers");
  c.intermediate = get<int64_t>(cfg, "intermediate");
  c.vocab = get<int64_t>(cfg, "vocab");
  c.max_positions = get<int64_t>(cfg, "max_positions");
  c.type_vocab = get<int64_t>(cfg, "type_vocab");
  c.eps = get<float>(cfg, "eps");
  c.act = parse_activation(get<std::string>(cfg, "activation"));
  c.absolute_positions = get<bool>(cfg, "absolute_positions");
  if (cfg.contains("embedding_size")) c.embedding_size = cfg["embedding_size"].cast<int64_t>();
  if (cfg.contains("emb_eps")) c.emb_eps = cfg["emb_eps"].cast<float>();
  if (cfg.contains("relative_attention")) c.relative_attention = cfg["relative_attention"].cast<int>();

  EncoderWeights w;
  w.word = take_vector(word, "word embeddings");
  if (position) w.position = copy_vector(*position, "position embeddings");
  if (token_type) w.token_type = copy_vector(*token_type, "token type embeddings");
  w.emb_ln_gamma = copy_vector(emb_ln_gamma, "embeddings LayerNorm weight");
  w.emb_ln_beta = copy_vector(emb_ln_beta, "embeddings LayerNorm bias");
  for (const py::handle& item : layers) {
    const py::tuple t = item.cast<py::tuple>();
    if (t.size() != 8 && t.size() != 9) {
      throw std::invalid_argument("each layer is a tuple of 4 PackedLinear, 4 arrays and an optional distance table");
    }
    EncoderLayer l;
    l.qkv = t[0].cast<std::shared_ptr<PackedLinear>>();
    l.attn_out = t[1].cast<std::shared_ptr<PackedLinear>>();
    l.ffn_in = t[2].cast<std::shared_ptr<PackedLinear>>();
    l.ffn_out = t[3].cast<std::shared_ptr<PackedLinear>>();
    l.ln1_gamma = copy_vector(t[4].cast<FloatArray>(), "attention LayerNorm weight");
    l.ln1_beta = copy_vector(t[5].cast<FloatArray>(), "attention LayerNorm bias");
    l.ln2_gamma = copy_vector(t[6].cast<FloatArray>(), "output LayerNorm weight");
    l.ln2_beta = copy_vector(t[7].cast<FloatArray>(), "output LayerNorm bias");
    if (t.size() == 9 && !t[8].is_none()) l.distance = t[8].cast<std::shared_ptr<PackedLinear>>();
    w.layers.push_back(std::move(l));
  }
  w.pooler = std::move(pooler);
  w.emb_project = std::move(emb_project);
  return std::make_unique<Encoder>(c, std::move(w), table_for(isa));
}

void forward(Encoder& enc, const Int64Array& ids, const Int64Array& type_ids, const Int64Array& pos_ids,
             const std::optional<Int64Array>& row_pos, const Int64Array& segments,
             const std::optional<FloatArray>& key_mask_add, int64_t seq, FloatArray& last_hidden,
             std::optional<FloatArray> pooled, const std::optional<py::list>& hidden_states,
             const std::optional<py::list>& attentions, int num_threads) {
  const EncoderConfig& c = enc.config();
  require_ndim(ids, 1, "ids");
  const int64_t rows = ids.shape(0);
  require_shape(type_ids, {rows}, "type_ids");
  require_shape(pos_ids, {rows}, "pos_ids");
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
  tk.pos_ids = pos_ids.data();
  tk.row_pos = row_pos ? row_pos->data() : nullptr;
  tk.segments = segs.data();
  tk.key_mask_add = key_mask_add ? key_mask_add->data() : nullptr;
  py::gil_scoped_release release;
  enc.forward(tk, out, num_threads);
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
  py::class_<Encoder>(m, "Encoder", "The BERT encoder core; built by bertcore's model classes.")
      .def(py::init(&make_encoder), py::arg("config"), py::arg("word"),
           py::arg("position").noconvert(), py::arg("token_type").noconvert(), py::arg("emb_ln_gamma").noconvert(),
           py::arg("emb_ln_beta").noconvert(), py::arg("layers"), py::arg("pooler"),
           py::arg("emb_project") = py::none(), py::arg("isa") = "")
      .def("forward", &forward, py::arg("ids").noconvert(), py::arg("type_ids").noconvert(),
           py::arg("pos_ids").noconvert(), py::arg("row_pos").noconvert(), py::arg("segments").noconvert(),
           py::arg("key_mask_add").noconvert(), py::arg("seq"), py::arg("last_hidden").noconvert(),
           py::arg("pooled").noconvert() = py::none(), py::arg("hidden_states") = py::none(),
           py::arg("attentions") = py::none(), py::arg("num_threads") = 1,
           "Runs the encoder on a packed token batch (see bertcore.models.bert for how it is built).")
      .def_property_readonly("isa", [](const Encoder& e) { return std::string(isa_name(e.kernels().isa)); })
      .def_property_readonly("has_pooler", &Encoder::has_pooler)
      .def_property_readonly("workspace_bytes", &Encoder::workspace_bytes)
      .def("release_workspace", &Encoder::release_workspace)
      .def("set_profiling", &Encoder::set_profiling, py::arg("on"),
           "Start (and reset) or stop accumulating per-stage wall time over forward calls.")
      .def("profile", [](const Encoder& e) {
        py::dict d;
        const auto p = e.profile();
        for (int i = 0; i < Encoder::kStages; ++i) d[Encoder::stage_name(i)] = p[i];
        return d;
      }, "Seconds spent per stage since set_profiling(True).");
}

}  // namespace bertcore::bindings
