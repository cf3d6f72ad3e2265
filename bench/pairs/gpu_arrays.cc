#include "bench/pairs/gpu_arrays.h"

#include "kernels/random_fill.h"

namespace specd::bench {

StatusOr<DeviceBuffer<__nv_bfloat16>> RandomBf16Array(int64_t count, uint64_t seed, float scale, const std::string& what) {
  DeviceBuffer<__nv_bfloat16> buffer;
  SPECD_RETURN_IF_ERROR(buffer.Allocate(static_cast<size_t>(count), what));
  const kernels::RandomFillParams fill{.out = buffer.get(), .count = count, .seed = seed, .offset = 0.0f, .scale = scale};
  SPECD_RETURN_IF_ERROR(CudaStatus(kernels::LaunchRandomFill(fill, nullptr), "filling " + what));
  return buffer;
}

StatusOr<std::vector<float>> DownloadBf16AsFloats(const __nv_bfloat16* device, size_t count) {
  SPECD_ASSIGN_OR_RETURN(const std::vector<__nv_bfloat16> bits, DownloadArray(device, count));
  std::vector<float> values;
  values.reserve(count);
  for (const __nv_bfloat16 value : bits) values.push_back(__bfloat162float(value));
  return values;
}

}  // namespace specd::bench
