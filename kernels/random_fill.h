// Fills a bf16 array with offset + scale * u, u uniform in [-1, 1), from a counter-based hash of
// (seed, index): the same values on every run and every GPU. For benchmark models in real shapes
// made on the GPU itself (no 16 GB weight file to write and read back).
#pragma once

#include <cstdint>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace specd::kernels {

struct RandomFillParams {
  __nv_bfloat16* out = nullptr;  // [count]
  int64_t count = 0;
  uint64_t seed = 0;
  float offset = 0.0f;
  float scale = 1.0f;
};

cudaError_t LaunchRandomFill(const RandomFillParams& params, cudaStream_t stream);

}  // namespace specd::kernels
