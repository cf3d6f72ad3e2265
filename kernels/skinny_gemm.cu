#include "kernels/skinny_gemm.h"

#include <cstdint>

#include "kernels/pdl.cuh"

namespace specd::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kLoadsInFlight = 8;  // 16-byte weight loads in flight per lane
constexpr int kVector = 8;         // bf16 per 16-byte load
// Below this many blocks with 2 features a warp, a warp takes 1 feature: more blocks to spread
// narrow products (out = hidden) over every SM.
constexpr int kMinBlocks = 2 * 132;

union Bf16x8 {
  uint4 raw;
  __nv_bfloat162 pairs[4];
};

__device__ float Dot8(const Bf16x8& a, const Bf16x8& b) {
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 fa = __bfloat1622float2(a.pairs[i]), fb = __bfloat1622float2(b.pairs[i]);
    sum = fmaf(fa.x, fb.x, sum);
    sum = fmaf(fa.y, fb.y, sum);
  }
  return sum;
}

__device__ float WarpSum(float value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Warp w of block b owns features (b * kWarps + w) * kFeatures + f, read together for more loads
// in flight; its lanes stride over the 16-byte vectors of `in`, weights streamed once (no L1
// allocation), x re-read from L2. The first batch of weight loads is issued before waiting for
// the kernel that writes x (pdl.cuh): for narrow products that is all of a warp's weights.
template <int kRows, int kFeatures>
__global__ void __launch_bounds__(kWarps * 32) SkinnyGemmKernel(SkinnyGemmParams p) {
  constexpr int kUnroll = kLoadsInFlight / kFeatures;  // loads per feature in flight
  const int lane = threadIdx.x % 32;
  const int first_feature = (blockIdx.x * kWarps + threadIdx.x / 32) * kFeatures;
  if (first_feature >= p.out) return;
  const int vectors = p.in / kVector;
  const auto* x = reinterpret_cast<const uint4*>(p.x);  // [rows, vectors]
  const uint4* w[kFeatures];                             // one [vectors] row per feature
#pragma unroll
  for (int f = 0; f < kFeatures; ++f) {
    const int feature = min(first_feature + f, p.out - 1);  // a tail warp repeats the last feature
    w[f] = reinterpret_cast<const uint4*>(p.w) + static_cast<int64_t>(feature) * vectors;
  }
  Bf16x8 weights[kFeatures][kUnroll];  // the batch of vectors [base, base + 32 * kUnroll)
  const auto load_weights = [&](int base) {
#pragma unroll
    for (int f = 0; f < kFeatures; ++f) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int v = base + u * 32;
        weights[f][u].raw = v < vectors ? __ldcs(w[f] + v) : make_uint4(0, 0, 0, 0);
      }
    }
  };
  load_weights(lane);
  WaitForPrerequisites();
  float acc[kFeatures][kRows] = {};
  for (int base = lane; base < vectors;) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int v = base + u * 32;
      if (v >= vectors) break;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        // A coherent load, not the read-only path: x is written by the kernel this one may
        // overlap (PDL).
        const Bf16x8 xv{x[static_cast<int64_t>(r) * vectors + v]};
#pragma unroll
        for (int f = 0; f < kFeatures; ++f) acc[f][r] += Dot8(weights[f][u], xv);
      }
    }
    base += 32 * kUnroll;
    if (base < vectors) load_weights(base);
  }
  // Only now: the next kernel's CTAs would hold SM slots and bandwidth while this one streams.
  AllowDependentLaunch();
#pragma unroll
  for (int f = 0; f < kFeatures; ++f) {
    const int feature = first_feature + f;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const float sum = WarpSum(acc[f][r]);
      if (lane != 0 || feature >= p.out) continue;
      const int64_t at = static_cast<int64_t>(r) * p.out + feature;
      if (p.y_f32 != nullptr) p.y_f32[at] = sum;
      else p.y_bf16[at] = __float2bfloat16(sum);
    }
  }
}

template <int kRows>
cudaError_t Launch(const SkinnyGemmParams& p, cudaStream_t stream) {
  if (p.rows != kRows) {
    if constexpr (kRows < kSkinnyGemmMaxRows) return Launch<kRows + 1>(p, stream);
    return cudaErrorInvalidValue;
  }
  const int blocks_of_two = (p.out + 2 * kWarps - 1) / (2 * kWarps);
  if (blocks_of_two >= kMinBlocks) return LaunchWithPdl(SkinnyGemmKernel<kRows, 2>, blocks_of_two, kWarps * 32, 0, stream, p);
  return LaunchWithPdl(SkinnyGemmKernel<kRows, 1>, (p.out + kWarps - 1) / kWarps, kWarps * 32, 0, stream, p);
}

bool Aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

}  // namespace

bool SkinnyGemmSupports(const SkinnyGemmParams& p) {
  return p.rows >= 1 && p.rows <= kSkinnyGemmMaxRows && p.in > 0 && p.in % kVector == 0 && p.out > 0 &&
         p.x != nullptr && p.w != nullptr && Aligned16(p.x) && Aligned16(p.w) &&
         (p.y_bf16 == nullptr) != (p.y_f32 == nullptr);
}

cudaError_t LaunchSkinnyGemm(const SkinnyGemmParams& params, cudaStream_t stream) {
  if (!SkinnyGemmSupports(params)) return cudaErrorInvalidValue;
  return Launch<1>(params, stream);
}

}  // namespace specd::kernels
