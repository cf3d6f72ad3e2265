#include "kernels/skinny_gemm.h"

#include <cstdint>

#include "kernels/activation.cuh"
#include "kernels/multiprocessor_count.h"
#include "kernels/pdl.cuh"
#include "kernels/rms_norm_math.cuh"
#include "kernels/rope_math.cuh"

namespace specd::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kLoadsInFlight = 8;  // 16-byte weight loads in flight per lane
constexpr int kVector = 8;         // bf16 per 16-byte load
// Below this many blocks with 2 features a warp, a warp takes 1 feature: more blocks to spread
// narrow products (out = hidden) over every SM.
constexpr int kMinBlocks = 2 * 132;
// One-row products ask for 3 blocks an SM (at most 85 registers; they use 80). H100, batch-1
// decode, same call: 3 blocks 1B 1.163 / 8B 5.644 ms a token, 4 blocks (64 registers) 1.176 /
// 5.790, 2 blocks 1.19 / 5.74; 4 loads in flight instead of 8 at 4, 3 or 2 blocks: 1.155-1.162 /
// 5.66-5.70. The loads' order, and so the bits, are the same in every variant.
constexpr int kOneRowBlocksPerSm = 3;
constexpr size_t kDefaultSharedBytes = 48 * 1024;  // more needs the kernel's opt-in
static_assert(kWarps * 32 == kNormThreads, "the fused norm's reduction order assumes the norm kernel's block");

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

// ---- fusions ------------------------------------------------------------------------------------

