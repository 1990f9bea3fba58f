// Builds one kernel table per instruction-set family and picks the active one (BERTCORE_ISA or the best the
// CPU supports). Compiled with baseline flags: it only stores pointers into the per-ISA files.
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "bertcore/kernels.h"

namespace bertcore {
namespace {

// BERTCORE_AVX512_EXTENSIONS=0 keeps the avx512 family on its AVX-512F/BW low-precision tiles even where the
// CPU has VNNI and BF16, so that those tiles are tested on such machines too.
bool use_avx512_extensions() {
  const char* env = std::getenv("BERTCORE_AVX512_EXTENSIONS");
  return env == nullptr || std::string(env) != "0";
}

KernelTable build(Isa isa) {
  KernelTable t;
  t.isa = isa;
  switch (isa) {
    case Isa::kScalar:
      kernels_scalar::register_gemm(&t);
      kernels_scalar::register_rows(&t);
      kernels_scalar::register_lowp(&t);
      kernels_scalar::register_probes(&t);
      break;
    case Isa::kAvx2:
#ifdef BERTCORE_HAVE_X86_KERNELS
      kernels_avx2::register_gemm(&t);
      kernels_avx2::register_rows(&t);
      kernels_avx2::register_lowp(&t);
      kernels_avx2::register_probes(&t);
#endif
      break;
    case Isa::kAvx512:
#ifdef BERTCORE_HAVE_X86_KERNELS
      kernels_avx512::register_gemm(&t);
      kernels_avx512::register_rows(&t);
      kernels_avx512::register_lowp(&t);
      kernels_avx512::register_probes(&t);
      if (use_avx512_extensions()) {
        if (cpu_features().avx512_vnni) kernels_avx512_vnni::register_vnni(&t);
        if (cpu_features().avx512_bf16) kernels_avx512_bf16::register_bf16(&t);
      }
#endif
      break;
  }
  return t;
}

void require_supported(Isa isa) {
  if (!isa_supported(isa)) {
    throw std::invalid_argument(std::string("instruction set '") + isa_name(isa) +
                                "' is not supported by this CPU/OS or this build; use one of the supported "
                                "families listed by bertcore.cpu_info()['supported_isas']");
  }
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{-1};
  return slot;
}

}  // namespace

const KernelTable& kernels_for(Isa isa) {
  require_supported(isa);
  static const KernelTable scalar = build(Isa::kScalar);
  static const KernelTable avx2 = build(isa_supported(Isa::kAvx2) ? Isa::kAvx2 : Isa::kScalar);
  static const KernelTable avx512 = build(isa_supported(Isa::kAvx512) ? Isa::kAvx512 : Isa::kScalar);
  switch (isa) {
    case Isa::kAvx2:
      return avx2;
    case Isa::kAvx512:
      return avx512;
    case Isa::kScalar:
    default:
      return scalar;
  }
}

Isa isa_from_environment() {
  const char* env = std::getenv("BERTCORE_ISA");
  if (env == nullptr || env[0] == '\0') return best_supported_isa();
  Isa isa;
  if (!parse_isa(env, &isa)) {
    throw std::invalid_argument(std::string("BERTCORE_ISA='") + env +
                                "' is not a known instruction set; use scalar, avx2 or avx512, or unset it");
  }
  if (!isa_supported(isa)) {
    throw std::invalid_argument(std::string("BERTCORE_ISA='") + env +
                                "' asks for kernels this CPU/OS cannot run; unset it or choose a supported one");
  }
  return isa;
}

const KernelTable& kernels() {
  int slot = active_slot().load(std::memory_order_acquire);
  if (slot < 0) {
    slot = static_cast<int>(isa_from_environment());
    int expected = -1;
    active_slot().compare_exchange_strong(expected, slot);
    slot = active_slot().load(std::memory_order_acquire);
  }
  return kernels_for(static_cast<Isa>(slot));
}

void set_active_isa(Isa isa) {
  require_supported(isa);
  active_slot().store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace bertcore
