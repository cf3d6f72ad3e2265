// PinnedBuffer<T>: one cudaMallocHost'ed (page-locked) host array, freed on destruction: the
// host side of a copy that must not stage through the driver (one asynchronous copy a step).
// Move-only. Owned by the CUDA runner (engine thread).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/cuda_status.h"

namespace specd {

template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { Reset(); }
  PinnedBuffer(PinnedBuffer&& other) noexcept { *this = std::move(other); }
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  // An error naming `what` and the size when the host cannot pin that much.
  Status Allocate(size_t count, const std::string& what) {
    Reset();
    if (count == 0) return OkStatus();
    void* data = nullptr;
    const cudaError_t error = cudaMallocHost(&data, count * sizeof(T));
    if (error != cudaSuccess) {
      return CudaStatus(error, "pinning " + std::to_string(count * sizeof(T) >> 10) + " KiB of host memory for " + what);
    }
    data_ = static_cast<T*>(data);
    size_ = count;
    return OkStatus();
  }

  T* get() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

 private:
  void Reset() {
    if (data_ != nullptr) cudaFreeHost(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace specd
