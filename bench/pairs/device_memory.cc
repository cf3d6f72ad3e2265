#include "bench/pairs/device_memory.h"

#ifdef SPECD_WITH_CUDA_RUNNER
#include <cuda_runtime.h>
#endif

namespace specd::bench {

std::optional<int64_t> DeviceMemoryInUse() {
#ifdef SPECD_WITH_CUDA_RUNNER
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    cudaGetLastError();  // no GPU: not sticky
    return std::nullopt;
  }
  return static_cast<int64_t>(total_bytes - free_bytes);
#else
  return std::nullopt;
#endif
}

std::optional<int64_t> DeviceMemoryGrowth(std::optional<int64_t> before, std::optional<int64_t> after) {
  if (!before.has_value() || !after.has_value()) return std::nullopt;
  return *after - *before;
}

}  // namespace specd::bench