// x's rows normalized into shared memory as LaunchRmsNorm would write them (rms_norm_math.cuh:
// the same per-thread order and reduction, so the same bits). Every thread of the block calls it.
template <int kMaxRows>
__device__ void NormalizeRows(const SkinnyGemmParams& p, int rows, uint4* normalized /* [rows, in / 8] */) {
  __shared__ float warp_sums[kMaxRows][kNormWarps];
  const int vectors = p.in / kVector;
  const auto* x = reinterpret_cast<const uint4*>(p.x);  // [rows, vectors]
  const auto* weight = reinterpret_cast<const uint4*>(p.norm_weight);
  // Rows inside the vector loop: their loads are independent, so they are in flight together.
  float sums[kMaxRows] = {};
  for (int v = threadIdx.x; v < vectors; v += kNormThreads) {
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) {
      if (r < rows) sums[r] = AddSquares(NormBf16x8{x[r * vectors + v]}, sums[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) {
    const float sum = WarpButterflySum(sums[r]);
    if (r < rows && threadIdx.x % 32 == 0) warp_sums[r][threadIdx.x / 32] = sum;
  }
  __syncthreads();
  float inverse_rms[kMaxRows];
#pragma unroll
  for (int r = 0; r < kMaxRows; ++r) inverse_rms[r] = r < rows ? InverseRms(SumOfWarps(warp_sums[r]), p.in, p.norm_eps) : 0.0f;
  for (int v = threadIdx.x; v < vectors; v += kNormThreads) {
    const NormBf16x8 w{weight[v]};
#pragma unroll
    for (int r = 0; r < kMaxRows; ++r) {
      if (r >= rows) continue;
      const NormBf16x8 in{x[r * vectors + v]};
      NormBf16x8 out;
#pragma unroll
      for (int e = 0; e < kNormVector; ++e) out.values[e] = Normalized(__bfloat162float(in.values[e]), inverse_rms[r], w.values[e]);
      normalized[r * vectors + v] = out.raw;
    }
  }
  __syncthreads();
}

// x's rows copied into shared memory (every thread of the block calls it).
__device__ void CopyRows(const SkinnyGemmParams& p, int rows, uint4* staged /* [rows, in / 8] */) {
  const auto* x = reinterpret_cast<const uint4*>(p.x);
  for (int v = threadIdx.x; v < rows * (p.in / kVector); v += blockDim.x) staged[v] = x[v];
  __syncthreads();
}

// Whether the CUDA-core kernel reads x from shared memory: one copy per CTA from L2 instead of one
// per warp, and no L2 latency inside the loop. The fused norm always stages.
__host__ __device__ bool StagesInput(const SkinnyGemmParams& p, int rows) {
  return static_cast<size_t>(rows) * p.in * sizeof(__nv_bfloat16) <= kSkinnyGemmMaxStagedBytes;
}

// The rows the products read: x as it is, or (kStage: when it fits) copied into shared memory, or
// with a norm normalized into shared memory.
template <int kMaxRows, bool kStage>
__device__ const __nv_bfloat16* ProductInput(const SkinnyGemmParams& p, int rows) {
  extern __shared__ uint4 staged[];  // [rows, in / 8]
  if (p.norm_weight != nullptr) {
    NormalizeRows<kMaxRows>(p, rows, staged);
  } else if (kStage && StagesInput(p, rows)) {
    CopyRows(p, rows, staged);
  } else {
    return p.x;
  }
  return reinterpret_cast<const __nv_bfloat16*>(staged);
}

// Feature `feature`'s sum of row r, stored (kStore, kAddToOutput).
__device__ void StoreSum(const SkinnyGemmParams& p, int r, int feature, float sum) {
  const int64_t at = static_cast<int64_t>(r) * p.out + feature;
  if (p.y_f32 != nullptr) {
    p.y_f32[at] = sum;
  } else if (p.epilogue == SkinnyEpilogue::kAddToOutput) {
    p.y_bf16[at] = __float2bfloat16(__bfloat162float(p.y_bf16[at]) + __bfloat162float(__float2bfloat16(sum)));
  } else {
    p.y_bf16[at] = __float2bfloat16(sum);
  }
}

// kSiluMul: output j of row r from the sums of gate row j and up row j.
__device__ void StoreSiluMul(const SkinnyGemmParams& p, int r, int j, float gate, float up) {
  const float g = __bfloat162float(__float2bfloat16(gate)), u = __bfloat162float(__float2bfloat16(up));
  p.y_bf16[static_cast<int64_t>(r) * (p.out / 2) + j] = __float2bfloat16(Silu(g) * u);
}

// kRopeCacheWrite: a block of the one-row kernel holds whole column pairs (i, i + half of a head),
// kPairs of them: slot s of the block (its unit s / kFeatures, feature s % kFeatures) computes
// column `s / kPairs` of pair blockIdx.x * kPairs + s % kPairs, so the two columns of a pair meet
// in the block's shared memory. Pair j is column i = j % half of head j / half.
template <int kFeatures, int kSplit>
struct RopeSlots {
  static constexpr int kPairs = kWarps / kSplit * kFeatures / 2;
  static_assert(kPairs >= 1, "a block must hold a whole pair");

  __device__ static int Pair(int slot) { return static_cast<int>(blockIdx.x) * kPairs + slot % kPairs; }
  __device__ static int Column(const SkinnyGemmParams& p, int slot) {
    const int half = p.rope.head_dim / 2, pair = Pair(slot);
    return pair / half * p.rope.head_dim + pair % half + slot / kPairs * half;
  }
};

// The weight row of the unit's feature f (a tail unit repeats the last row), and whether the unit
// has any feature of the output.
template <int kFeatures, int kSplit>
__device__ int FeatureRow(const SkinnyGemmParams& p, int unit, int f) {
  switch (p.epilogue) {
    case SkinnyEpilogue::kSiluMul: return min(unit, p.out / 2 - 1) + f * (p.out / 2);  // gate row, up row
    case SkinnyEpilogue::kRopeCacheWrite:
      return min(RopeSlots<kFeatures, kSplit>::Column(p, unit % (kWarps / kSplit) * kFeatures + f), p.out - 1);
    default: return min(unit * kFeatures + f, p.out - 1);
  }
}

template <int kFeatures, int kSplit>
__device__ bool UnitActive(const SkinnyGemmParams& p, int unit) {
  switch (p.epilogue) {
    case SkinnyEpilogue::kSiluMul: return unit < p.out / 2;
    case SkinnyEpilogue::kRopeCacheWrite:
      return RopeSlots<kFeatures, kSplit>::Pair(unit % (kWarps / kSplit) * kFeatures) < p.out / 2;
    default: return unit * kFeatures < p.out;
  }
}

// kRopeCacheWrite, before waiting for the previous kernel (the positions are the step's upload):
// the (cos, sin) of the pair thread t stores (t < kPairs) into cos_sin[t]. Hides the double-precision
// sincos behind the previous kernel.
template <int kFeatures, int kSplit>
__device__ void PrepareRope(const SkinnyGemmParams& p, float2* cos_sin /* [kPairs] */) {
  using Slots = RopeSlots<kFeatures, kSplit>;
  const int pair = Slots::Pair(threadIdx.x);
  if (p.epilogue != SkinnyEpilogue::kRopeCacheWrite || threadIdx.x >= Slots::kPairs || pair >= p.out / 2) return;
  cos_sin[threadIdx.x] = RopeCosSinAt(p.rope, p.rope.positions[0], pair % (p.rope.head_dim / 2));
}

// kRopeCacheWrite epilogue, every thread of the block: the units' sums (`sum`, the finished sums of
// this warp's features: valid in lane 0 of each unit's first warp) meet in shared memory, and
// thread t < kPairs stores pair t as LaunchRopeCacheWrite would from the product's bf16 row: k and
// v columns keep the product's values in y.
template <int kFeatures, int kSplit>
__device__ void StoreRopePairs(const SkinnyGemmParams& p, const float (&sum)[kFeatures], bool unit_writer,
                               const float2* cos_sin /* [kPairs] */) {
  using Slots = RopeSlots<kFeatures, kSplit>;
  __shared__ __nv_bfloat16 values[2 * Slots::kPairs];  // [slot]
  if (unit_writer) {
#pragma unroll
    for (int f = 0; f < kFeatures; ++f) values[threadIdx.x / 32 / kSplit * kFeatures + f] = __float2bfloat16(sum[f]);
  }
  __syncthreads();
  const int t = threadIdx.x, pair = Slots::Pair(t);
  if (t >= Slots::kPairs || pair >= p.out / 2) return;
  const int half = p.rope.head_dim / 2, head = pair / half, i = pair % half;
  const __nv_bfloat16 first = values[t], second = values[t + Slots::kPairs];
  if (head >= p.rope.num_heads) {
    const int column = head * p.rope.head_dim + i;
    p.y_bf16[column] = first;
    p.y_bf16[column + half] = second;
  }
  StoreRopePair(p.rope, p.y_bf16, p.rope.slots[0], head, i, first, second, cos_sin[t]);
}

// ---- CUDA cores ---------------------------------------------------------------------------------

// A unit of kSplit warps owns features u * kFeatures + f (kSiluMul: gate row u and its up row,
// out / 2 rows on), read together for more loads in flight; the unit's lanes stride over the
// 16-byte vectors of `in` (warp `part` of the unit takes vectors part * 32 + lane + k * 32 * kSplit),
// weights streamed once (no L1 allocation), x from shared memory (staged) or L2. Splitting `in`
// over several warps shortens each warp's chain of dependent load batches where `in` is long. The
// first batch of weight loads is issued before waiting for the kernel that writes x (pdl.cuh):
// for narrow products that is all of a warp's weights. early_dependents: the next kernel may
// launch once every CTA here has started (LaunchUnits says when), not only after the main loops.
template <int kRows, int kFeatures, int kSplit>
__global__ void __launch_bounds__(kWarps * 32, kRows == 1 ? kOneRowBlocksPerSm : 1)
    SkinnyGemmKernel(SkinnyGemmParams p, bool early_dependents) {
  constexpr int kUnroll = kLoadsInFlight / kFeatures;  // loads per feature in flight
  constexpr int kLaneStride = 32 * kSplit;             // between a lane's vectors
  __shared__ float parts[kSplit > 1 ? kWarps : 1][kFeatures][kRows];  // [warp][feature][row]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, part = warp % kSplit;
  const int unit = blockIdx.x * (kWarps / kSplit) + warp / kSplit;
  const bool active = UnitActive<kFeatures, kSplit>(p, unit);
  const int vectors = p.in / kVector;
  const uint4* w[kFeatures];  // one [vectors] row per feature
#pragma unroll
  for (int f = 0; f < kFeatures; ++f) {
    w[f] = reinterpret_cast<const uint4*>(p.w) + static_cast<int64_t>(FeatureRow<kFeatures, kSplit>(p, unit, f)) * vectors;
  }
  Bf16x8 weights[kFeatures][kUnroll];  // the batch of vectors base + u * kLaneStride
  const auto load_weights = [&](int base) {
#pragma unroll
    for (int f = 0; f < kFeatures; ++f) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int v = base + u * kLaneStride;
        weights[f][u].raw = v < vectors ? __ldcs(w[f] + v) : make_uint4(0, 0, 0, 0);
      }
    }
  };
  const int first_vector = part * 32 + lane;
  if (early_dependents) AllowDependentLaunch();
  if (active) load_weights(first_vector);
  __shared__ float2 rope_cos_sin[RopeSlots<kFeatures, kSplit>::kPairs];  // kRopeCacheWrite: [pair of the block]
  if constexpr (kRows == 1) PrepareRope<kFeatures, kSplit>(p, rope_cos_sin);
  WaitForPrerequisites();
  // A coherent load, not the read-only path: x is written by the kernel this one may overlap (PDL).
  const auto* x = reinterpret_cast<const uint4*>(ProductInput<kRows, true>(p, kRows));  // [rows, vectors]
  float acc[kFeatures][kRows] = {};
  for (int base = first_vector; active && base < vectors;) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int v = base + u * kLaneStride;
      if (v >= vectors) break;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const Bf16x8 xv{x[static_cast<int64_t>(r) * vectors + v]};
#pragma unroll
        for (int f = 0; f < kFeatures; ++f) acc[f][r] += Dot8(weights[f][u], xv);
      }
    }
    base += kLaneStride * kUnroll;
    if (base < vectors) load_weights(base);
  }
  // Otherwise only now: the next kernel's CTAs would hold SM slots and bandwidth while this one streams.
  if (!early_dependents) AllowDependentLaunch();
