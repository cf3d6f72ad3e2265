// CudaBuffer<T, Memory>: one array from a CUDA allocator, freed on destruction. Move-only. Owned
// by the CUDA runner (engine thread). Two kinds:
//   DeviceBuffer<T>  cudaMalloc'ed device memory
//   PinnedBuffer<T>  cudaMallocHost'ed (page-locked) host memory: the host side of a copy that
//                    must not stage through the driver (one asynchronous copy a step)
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/cuda_status.h"

namespace specd {

struct DeviceMemory {
  static cudaError_t Allocate(void** data, size_t bytes) { return cudaMalloc(data, bytes); }
  static void Free(void* data) { cudaFree(data); }
  static std::string Describe(size_t bytes) { return "allocating " + std::to_string(bytes >> 20) + " MiB"; }
};

struct PinnedMemory {
  static cudaError_t Allocate(void** data, size_t bytes) { return cudaMallocHost(data, bytes); }
  static void Free(void* data) { cudaFreeHost(data); }
  static std::string Describe(size_t bytes) { return "pinning " + std::to_string(bytes >> 10) + " KiB of host memory"; }
};

template <typename T, typename Memory>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  ~CudaBuffer() { Reset(); }
  CudaBuffer(CudaBuffer&& other) noexcept { *this = std::move(other); }
  CudaBuffer& operator=(CudaBuffer&& other) noexcept {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;

  // An error naming `what` and the size when there is not that much memory.
  Status Allocate(size_t count, const std::string& what) {
    Reset();
    if (count == 0) return OkStatus();
    void* data = nullptr;
    const cudaError_t error = Memory::Allocate(&data, count * sizeof(T));
    if (error != cudaSuccess) return CudaStatus(error, Memory::Describe(count * sizeof(T)) + " for " + what);
    data_ = static_cast<T*>(data);
    size_ = count;
    return OkStatus();
  }

  T* get() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

 private:
  void Reset() {
    if (data_ != nullptr) Memory::Free(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

template <typename T>
using DeviceBuffer = CudaBuffer<T, DeviceMemory>;
template <typename T>
using PinnedBuffer = CudaBuffer<T, PinnedMemory>;

}  // namespace specd
