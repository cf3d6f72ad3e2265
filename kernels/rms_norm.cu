#include "kernels/rms_norm.h"

#include "kernels/pdl.cuh"
#include "kernels/rms_norm_math.cuh"

namespace specd::kernels {
namespace {

constexpr int kMaxVectorsPerThread = 8;  // hidden_size up to 256 * 8 * 8 = 16384

// Each thread keeps its slice of the (residual-added) row in registers between the two passes.
__global__ void __launch_bounds__(kNormThreads) RmsNormKernel(RmsNormParams p) {
  __shared__ float warp_sums[kNormWarps];
  AllowDependentLaunch();
  WaitForPrerequisites();
  const int vectors = p.hidden_size / kNormVector;
  const size_t row = static_cast<size_t>(blockIdx.x) * p.hidden_size;
  const auto* input = reinterpret_cast<const uint4*>(p.input + row);
  auto* residual = reinterpret_cast<uint4*>(p.residual == nullptr ? nullptr : p.residual + row);
  NormBf16x8 x[kMaxVectorsPerThread];
  float sum_squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kMaxVectorsPerThread; ++i) {
    const int v = threadIdx.x + i * kNormThreads;
    if (v >= vectors) break;
    x[i].raw = input[v];
    if (residual != nullptr) {
      const NormBf16x8 res{residual[v]};
      // The residual stream is stored in bf16, so normalize the rounded sum, as a separate add
      // and norm would.
#pragma unroll
      for (int e = 0; e < kNormVector; ++e) {
        x[i].values[e] = __float2bfloat16(__bfloat162float(x[i].values[e]) + __bfloat162float(res.values[e]));
      }
      residual[v] = x[i].raw;
    }
    sum_squares = AddSquares(x[i], sum_squares);
  }
  sum_squares = WarpButterflySum(sum_squares);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum_squares;
  __syncthreads();
  const float inverse_rms = InverseRms(SumOfWarps(warp_sums), p.hidden_size, p.eps);
  const auto* weight = reinterpret_cast<const uint4*>(p.weight);
  auto* output = reinterpret_cast<uint4*>(p.output + row);
#pragma unroll
  for (int i = 0; i < kMaxVectorsPerThread; ++i) {
    const int v = threadIdx.x + i * kNormThreads;
    if (v >= vectors) break;
    const NormBf16x8 w{weight[v]};
    NormBf16x8 out;
#pragma unroll
    for (int e = 0; e < kNormVector; ++e) {
      out.values[e] = Normalized(__bfloat162float(x[i].values[e]), inverse_rms, w.values[e]);
    }
    output[v] = out.raw;
  }
}

}  // namespace

cudaError_t LaunchRmsNorm(const RmsNormParams& params, cudaStream_t stream) {
  if (params.hidden_size <= 0 || params.hidden_size % kNormVector != 0 ||
      params.hidden_size > kNormThreads * kNormVector * kMaxVectorsPerThread || params.num_tokens < 0) {
    return cudaErrorInvalidValue;
  }
  if (params.num_tokens == 0) return cudaSuccess;
  return LaunchWithPdl(RmsNormKernel, params.num_tokens, kNormThreads, 0, stream, params);
}

}  // namespace specd::kernels
