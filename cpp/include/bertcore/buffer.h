// An owned, 64-byte aligned float buffer (weights, packed panels, scratch).
//
// Large buffers (1 MiB and up) are mapped on 2 MiB boundaries and marked for transparent huge pages on Linux:
// a packed weight matrix is streamed once per forward pass, and with 4 KiB pages every 4 KiB of it is a TLB
// miss. The size is rounded up to whole huge pages only when that adds at most an eighth; otherwise the tail
// stays in small pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace bertcore {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(int64_t count) { resize(count); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& other) noexcept { swap(other); }
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    AlignedBuffer tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // Discards the contents. Allocates exactly `count` floats (rounded up to a cache line).
  void resize(int64_t count) {
    release();
    if (count <= 0) return;
    const std::size_t bytes = ((static_cast<std::size_t>(count) * sizeof(float) + 63) / 64) * 64;
    void* p = large_alloc(bytes, &mapped_);
    if (p == nullptr) p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<float*>(p);
    size_ = count;
  }
  // Grows (discarding the contents) when smaller than `count`.
  void reserve(int64_t count) {
    if (count > size_) resize(count);
  }
  void copy_from(const float* src, int64_t count) {
    resize(count);
    if (count > 0) std::memcpy(data_, src, static_cast<std::size_t>(count) * sizeof(float));
  }

  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return size_; }
  void swap(AlignedBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(mapped_, other.mapped_);
  }

 private:
  void release() {
    if (mapped_ > 0) {
      large_free(data_, mapped_);
    } else {
      std::free(data_);
    }
    data_ = nullptr;
    size_ = 0;
    mapped_ = 0;
  }
  // A huge-page-friendly mapping of at least `bytes` for large sizes (its length in *mapped), or null: the
  // caller then uses the heap. Defined in buffer.cc.
  static void* large_alloc(std::size_t bytes, std::size_t* mapped);
  static void large_free(void* p, std::size_t mapped);

  float* data_ = nullptr;
  int64_t size_ = 0;
  std::size_t mapped_ = 0;  // > 0: data_ is a mapping of this many bytes (large_alloc), else heap memory
};

}  // namespace bertcore
