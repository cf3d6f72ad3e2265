#include "kernels/multiprocessor_count.h"

#include <atomic>

#include <cuda_runtime.h>

namespace specd::kernels {
namespace {

constexpr int kMaxCachedDevices = 64;

}  // namespace

int MultiprocessorCount(int device) {
  static std::atomic<int> cached[kMaxCachedDevices] = {};
  const bool cacheable = device >= 0 && device < kMaxCachedDevices;
  if (cacheable) {
    const int count = cached[device].load(std::memory_order_relaxed);
    if (count > 0) return count;
  }
  int count = 0;
  if (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || count <= 0) {
    cudaGetLastError();
    return 0;
  }
  if (cacheable) cached[device].store(count, std::memory_order_relaxed);
  return count;
}

int CurrentMultiprocessorCount() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return MultiprocessorCount(device);
}

}  // namespace specd::kernels
