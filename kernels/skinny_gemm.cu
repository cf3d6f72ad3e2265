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

// ---- tensor cores, 2..8 rows ---------------------------------------------------------------------
// With several rows the CUDA-core kernel runs out of FMA throughput (8 rows: a verify step of the
// Llama-3.1-8B shape took 1.68x a single-token step); mma.m16n8k16 does the products instead:
// A = 16 weight rows (features), B = x^T (k x 8 rows, rows past p.rows zero), C = y^T.
//
// CTA: 16 features, kMmaWarps warps splitting `in` in steps of 32: warp w takes steps w,
// w + kMmaWarps, ...; partial sums meet in shared memory. A step's k order is permuted, the same
// way for A and B (a dot product does not care), so that each lane's operands are 16-byte loads:
// lane (g = lane / 4, t = lane % 4) loads elements [8t, 8t + 8) of the step from weight rows g and
// g + 8 and from x row g, and those 4 bf16 pairs are the a / b registers of the step's two mmas.
constexpr int kMmaWarps = 8;
constexpr int kMmaFeatures = 16;
constexpr int kMmaStep = 32;        // k per step: two m16n8k16
constexpr int kMmaUnroll = 4;       // steps in flight per warp
constexpr int kMmaRows = 8;         // the mma's n

union Bf16x8Regs {
  uint4 raw;
  uint32_t pairs[4];  // bf16x2 each, lower k in the low half
};

__device__ __forceinline__ void Mma16816(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__global__ void __launch_bounds__(kMmaWarps * 32) SkinnyGemmMmaKernel(SkinnyGemmParams p) {
  __shared__ float partial[kMmaWarps][kMmaFeatures][kMmaRows];  // [warp][feature][row]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int f0 = blockIdx.x * kMmaFeatures;
  const int steps = p.in / kMmaStep;
  // Weight rows g and g + 8 of this CTA (a tail CTA repeats the last feature), from element 8t.
  const auto row = [&](int f) {
    return reinterpret_cast<const uint4*>(p.w + static_cast<int64_t>(min(f0 + f, p.out - 1)) * p.in + 8 * t);
  };
  const uint4* w_lo = row(g);
  const uint4* w_hi = row(g + 8);
  const uint4* x_row = reinterpret_cast<const uint4*>(p.x + static_cast<int64_t>(min(g, p.rows - 1)) * p.in + 8 * t);
  const bool has_row = g < p.rows;
  constexpr int kVectorsPerStep = kMmaStep / kVector;  // uint4 stride between steps

  // Two register batches of weights: the next batch's loads are in flight while this one's
  // products run.
  constexpr int kBatchSteps = kMmaUnroll * kMmaWarps;  // steps one batch covers across the warps
  const auto load_weights = [&](Bf16x8Regs (&lo)[kMmaUnroll], Bf16x8Regs (&hi)[kMmaUnroll], int first) {
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u) {
      const int step = first + u * kMmaWarps;
      lo[u].raw = step < steps ? __ldcs(w_lo + step * kVectorsPerStep) : make_uint4(0, 0, 0, 0);
      hi[u].raw = step < steps ? __ldcs(w_hi + step * kVectorsPerStep) : make_uint4(0, 0, 0, 0);
    }
  };
  float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const auto multiply = [&](const Bf16x8Regs (&lo)[kMmaUnroll], const Bf16x8Regs (&hi)[kMmaUnroll], int first) {
    Bf16x8Regs xv[kMmaUnroll];
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u) {
      const int step = first + u * kMmaWarps;
      xv[u].raw = has_row && step < steps ? x_row[step * kVectorsPerStep] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u) {
      Mma16816(c, lo[u].pairs[0], hi[u].pairs[0], lo[u].pairs[1], hi[u].pairs[1], xv[u].pairs[0], xv[u].pairs[1]);
      Mma16816(c, lo[u].pairs[2], hi[u].pairs[2], lo[u].pairs[3], hi[u].pairs[3], xv[u].pairs[2], xv[u].pairs[3]);
    }
  };
  Bf16x8Regs lo_a[kMmaUnroll], hi_a[kMmaUnroll], lo_b[kMmaUnroll], hi_b[kMmaUnroll];
  load_weights(lo_a, hi_a, warp);
  WaitForPrerequisites();  // x comes from the kernel before
  for (int first = warp; first < steps; first += 2 * kBatchSteps) {
    if (first + kBatchSteps < steps) load_weights(lo_b, hi_b, first + kBatchSteps);
    multiply(lo_a, hi_a, first);
    if (first + kBatchSteps >= steps) break;
    if (first + 2 * kBatchSteps < steps) load_weights(lo_a, hi_a, first + 2 * kBatchSteps);
    multiply(lo_b, hi_b, first + kBatchSteps);
  }
  AllowDependentLaunch();
  // C: c[0], c[1] = features g, rows 2t, 2t + 1; c[2], c[3] = feature g + 8, the same rows.
  partial[warp][g][2 * t] = c[0];
  partial[warp][g][2 * t + 1] = c[1];
  partial[warp][g + 8][2 * t] = c[2];
  partial[warp][g + 8][2 * t + 1] = c[3];
  __syncthreads();
  if (threadIdx.x >= kMmaFeatures * kMmaRows) return;
  const int f = threadIdx.x % kMmaFeatures, r = threadIdx.x / kMmaFeatures;
  if (r >= p.rows || f0 + f >= p.out) return;
  float sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kMmaWarps; ++w) sum += partial[w][f][r];
  const int64_t at = static_cast<int64_t>(r) * p.out + f0 + f;
  if (p.y_f32 != nullptr) p.y_f32[at] = sum;
  else p.y_bf16[at] = __float2bfloat16(sum);
}

// ---- dispatch -----------------------------------------------------------------------------------

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
  if (params.rows >= 2 && params.in % kMmaStep == 0) {
    const int ctas = (params.out + kMmaFeatures - 1) / kMmaFeatures;
    return LaunchWithPdl(SkinnyGemmMmaKernel, ctas, kMmaWarps * 32, 0, stream, params);
  }
  return Launch<1>(params, stream);
}

}  // namespace specd::kernels