#pragma unroll
  for (int f = 0; f < kFeatures; ++f) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) acc[f][r] = WarpSum(acc[f][r]);
  }
  if constexpr (kSplit > 1) {  // the unit's parts, added in part order in its first warp
    if (lane == 0) {
#pragma unroll
      for (int f = 0; f < kFeatures; ++f) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) parts[warp][f][r] = acc[f][r];
      }
    }
    __syncthreads();
    if (part == 0) {
#pragma unroll
      for (int f = 0; f < kFeatures; ++f) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
          for (int q = 1; q < kSplit; ++q) acc[f][r] += parts[warp + q][f][r];
        }
      }
    }
  }
  if constexpr (kRows == 1) {
    if (p.epilogue == SkinnyEpilogue::kRopeCacheWrite) {
      float sum[kFeatures];
#pragma unroll
      for (int f = 0; f < kFeatures; ++f) sum[f] = acc[f][0];
      StoreRopePairs<kFeatures, kSplit>(p, sum, part == 0 && lane == 0 && active, rope_cos_sin);
      return;
    }
  }
  if (part != 0 || lane != 0 || !active) return;
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    if constexpr (kFeatures == 2) {
      if (p.epilogue == SkinnyEpilogue::kSiluMul) {
        StoreSiluMul(p, r, unit, acc[0][r], acc[1][r]);
        continue;
      }
    }
