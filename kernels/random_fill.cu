#include "kernels/random_fill.h"

namespace specd::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 4096;

// SplitMix64's finalizer: a good 64-bit mix of a counter.
__device__ uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__global__ void RandomFillKernel(RandomFillParams p) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.count; i += stride) {
    const uint64_t bits = Mix(p.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(i));
    const float u = static_cast<float>(bits >> 40) * (2.0f / 16777216.0f) - 1.0f;  // 24 random bits
    p.out[i] = __float2bfloat16(p.offset + p.scale * u);
  }
}

}  // namespace

cudaError_t LaunchRandomFill(const RandomFillParams& params, cudaStream_t stream) {
  if (params.count < 0 || (params.count > 0 && params.out == nullptr)) return cudaErrorInvalidValue;
  if (params.count == 0) return cudaSuccess;
  const int64_t blocks = (params.count + kThreads - 1) / kThreads;
  RandomFillKernel<<<static_cast<int>(blocks < kMaxBlocks ? blocks : kMaxBlocks), kThreads, 0, stream>>>(params);
  return cudaGetLastError();
}

}  // namespace specd::kernels
