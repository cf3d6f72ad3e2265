#include "bench/gpu_name.h"

#include <cuda_runtime.h>

namespace specd::bench {

std::string GpuName() {
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, 0) != cudaSuccess) return "unknown gpu";
  return properties.name;
}

}  // namespace specd::bench