#pragma unroll
    for (int f = 0; f < kFeatures; ++f) {
      if (unit * kFeatures + f < p.out) StoreSum(p, r, unit * kFeatures + f, acc[f][r]);
    }
  }
}

// ---- tensor cores, 2..8 rows ---------------------------------------------------------------------
// With several rows the CUDA-core kernel runs out of FMA throughput (8 rows: a verify step of the
// Llama-3.1-8B shape took 1.68x a single-token step); mma.m16n8k16 does the products instead:
// A = 16 weight rows (features), B = x^T (k x 8 rows, rows past p.rows zero), C = y^T.
//
// CTA: 16 features (kSiluMul: 8 gate rows and their 8 up rows), kMmaWarps warps splitting `in` in
// steps of 32: warp w takes steps w, w + kMmaWarps, ...; partial sums meet in shared memory. A
// step's k order is permuted, the same way for A and B (a dot product does not care), so that
// each lane's operands are 16-byte loads: lane (g = lane / 4, t = lane % 4) loads elements
// [8t, 8t + 8) of the step from weight rows g and g + 8 and from x row g, and those 4 bf16 pairs
// are the a / b registers of the step's two mmas.
constexpr int kMmaWarps = 8;
constexpr int kMmaFeatures = 16;
constexpr int kMmaStep = 32;        // k per step: two m16n8k16
constexpr int kMmaRows = 8;         // the mma's n
static_assert(kMmaWarps * 32 == kNormThreads, "the fused norm's reduction order assumes the norm kernel's block");

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

