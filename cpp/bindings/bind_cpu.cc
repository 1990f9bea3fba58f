// CPU features, the active kernel family, the FMA throughput probe and OpenMP facts.
#include <chrono>

#include "common.h"

#ifdef _OPENMP
#include <dlfcn.h>
#include <omp.h>
#endif

namespace bertcore::bindings {
namespace {

// The file of the OpenMP runtime this module calls (a vendored copy in a repaired wheel, else the system's),
// or None.
py::object openmp_runtime() {
#ifdef _OPENMP
  Dl_info where;
  if (dladdr(reinterpret_cast<void*>(&omp_get_max_threads), &where) != 0 && where.dli_fname != nullptr) {
    return py::str(where.dli_fname);
  }
#endif
  return py::none();
}

py::dict cpu_info() {
  const CpuFeatures& f = cpu_features();
  py::dict features;
  features["avx"] = f.avx;
  features["avx2"] = f.avx2;
  features["fma"] = f.fma;
  features["f16c"] = f.f16c;
  features["avx512f"] = f.avx512f;
  features["avx512bw"] = f.avx512bw;
  features["avx512dq"] = f.avx512dq;
  features["avx512vl"] = f.avx512vl;
  features["avx512_bf16"] = f.avx512_bf16;
  features["avx512_vnni"] = f.avx512_vnni;
  features["amx_tile"] = f.amx_tile;
  features["amx_bf16"] = f.amx_bf16;
  features["os_avx"] = f.os_avx;
  features["os_avx512"] = f.os_avx512;
  py::list supported;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) supported.append(isa_name(isa));
  }
  py::dict d;
  d["vendor"] = f.vendor;
  d["brand"] = f.brand;
  d["x86"] = f.x86;
  d["features"] = features;
  d["supported_isas"] = supported;
  d["best_isa"] = isa_name(best_supported_isa());
#ifdef _OPENMP
  d["openmp"] = true;
  d["openmp_version"] = _OPENMP;
#else
  d["openmp"] = false;
  d["openmp_version"] = py::none();
#endif
  d["openmp_runtime"] = openmp_runtime();
  return d;
}

// Runs one of the family's probes ("fma", "bf16", "int8") for about `seconds` on `num_threads` threads;
// returns G operations/s.
double peak_gops(const std::string& kind, const std::string& isa_name_, int num_threads, double seconds) {
  const KernelTable& kt = table_for(isa_name_);
  if (num_threads < 1) throw std::invalid_argument("num_threads must be >= 1");
  double (*probe)(int64_t) = kind == "fma" ? kt.fma_probe : kind == "bf16" ? kt.bf16_probe : kind == "int8" ? kt.i8_probe : nullptr;
  if (probe == nullptr) throw std::invalid_argument("unknown probe '" + kind + "'; use fma, bf16 or int8");
  double best = 0.0;
  run_without_gil([&] {
    int64_t iters = 1 << 16;
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
      double flops_total = 0.0;
      const auto t0 = clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(num_threads) reduction(+ : flops_total)
#endif
      { flops_total += probe(iters); }
      const double dt = std::chrono::duration<double>(clock::now() - t0).count();
      if (dt < 0.02) {
        iters *= 2;
        continue;
      }
      best = std::max(best, flops_total / dt * 1e-9);
      if (clock::now() >= deadline) break;
    }
  });
  return best;
}

}  // namespace

void register_cpu(py::module_& m) {
  m.def("cpu_info", &cpu_info, "What the CPU and OS support, as detected (cpuid + XCR0).");
  m.def("_set_fork_pool_release", &set_fork_pool_release, py::arg("enabled"),
        "Testing hook: false makes forked children run native calls on a hand-off thread instead of releasing "
        "the OpenMP pool before fork().");
  m.def("active_isa", []() { return std::string(isa_name(kernels().isa)); },
        "The kernel family used by models built from now on.");
  m.def("set_isa", [](const std::string& name) { set_active_isa(isa_from_name(name)); }, py::arg("name"),
        "Use another kernel family for models built from now on; ValueError if this CPU cannot run it.");
  m.def("isa_from_environment", []() { return std::string(isa_name(isa_from_environment())); },
        "The family BERTCORE_ISA asks for (ValueError if unknown or unsupported), else the best supported.");
  m.def("fma_peak_gflops", [](const std::string& isa, int num_threads, double seconds) {
        return peak_gops("fma", isa, num_threads, seconds);
      }, py::arg("isa") = "", py::arg("num_threads") = 1,
        py::arg("seconds") = 0.3, "Measured fp32 FMA throughput (GFLOP/s) of one kernel family.");
  m.def("peak_gops", &peak_gops, py::arg("kind"), py::arg("isa") = "", py::arg("num_threads") = 1,
        py::arg("seconds") = 0.3,
        "Measured throughput (G operations/s) of a family's fp32 FMA ('fma'), bf16 ('bf16') or int8 ('int8') "
        "GEMM instruction, as the low-precision benchmarks' peaks.");
  m.def("openmp_max_threads", []() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
  });
  m.def("gemm_blocking", [](const std::string& name) {
    const KernelTable& kt = table_for(name);
    py::dict d;
    d["mr"] = kt.gemm_mr;
    d["nr"] = kt.gemm_nr;
    d["kc"] = kt.gemm_kc;
    d["mc"] = kt.gemm_mc;
    d["nc"] = kt.gemm_nc;
    return d;
  }, py::arg("isa") = "");
}

}  // namespace bertcore::bindings
