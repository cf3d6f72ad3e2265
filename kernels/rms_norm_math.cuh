// The arithmetic of an RMSNorm row, shared by the RMSNorm kernel and the skinny GEMM's fused norm
// (skinny_gemm.cu) so that both round every value the same way: a decode step with the norm
// fused into its products gives the same bits as one with separate norm kernels.
//
//   sum   = sum of x^2 (per thread: its vectors in order, each vector's 8 values in order, fmaf;
//           then a warp butterfly and the warps' sums in warp order)
//   out_i = bf16(x_i * rsqrt(sum / hidden + eps) * weight_i)
//
// Blocks of kNormThreads threads; thread t takes the 8-value vectors t, t + kNormThreads, ...
#pragma once

#include <cuda_bf16.h>

namespace specd::kernels {

inline constexpr int kNormThreads = 256;
inline constexpr int kNormWarps = kNormThreads / 32;
inline constexpr int kNormVector = 8;  // bf16 per 16-byte access

union NormBf16x8 {
  uint4 raw;
  __nv_bfloat16 values[kNormVector];
};

__device__ __forceinline__ float AddSquares(const NormBf16x8& v, float sum) {
#pragma unroll
  for (int e = 0; e < kNormVector; ++e) {
    const float x = __bfloat162float(v.values[e]);
    sum = fmaf(x, x, sum);
  }
  return sum;
}

__device__ __forceinline__ float WarpButterflySum(float value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// The warps' sums, added in warp order. warp_sums: [kNormWarps], filled by each warp's lane 0 and
// made visible by a __syncthreads before this call.
__device__ __forceinline__ float SumOfWarps(const float* warp_sums) {
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kNormWarps; ++w) total += warp_sums[w];
  return total;
}

__device__ __forceinline__ float InverseRms(float sum_squares, int hidden, float eps) {
  return rsqrtf(sum_squares / hidden + eps);
}

__device__ __forceinline__ __nv_bfloat16 Normalized(float x, float inverse_rms, __nv_bfloat16 weight) {
  return __float2bfloat16(x * inverse_rms * __bfloat162float(weight));
}

}  // namespace specd::kernels
