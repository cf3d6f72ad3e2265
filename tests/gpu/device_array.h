// DeviceArray: a typed device allocation that frees itself, so a failed REQUIRE in a GPU test
// leaks nothing. Test-only; the engine's allocations go through engine/runner/cuda.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime.h>

namespace specd::testing {

struct CudaFree {
  void operator()(void* pointer) const { cudaFree(pointer); }
};

// Copies count elements from the device.
template <typename T>
std::vector<T> ToHost(const T* device, size_t count) {
  std::vector<T> host(count);
  REQUIRE(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return host;
}

template <typename T>
class DeviceArray {
 public:
  // A copy of host.
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
    REQUIRE(cudaMemcpy(get(), host.data(), Bytes(), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  // Every byte 0xFF (for bf16 a NaN).
  static DeviceArray Poisoned(size_t count) {
    DeviceArray array(count);
    REQUIRE(cudaMemset(array.get(), 0xFF, array.Bytes()) == cudaSuccess);
    return array;
  }

  T* get() const { return data_.get(); }
  size_t size() const { return count_; }
  size_t Bytes() const { return count_ * sizeof(T); }
  std::vector<T> ToHost() const { return testing::ToHost(get(), count_); }

 private:
  explicit DeviceArray(size_t count) : count_(count) {
    T* device = nullptr;
    REQUIRE(cudaMalloc(&device, Bytes()) == cudaSuccess);
    data_.reset(device);
  }

  std::unique_ptr<T, CudaFree> data_;
  size_t count_ = 0;
};

}  // namespace specd::testing