// The weight row of a CTA's feature slot (0..15): 16 consecutive features, or for kSiluMul gate
// rows j0 .. j0 + 7 then their up rows. A tail CTA repeats the last row.
__device__ int MmaWeightRow(const SkinnyGemmParams& p, int slot) {
  if (p.epilogue != SkinnyEpilogue::kSiluMul) return min(blockIdx.x * kMmaFeatures + slot, p.out - 1);
  const int half = p.out / 2, j = min(blockIdx.x * (kMmaFeatures / 2) + slot % 8, half - 1);
  return slot < 8 ? j : j + half;
}

// kMmaUnroll: steps in flight per warp (two register batches of them); kCtasPerSm: the CTAs an SM
// must hold (launch bounds). Every variant adds a feature's steps in the same order (warp w: steps
// w, w + kMmaWarps, ... in turn; then the warps in order), so all give the same bits.
template <int kMmaUnroll, int kCtasPerSm>
__global__ void __launch_bounds__(kMmaWarps * 32, kCtasPerSm) SkinnyGemmMmaKernel(SkinnyGemmParams p) {
  __shared__ float partial[kMmaWarps][kMmaFeatures][kMmaRows];  // [warp][feature slot][row]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int steps = p.in / kMmaStep;
  // Weight rows of slots g and g + 8, from element 8t.
  const auto row = [&](int slot) {
    return reinterpret_cast<const uint4*>(p.w + static_cast<int64_t>(MmaWeightRow(p, slot)) * p.in + 8 * t);
  };
  const uint4* w_lo = row(g);
  const uint4* w_hi = row(g + 8);
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
  Bf16x8Regs lo_a[kMmaUnroll], hi_a[kMmaUnroll], lo_b[kMmaUnroll], hi_b[kMmaUnroll];
  load_weights(lo_a, hi_a, warp);
  WaitForPrerequisites();  // x comes from the kernel before
  const __nv_bfloat16* x = ProductInput<kSkinnyGemmMaxRows, false>(p, p.rows);  // [rows, in]
  const uint4* x_row = reinterpret_cast<const uint4*>(x + static_cast<int64_t>(min(g, p.rows - 1)) * p.in + 8 * t);
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
  for (int first = warp; first < steps; first += 2 * kBatchSteps) {
    if (first + kBatchSteps < steps) load_weights(lo_b, hi_b, first + kBatchSteps);
    multiply(lo_a, hi_a, first);
    if (first + kBatchSteps >= steps) break;
    if (first + 2 * kBatchSteps < steps) load_weights(lo_a, hi_a, first + 2 * kBatchSteps);
    multiply(lo_b, hi_b, first + kBatchSteps);
  }
  AllowDependentLaunch();
  // C: c[0], c[1] = slot g, rows 2t, 2t + 1; c[2], c[3] = slot g + 8, the same rows.
  partial[warp][g][2 * t] = c[0];
  partial[warp][g][2 * t + 1] = c[1];
  partial[warp][g + 8][2 * t] = c[2];
  partial[warp][g + 8][2 * t + 1] = c[3];
  __syncthreads();
  if (threadIdx.x >= kMmaFeatures * kMmaRows) return;  // whole warps: the shuffle below has all lanes
  const int slot = threadIdx.x % kMmaFeatures, r = threadIdx.x / kMmaFeatures;
  float sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kMmaWarps; ++w) sum += partial[w][slot][r];
  if (p.epilogue == SkinnyEpilogue::kSiluMul) {
    const float up = __shfl_down_sync(0xffffffffu, sum, kMmaFeatures / 2);  // slot + 8: the up row
    const int j = blockIdx.x * (kMmaFeatures / 2) + slot;
    if (slot < kMmaFeatures / 2 && r < p.rows && j < p.out / 2) StoreSiluMul(p, r, j, sum, up);
    return;
  }
  const int feature = blockIdx.x * kMmaFeatures + slot;
  if (r < p.rows && feature < p.out) StoreSum(p, r, feature, sum);
}

