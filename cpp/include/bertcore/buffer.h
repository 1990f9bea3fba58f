// An owned, 64-byte aligned float buffer (weights, packed panels, scratch).
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
  ~AlignedBuffer() { std::free(data_); }

  // Discards the contents. Allocates exactly `count` floats (rounded up to a cache line).
  void resize(int64_t count) {
    std::free(data_);
    data_ = nullptr;
    size_ = 0;
    if (count <= 0) return;
    const std::size_t bytes = ((static_cast<std::size_t>(count) * sizeof(float) + 63) / 64) * 64;
    data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (data_ == nullptr) throw std::bad_alloc();
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
  }

 private:
  float* data_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace bertcore
