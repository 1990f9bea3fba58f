// CPU feature detection and the instruction-set families bertcore has kernels for.
//
// Detection reads cpuid for what the processor implements and XCR0 (xgetbv) for what the operating system
// saves on context switch: AVX needs the YMM state, AVX-512 also the opmask and ZMM states. A feature the OS
// does not enable is reported as absent.
#pragma once

#include <string>

namespace bertcore {

enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
  std::string vendor;
  std::string brand;
  bool x86 = false;
  bool os_avx = false;     // XCR0 has SSE and AVX (YMM) state
  bool os_avx512 = false;  // XCR0 also has opmask, ZMM_Hi256 and Hi16_ZMM state
  bool avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512_bf16 = false, avx512_vnni = false, amx_tile = false, amx_bf16 = false;
};

// Detected once, on first use.
const CpuFeatures& cpu_features();

// True when this CPU and OS can run kernels of the given family.
bool isa_supported(Isa isa);

// The widest family this CPU supports.
Isa best_supported_isa();

const char* isa_name(Isa isa);

// Parses "scalar", "avx2" or "avx512" (case-insensitive); false for anything else.
bool parse_isa(const std::string& text, Isa* out);

}  // namespace bertcore