// ---- dispatch -----------------------------------------------------------------------------------

// Shared memory for the staged or normalized input.
size_t StagedBytes(const SkinnyGemmParams& p, int rows, bool stages_copies) {
  const bool staged = p.norm_weight != nullptr || (stages_copies && StagesInput(p, rows));
  return staged ? static_cast<size_t>(rows) * p.in * sizeof(__nv_bfloat16) : 0;
}

// Launches `kKernel` (p, extra...) with the staged input's shared memory, opting in to more than
// the default once (on the first launch, which the CUDA runner makes eagerly, outside any graph
// capture).
template <auto kKernel, typename... Extra>
cudaError_t LaunchSkinny(int blocks, size_t shared_bytes, cudaStream_t stream, const SkinnyGemmParams& p, Extra... extra) {
  static const cudaError_t opt_in =
      cudaFuncSetAttribute(kKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSkinnyGemmMaxStagedBytes));
  if (shared_bytes > kDefaultSharedBytes && opt_in != cudaSuccess) return opt_in;
  return LaunchWithPdl(kKernel, blocks, kWarps * 32, shared_bytes, stream, p, extra...);
}

// Warps per feature in the one-row kernel, from `in` alone (so that a feature's sum does not depend
// on `out` or on the epilogue): one for up to 512 vectors (in 4096), then 2, then 4 above 1024
// vectors (in 14336: the Llama-3.1-8B down_proj). The Llama-3.2-1B down_proj (in 8192) takes 2:
// H100, batch-1 decode, same call, three rounds: 1.116 / 1.109 / 1.111 ms a token against
// 1.129 / 1.141 / 1.117 with 4; in a second call, four rounds: 1.106 / 1.107 / 1.128 / 1.104
// against 1.131 / 1.111 / 1.134 / 1.112 (batch 2 / 4 / 8: 1.175 / 1.200 / 1.260 against 1.209 /
// 1.238 / 1.287).
int SplitFor(int in) {
  const int vectors = in / kVector;
  return vectors > 1024 ? 4 : vectors > 512 ? 2 : 1;
}

// Whether a one-row product lets the next kernel launch once every CTA here has started, not only
// after its main loops. Early launches hold SM slots and bandwidth, so only where they cannot
// delay this product's own CTAs and the next kernel has weights to load:
// - Two waves or more: the next kernel's CTAs take the slots the last wave leaves empty and load
//   their first weights while it drains. H100, batch-1 decode, same call (three rounds), with the
//   down_proj, gate/up and lm_head products of both shapes early: 1B 1.139-1.166 ms a token
//   against 1.188-1.282; 8B 5.643-5.647 against 5.676-5.685. Early in every product of more than
//   one wave (the 8B o_proj's 1.3 waves too): 8B 5.726, 1B no better.
// - One wave leaving at least a third of the slots free, before another product (feeds_product:
//   the 1B o_proj, 256 CTAs in 396 slots): gate/up's CTAs load their first weights in the free
//   slots while o_proj loads its own, instead of after it. H100, same calls, ten rounds in three
//   calls: 1B 1.069-1.092 ms a token against 1.086-1.106; 8B unchanged. In the kernel timeline
//   (bench/kernel_timeline.py) a layer's o_proj takes 7.5 us instead of 5.1 and its gate/up 23.3
//   instead of 26.8. The 1B down_proj and the 8B o_proj take two features a warp to be such a
//   product (TwoFeaturesAWarp).
// Early launches that did not pay (same calls): the 1B qkv (384 CTAs, attention next) made
// attention 2 us a layer slower; on one feature a warp, the 1B down_proj (1.3 waves) moved 3.8 us
// a layer from qkv into down_proj and the 8B o_proj (1.3 waves) made the 8B step 2% slower
// (5.59-5.61 ms against 5.49-5.50).
bool EarlyDependents(const SkinnyGemmParams& p, int blocks) {
  const int slots = kOneRowBlocksPerSm * CurrentMultiprocessorCount();
  return blocks >= 2 * slots || (p.feeds_product && 3 * blocks <= 2 * slots);
}

