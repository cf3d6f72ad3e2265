#include "bench/pairs/harness_environment.h"

#include <chrono>
#include <ctime>

#include "bench/machine_name.h"
#include "bench/pairs/pair_registry.h"
#include "build_revision.h"  // generated: SPECD_BUILD_COMMIT
#ifdef SPECD_WITH_CUDA_RUNNER
#include <cuda_runtime.h>

#include "bench/gpu_name.h"
#endif

namespace specd::bench {
namespace {

bool HasGpu() {
#ifdef SPECD_WITH_CUDA_RUNNER
  int devices = 0;
  const bool usable = cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
  cudaGetLastError();  // no GPU: not sticky
  return usable;
#else
  return false;
#endif
}

std::string DeviceName(bool has_gpu) {
#ifdef SPECD_WITH_CUDA_RUNNER
  if (has_gpu) return GpuName();
#endif
  return CpuName();
}

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

HarnessEnvironment HarnessEnvironmentHere() {
  const bool has_gpu = HasGpu();
  return {AllPairs(has_gpu), DeviceName(has_gpu), has_gpu, SPECD_BUILD_COMMIT, UtcNow()};
}

}  // namespace specd::bench
