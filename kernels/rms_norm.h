// Fused residual add + RMSNorm on the GPU (bf16 in and out, fp32 arithmetic):
//   residual = input + residual        (skipped when residual is null)
//   output   = residual / sqrt(mean(residual^2) + eps) * weight
// One thread block per token; 16-byte loads, so hidden_size must be a multiple of 8.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace specd::kernels {

struct RmsNormParams {
  const __nv_bfloat16* input = nullptr;  // [num_tokens, hidden_size]
  __nv_bfloat16* residual = nullptr;     // [num_tokens, hidden_size], updated in place; or null
  const __nv_bfloat16* weight = nullptr; // [hidden_size]
  __nv_bfloat16* output = nullptr;       // [num_tokens, hidden_size]
  int num_tokens = 0;
  int hidden_size = 0;
  float eps = 1e-6f;
};

// cudaErrorInvalidValue for a hidden size that is not a positive multiple of 8 or too large;
// otherwise the launch's error.
cudaError_t LaunchRmsNorm(const RmsNormParams& params, cudaStream_t stream);

}  // namespace specd::kernels
