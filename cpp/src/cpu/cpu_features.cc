// cpuid + XCR0 feature detection (see cpu.h). Compiled with baseline flags only.
#include "bertcore/cpu.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define BERTCORE_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace bertcore {
namespace {

#ifdef BERTCORE_X86
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

unsigned long long read_xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

bool bit(unsigned value, int index) { return (value >> index) & 1u; }

CpuFeatures detect() {
  CpuFeatures f;
  f.x86 = true;
  unsigned r[4];
  cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  char vendor[13];
  std::memcpy(vendor + 0, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  vendor[12] = '\0';
  f.vendor = vendor;

  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49];
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    brand[48] = '\0';
    f.brand = brand;
    const auto first = f.brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? std::string() : f.brand.substr(first);
  }
  if (max_leaf < 1) return f;

  cpuid(1, 0, r);
  const bool osxsave = bit(r[2], 27);
  f.avx = bit(r[2], 28);
  f.fma = bit(r[2], 12);
  f.f16c = bit(r[2], 29);
  if (osxsave) {
    const unsigned long long xcr0 = read_xcr0();
    f.os_avx = (xcr0 & 0x6) == 0x6;             // SSE + AVX state
    f.os_avx512 = f.os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = bit(r[1], 5);
    f.avx512f = bit(r[1], 16);
    f.avx512dq = bit(r[1], 17);
    f.avx512bw = bit(r[1], 30);
    f.avx512vl = bit(r[1], 31);
    f.avx512_vnni = bit(r[2], 11);
    f.amx_bf16 = bit(r[3], 22);
    f.amx_tile = bit(r[3], 24);
    const unsigned max_sub = r[0];
    if (max_sub >= 1) {
      cpuid(7, 1, r);
      f.avx512_bf16 = bit(r[0], 5);
    }
  }
  if (!f.os_avx) {
    f.avx = f.avx2 = f.fma = f.f16c = false;
  }
  if (!f.os_avx512) {
    f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512_bf16 = f.avx512_vnni = false;
  }
  return f;
}
#else
CpuFeatures detect() { return CpuFeatures{}; }
#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  (void)f;  // unused when the build has only the scalar kernels
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
#ifdef BERTCORE_HAVE_X86_KERNELS
      return f.avx && f.avx2 && f.fma && f.f16c;
#else
      return false;
#endif
    case Isa::kAvx512:
#ifdef BERTCORE_HAVE_X86_KERNELS
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
#else
      return false;
#endif
  }
  return false;
}

Isa best_supported_isa() {
  if (isa_supported(Isa::kAvx512)) return Isa::kAvx512;
  if (isa_supported(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kScalar;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

bool parse_isa(const std::string& text, Isa* out) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "scalar") {
    *out = Isa::kScalar;
  } else if (t == "avx2") {
    *out = Isa::kAvx2;
  } else if (t == "avx512") {
    *out = Isa::kAvx512;
  } else {
    return false;
  }
  return true;
}

}  // namespace bertcore