template <int kRows, int kFeatures, int kSplit>
cudaError_t LaunchUnits(const SkinnyGemmParams& p, int units, cudaStream_t stream) {
  constexpr int kUnitsPerBlock = kWarps / kSplit;
  const int blocks = (units + kUnitsPerBlock - 1) / kUnitsPerBlock;
  const bool early_dependents = kRows == 1 && EarlyDependents(p, blocks);
  return LaunchSkinny<SkinnyGemmKernel<kRows, kFeatures, kSplit>>(blocks, StagedBytes(p, kRows, true), stream, p,
                                                                   early_dependents);
}

template <int kRows, int kFeatures>
cudaError_t LaunchSplit(const SkinnyGemmParams& p, int units, cudaStream_t stream) {
  if constexpr (kRows == 1) {
    switch (SplitFor(p.in)) {
      case 4: return LaunchUnits<kRows, kFeatures, 4>(p, units, stream);
      case 2: return LaunchUnits<kRows, kFeatures, 2>(p, units, stream);
      default: break;
    }
  }
  return LaunchUnits<kRows, kFeatures, 1>(p, units, stream);
}

// Blocks of a kStore / kAddToOutput one-row product with `features` features a warp.
int OneRowBlocks(const SkinnyGemmParams& p, int features) {
  const int units = (p.out + features - 1) / features, units_per_block = kWarps / SplitFor(p.in);
  return (units + units_per_block - 1) / units_per_block;
}

// Two features a warp where one would leave too few blocks of two to spread over every SM
// (kMinBlocks); or, for a one-row product that feeds another, where two make it one wave that lets
// the next product launch at its start (EarlyDependents) and one does not: the Llama-3.2-1B
// down_proj (256 CTAs instead of 512, before the next layer's qkv, whose CTAs then load their
// weights during the down_proj's last blocks) and the Llama-3.1-8B o_proj (256 instead of 512).
// H100, batch-1 decode, same call, three rounds: 1B 1.046-1.060 ms a token against 1.064 / 1.074
// (and one outlier, 1.141). With attention's early launch (paged_attention_kernel.cuh), same call,
// four rounds: 1B 1.038-1.054 against 1.064-1.074, a traced layer 50.7 us against 53.4 (qkv 7.5 ->
// 3.7, down_proj 11.1 -> 14.1, attention + o_proj 11.5 -> 9.9); 8B 5.465-5.471 against 5.489-5.510.
// The order of a feature's loads, and so its bits, do not depend on the features a warp.
template <int kRows>
bool TwoFeaturesAWarp(const SkinnyGemmParams& p) {
  if ((p.out + 2 * kWarps - 1) / (2 * kWarps) >= kMinBlocks) return true;
  if (kRows != 1 || !p.feeds_product) return false;
  const auto early = [&](int features) { return EarlyDependents(p, OneRowBlocks(p, features)); };
  return early(2) && !early(1);
}

