// bertcore._core: the native module. Each register_* lives in its own file.
#include "common.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "bertcore native core: SIMD + OpenMP kernels and the BERT encoder (private; use the bertcore package)";
  bertcore::install_fork_handlers();
  bertcore::bindings::register_cpu(m);
  bertcore::bindings::register_ops(m);
  bertcore::bindings::register_encoder(m);
}
