#include "bench/pairs/harness_environment.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "bench/machine_name.h"
#include "bench/pairs/pair_registry.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include <cuda_runtime.h>

#include "bench/gpu_name.h"
#endif

namespace specd::bench {
namespace {

constexpr char kGitRevision[] = "git rev-parse --short HEAD 2>/dev/null";
constexpr size_t kRevisionBytes = 64;

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

std::string Commit() {
  std::array<char, kRevisionBytes> line{};
  FILE* git = popen(kGitRevision, "r");
  std::string revision;
  if (git != nullptr) {
    if (fgets(line.data(), static_cast<int>(line.size()), git) != nullptr) revision = line.data();
    pclose(git);
  }
  while (!revision.empty() && (revision.back() == '\n' || revision.back() == '\r')) revision.pop_back();
  return revision.empty() ? std::string(SPECD_BUILD_COMMIT) + "+configure" : revision;
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
  return {AllPairs(has_gpu), DeviceName(has_gpu), has_gpu, Commit(), UtcNow()};
}

}  // namespace specd::bench
