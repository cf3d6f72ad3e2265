// Device arrays for the kernel pairs: random bf16 fills (kernels/random_fill.h: the same values on
// every run and GPU for a seed), uploads and downloads. Synchronous, on the default stream; the
// harness thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/cuda_status.h"
#include "engine/runner/cuda/device_buffer.h"

namespace specd::bench {

// `count` values scale * u, u uniform in [-1, 1).
StatusOr<DeviceBuffer<__nv_bfloat16>> RandomBf16Array(int64_t count, uint64_t seed, float scale, const std::string& what);

// The bf16 values at device[0, count), widened to float.
StatusOr<std::vector<float>> DownloadBf16AsFloats(const __nv_bfloat16* device, size_t count);

template <typename T>
StatusOr<DeviceBuffer<T>> UploadArray(const std::vector<T>& host, const std::string& what) {
  DeviceBuffer<T> buffer;
  SPECD_RETURN_IF_ERROR(buffer.Allocate(host.size(), what));
  SPECD_RETURN_IF_ERROR(
      CudaStatus(cudaMemcpy(buffer.get(), host.data(), buffer.bytes(), cudaMemcpyHostToDevice), "uploading " + what));
  return buffer;
}

template <typename T>
StatusOr<std::vector<T>> DownloadArray(const T* device, size_t count) {
  std::vector<T> host(count);
  SPECD_RETURN_IF_ERROR(
      CudaStatus(cudaMemcpy(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost), "downloading outputs"));
  return host;
}

}  // namespace specd::bench