template <int kRows>
cudaError_t Launch(const SkinnyGemmParams& p, cudaStream_t stream) {
  if (p.rows != kRows) {
    if constexpr (kRows < kSkinnyGemmMaxRows) return Launch<kRows + 1>(p, stream);
    return cudaErrorInvalidValue;
  }
  if (p.epilogue == SkinnyEpilogue::kSiluMul) return LaunchSplit<kRows, 2>(p, p.out / 2, stream);
  if (TwoFeaturesAWarp<kRows>(p)) return LaunchSplit<kRows, 2>(p, (p.out + 1) / 2, stream);
  return LaunchSplit<kRows, 1>(p, p.out, stream);
}

// The tensor-core kernel. A product of many CTAs (at least 1.5 an SM) runs three a SM with 2 steps
// in flight a warp (68 registers); fewer CTAs run two a SM with 4 steps in flight (112 registers),
// each keeping more loads in flight. H100, same call (bench/README.md): with the Llama-3.1-8B
// shape's products (256 to 1792 CTAs) on three CTAs an SM a verify step of 5 tokens took 5.86-5.88
// ms instead of 6.31-6.32, and batch-4/8 decode 1-2% less; the Llama-3.2-1B shape's down_proj (128
// CTAs) was 2-5% slower a step (batch 2 to 8) with three, so it keeps two.
cudaError_t LaunchMma(const SkinnyGemmParams& p, cudaStream_t stream) {
  const int ctas = p.epilogue == SkinnyEpilogue::kSiluMul ? (p.out / 2 + kMmaFeatures / 2 - 1) / (kMmaFeatures / 2)
                                                          : (p.out + kMmaFeatures - 1) / kMmaFeatures;
  const size_t shared_bytes = StagedBytes(p, p.rows, false);
  if (2 * ctas >= 3 * CurrentMultiprocessorCount()) {
    return LaunchSkinny<SkinnyGemmMmaKernel<2, 3>>(ctas, shared_bytes, stream, p);
  }
  return LaunchSkinny<SkinnyGemmMmaKernel<4, 1>>(ctas, shared_bytes, stream, p);
}

bool Aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// kRopeCacheWrite: one row, the qkv row's width, and what LaunchRopeCacheWrite requires.
bool RopeSupported(const SkinnyGemmParams& p) {
  const RopeCacheWriteParams& r = p.rope;
  return p.rows == 1 && r.head_dim > 0 && r.head_dim % 2 == 0 && r.num_heads > 0 && r.num_kv_heads > 0 &&
         r.num_heads % r.num_kv_heads == 0 && p.out == (r.num_heads + 2 * r.num_kv_heads) * r.head_dim &&
         r.positions != nullptr && r.slots != nullptr && (r.inv_freq != nullptr || r.cos_sin != nullptr) &&
         r.k_cache != nullptr && r.v_cache != nullptr;
}

bool FusionsSupported(const SkinnyGemmParams& p) {
  const bool fused = p.norm_weight != nullptr || p.epilogue != SkinnyEpilogue::kStore;
  if (fused && p.y_bf16 == nullptr) return false;
  if (p.epilogue == SkinnyEpilogue::kSiluMul && p.out % 2 != 0) return false;
  if (p.epilogue == SkinnyEpilogue::kRopeCacheWrite && !RopeSupported(p)) return false;
  return p.norm_weight == nullptr ||
         (Aligned16(p.norm_weight) && StagesInput(p, p.rows));
}

}  // namespace

bool SkinnyGemmSupports(const SkinnyGemmParams& p) {
  return p.rows >= 1 && p.rows <= kSkinnyGemmMaxRows && p.in > 0 && p.in % kVector == 0 && p.out > 0 &&
         p.x != nullptr && p.w != nullptr && Aligned16(p.x) && Aligned16(p.w) &&
         (p.y_bf16 == nullptr) != (p.y_f32 == nullptr) && FusionsSupported(p);
}

cudaError_t LaunchSkinnyGemm(const SkinnyGemmParams& params, cudaStream_t stream) {
  if (!SkinnyGemmSupports(params)) return cudaErrorInvalidValue;
  if (params.rows >= 2 && params.in % kMmaStep == 0) return LaunchMma(params, stream);
  return Launch<1>(params, stream);
}

}  // namespace specd::kernels
