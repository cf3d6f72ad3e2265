// The GPU memory a variant holds: device memory in use (cudaMemGetInfo: total - free) after its
// set-up minus before it. Without the CUDA runner in the build, or without a GPU, nothing is
// measured (nullopt).
#pragma once

#include <cstdint>
#include <optional>

namespace specd::bench {

std::optional<int64_t> DeviceMemoryInUse();

// after - before, when both were measured.
std::optional<int64_t> DeviceMemoryGrowth(std::optional<int64_t> before, std::optional<int64_t> after);

}  // namespace specd::bench
