// Large-buffer allocation for AlignedBuffer: anonymous mappings on 2 MiB boundaries, marked MADV_HUGEPAGE.
#include "bertcore/buffer.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <cstdint>
#endif

namespace bertcore {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kLargeMin = std::size_t{1} << 20;
constexpr std::size_t kPage = 4096;
}  // namespace

void* AlignedBuffer::large_alloc(std::size_t bytes, std::size_t* mapped) {
  *mapped = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes < kLargeMin) return nullptr;
  // Whole huge pages when that costs at most an eighth more; else whole small pages (the tail stays small).
  const std::size_t huge = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  const std::size_t len = huge - bytes <= bytes / 8 ? huge : (bytes + kPage - 1) / kPage * kPage;
  // Over-map by one huge page, then trim the ends so the start is 2 MiB aligned.
  const std::size_t span = len + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
  if (start > base) munmap(raw, start - base);
  const std::uintptr_t end = start + len, span_end = base + span;
  if (span_end > end) munmap(reinterpret_cast<void*>(end), span_end - end);
  void* p = reinterpret_cast<void*>(start);
  madvise(p, len, MADV_HUGEPAGE);  // a hint: without THP the mapping simply keeps small pages
  *mapped = len;
  return p;
#else
  (void)bytes;
  return nullptr;
#endif
}

void AlignedBuffer::large_free(void* p, std::size_t mapped) {
#if defined(__linux__)
  munmap(p, mapped);
#else
  (void)p;
  (void)mapped;
#endif
}

}  // namespace bertcore
