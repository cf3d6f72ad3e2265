// CUDA-core paged attention internals, part 3 of 3 (included by paged_attention.cu only):
// MergeSplitsKernel, which combines the split partials of a token into its output (a programmatic
// dependent of the attention kernel).
#pragma once

#include "kernels/paged_attention_common.cuh"

namespace specd::kernels {
namespace {

// One CTA per (token, head); returns at once for tokens the attention kernel finished itself.
// Warp w sums splits w, w + kMergeWarps, ...; lane owns kDimsPerLane dims.
template <int kHeadDim, typename Modifier>
__global__ void __launch_bounds__(kMergeWarps * kWarpSize) MergeSplitsKernel(const Args a) {
  constexpr int kDimsPerLane = kHeadDim / kWarpSize;
  __shared__ __align__(16) float warp_acc[kMergeWarps][kHeadDim];

  const PagedAttentionParams& p = a.p;
  const int token = static_cast<int>(blockIdx.x / p.num_heads);
  const int head = static_cast<int>(blockIdx.x % p.num_heads);
  const KeyInterval keys =
      ReadKeys(p.modifier, Modifier(p.modifier, p.num_heads).Keys(p.token_seq[token], p.positions[token]));
  const int splits = (keys.last - keys.first) / a.split_keys + 1;
  if (splits <= 1) return;
  // No early AllowDependentLaunch here: the next kernel launches when the merge ends. Letting it
  // in early made back-to-back decode attention at 1 x 8192 slower (H100: 1.65 TB/s against
  // 2.28, 2.08 without PDL at all) and the model's step no faster.
  WaitForPrerequisites();  // the attention kernel's partials are complete

  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int64_t row = static_cast<int64_t>(token) * p.num_heads + head;
  const float2* ml = a.partial_ml + row * a.num_splits;  // [splits]
  const float* partial_acc = a.partial_acc + row * a.num_splits * kHeadDim + lane * kDimsPerLane;

  float max_all = -INFINITY;
  for (int s = lane; s < splits; s += kWarpSize) max_all = fmaxf(max_all, ml[s].x);
  max_all = WarpMax(max_all);
  float total = 0.0f;
  for (int s = lane; s < splits; s += kWarpSize) total += ml[s].y * exp2f(ml[s].x - max_all);
  total = WarpSum(total);

  float acc[kDimsPerLane];
#pragma unroll
  for (int d = 0; d < kDimsPerLane; ++d) acc[d] = 0.0f;
#pragma unroll 4
  for (int s = warp; s < splits; s += kMergeWarps) {
    const float scale = exp2f(ml[s].x - max_all);
    const float* part = partial_acc + static_cast<int64_t>(s) * kHeadDim;
    if constexpr (kDimsPerLane == 4) {
      const float4 v = *reinterpret_cast<const float4*>(part);
      acc[0] = fmaf(v.x, scale, acc[0]);
      acc[1] = fmaf(v.y, scale, acc[1]);
      acc[2] = fmaf(v.z, scale, acc[2]);
      acc[3] = fmaf(v.w, scale, acc[3]);
    } else {
      const float2 v = *reinterpret_cast<const float2*>(part);
      acc[0] = fmaf(v.x, scale, acc[0]);
      acc[1] = fmaf(v.y, scale, acc[1]);
    }
  }
#pragma unroll
  for (int d = 0; d < kDimsPerLane; ++d) warp_acc[warp][lane * kDimsPerLane + d] = acc[d];
  __syncthreads();
  if (warp != 0) return;
  const float inv_total = 1.0f / total;
  auto* out = reinterpret_cast<__nv_bfloat162*>(p.out + row * kHeadDim + lane * kDimsPerLane);
#pragma unroll
  for (int d = 0; d < kDimsPerLane; d += 2) {
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int w = 0; w < kMergeWarps; ++w) {
      sum0 += warp_acc[w][lane * kDimsPerLane + d];
      sum1 += warp_acc[w][lane * kDimsPerLane + d + 1];
    }
    out[d / 2] = __floats2bfloat162_rn(sum0 * inv_total, sum1 * inv_total);
  }
}

}  // namespace
}  // namespace specd::kernels
