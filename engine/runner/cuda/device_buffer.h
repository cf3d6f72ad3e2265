// DeviceBuffer<T>: one cudaMalloc'ed array, freed on destruction. Move-only. Owned by the
// CUDA runner (engine thread).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/cuda_status.h"

namespace specd {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { Reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // RESOURCE_EXHAUSTED naming `what` and the size when the GPU is out of memory.
  Status Allocate(size_t count, const std::string& what) {
    Reset();
    if (count == 0) return OkStatus();
    const cudaError_t error = cudaMalloc(&data_, count * sizeof(T));
    if (error != cudaSuccess) {
      data_ = nullptr;
      return CudaStatus(error, "allocating " + std::to_string(count * sizeof(T) >> 20) + " MiB for " + what);
    }
    size_ = count;
    return OkStatus();
  }

  T* get() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

 private:
  void Reset() {
    if (data_ != nullptr) cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace specd
