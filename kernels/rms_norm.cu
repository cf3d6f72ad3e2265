#include "kernels/rms_norm.h"

#include "kernels/pdl.cuh"

namespace specd::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kVectorElements = 8;  // 8 bf16 = one 16-byte access
constexpr int kMaxVectorsPerThread = 8;  // hidden_size up to 256 * 8 * 8 = 16384

union BF16x8 {
  uint4 raw;
  __nv_bfloat16 values[kVectorElements];
};

__device__ float BlockSum(float value) {
  __shared__ float warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) warp_sums[warp] = value;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w) total += warp_sums[w];
  return total;
}

// Each thread keeps its slice of the (residual-added) row in registers between the two passes.
__global__ void __launch_bounds__(kThreads) RmsNormKernel(RmsNormParams p) {
  AllowDependentLaunch();
  WaitForPrerequisites();
  const int vectors = p.hidden_size / kVectorElements;
  const size_t row = static_cast<size_t>(blockIdx.x) * p.hidden_size;
  const auto* input = reinterpret_cast<const uint4*>(p.input + row);
  auto* residual = reinterpret_cast<uint4*>(p.residual == nullptr ? nullptr : p.residual + row);
  float x[kMaxVectorsPerThread][kVectorElements];
  float sum_squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kMaxVectorsPerThread; ++i) {
    const int v = threadIdx.x + i * kThreads;
    if (v >= vectors) break;
    BF16x8 in{input[v]};
    BF16x8 res{};
    if (residual != nullptr) res.raw = residual[v];
#pragma unroll
    for (int e = 0; e < kVectorElements; ++e) {
      const float sum = __bfloat162float(in.values[e]) +
                        (residual != nullptr ? __bfloat162float(res.values[e]) : 0.0f);
      res.values[e] = __float2bfloat16(sum);
      // The residual stream is stored in bf16, so normalize the rounded value, as a separate
      // add and norm would.
      x[i][e] = __bfloat162float(res.values[e]);
      sum_squares += x[i][e] * x[i][e];
    }
    if (residual != nullptr) residual[v] = res.raw;
  }
  const float inv_rms = rsqrtf(BlockSum(sum_squares) / p.hidden_size + p.eps);
  const auto* weight = reinterpret_cast<const uint4*>(p.weight);
  auto* output = reinterpret_cast<uint4*>(p.output + row);
#pragma unroll
  for (int i = 0; i < kMaxVectorsPerThread; ++i) {
    const int v = threadIdx.x + i * kThreads;
    if (v >= vectors) break;
    BF16x8 w{weight[v]};
    BF16x8 out;
#pragma unroll
    for (int e = 0; e < kVectorElements; ++e) {
      out.values[e] = __float2bfloat16(x[i][e] * inv_rms * __bfloat162float(w.values[e]));
    }
    output[v] = out.raw;
  }
}

}  // namespace

cudaError_t LaunchRmsNorm(const RmsNormParams& params, cudaStream_t stream) {
  if (params.hidden_size <= 0 || params.hidden_size % kVectorElements != 0 ||
      params.hidden_size > kThreads * kVectorElements * kMaxVectorsPerThread || params.num_tokens < 0) {
    return cudaErrorInvalidValue;
  }
  if (params.num_tokens == 0) return cudaSuccess;
  return LaunchWithPdl(RmsNormKernel, params.num_tokens, kThreads, 0, stream, params);
}

}  // namespace specd::kernels
