// Helpers shared by the binding files: array type aliases and shape checks that raise ValueError.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bertcore/kernels.h"
#include "bertcore/parallel.h"

namespace bertcore::bindings {

namespace py = pybind11;

// Exact dtype, C-contiguous; used with .noconvert() so no hidden copy or cast happens here.
using FloatArray = py::array_t<float, py::array::c_style>;
using Int64Array = py::array_t<int64_t, py::array::c_style>;
using Uint16Array = py::array_t<uint16_t, py::array::c_style>;  // bf16 bits
using Int8Array = py::array_t<int8_t, py::array::c_style>;

// Runs fn (native work that touches no Python object) with the GIL released, through run_native.
template <class Fn>
void run_without_gil(Fn&& fn) {
  py::gil_scoped_release release;
  run_native(std::forward<Fn>(fn));
}

inline void require_ndim(const py::array& a, int ndim, const char* name) {
  if (a.ndim() != ndim) {
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got " +
                                std::to_string(a.ndim()));
  }
}

inline void require_shape(const py::array& a, const std::vector<int64_t>& shape, const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = a.shape(static_cast<py::ssize_t>(i)) == shape[i];
  if (!ok) {
    std::string want = "(", got = "(";
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    for (py::ssize_t i = 0; i < a.ndim(); ++i) got += (i ? ", " : "") + std::to_string(a.shape(i));
    throw std::invalid_argument(std::string(name) + " must have shape " + want + "), got " + got + ")");
  }
}

inline void require_writeable(const py::array& a, const char* name) {
  if (!a.writeable()) throw std::invalid_argument(std::string(name) + " must be a writeable array");
}

// "scalar" / "avx2" / "avx512" -> Isa; ValueError for anything else.
inline Isa isa_from_name(const std::string& name) {
  Isa isa;
  if (!parse_isa(name, &isa)) {
    throw std::invalid_argument("unknown instruction set '" + name + "'; use scalar, avx2 or avx512");
  }
  return isa;
}

// The kernel table a binding runs on: the named family, or the active one for "". ValueError if this CPU or
// build cannot run it.
inline const KernelTable& table_for(const std::string& name) {
  return name.empty() ? kernels() : kernels_for(isa_from_name(name));
}

// Hugging Face hidden_act name -> Activation; ValueError for an unknown one.
Activation parse_activation(const std::string& name);
// The first Hugging Face name of an Activation (several names share a formula).
std::string activation_name(Activation act);
std::vector<std::string> activation_names();

void register_cpu(py::module_& m);
void register_ops(py::module_& m);
void register_encoder(py::module_& m);

}  // namespace bertcore::bindings
