// CUDA-core paged attention internals, part 1 of 3 (included by paged_attention.cu only; see its
// file comment): the kernels' launch constants, Args (what both kernels read), the warp and
// cp.async helpers, and the attention kernel's shared-memory size.
#pragma once

#include "kernels/paged_attention.h"
#include "kernels/pdl.cuh"

#include <cstddef>
#include <cstdint>

namespace specd::kernels {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarps = 4;                     // warps per attention CTA, each on its own tiles
constexpr int kThreads = kWarps * kWarpSize;
// Warps of a wide CTA (one per token and KV head slice, no split: paged_attention.cu, UseWideCtas),
// as many as its K/V rings fit in shared memory.
template <int kHeadDim>
inline constexpr int kWideWarps = kHeadDim == 64 ? 16 : 8;
constexpr int kTileKeys = 16;                 // keys per warp tile: two lanes per key in QK
constexpr int kChunkElements = 8;             // 8 bf16 = one 16-byte access
constexpr int kChunkBytes = 16;
constexpr int kSwizzle = 8;                   // chunks of a row XOR-permuted in groups of 8 (128 bytes)
constexpr int kMaxHeadsPerCta = 8;
constexpr int kStages = 2;                    // tiles per warp ring: one in flight while one is used
constexpr int kMergeWarps = 4;
constexpr float kLog2E = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kNoSplit = 1 << 30;             // split_keys of an unsplit launch

// What both kernels read.
struct Args {
  PagedAttentionParams p;
  int kv_slices = 1;             // CTAs per KV head: ceil(group / kHeads)
  int num_splits = 1;
  int split_keys = kNoSplit;     // keys per split
  float* partial_acc = nullptr;  // [num_tokens, num_heads, num_splits, head_dim], unnormalised
  float2* partial_ml = nullptr;  // [num_tokens, num_heads, num_splits]: (max in log2 units, sum)
};

__device__ __forceinline__ float WarpMax(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(kFullMask, value, offset));
  return value;
}

__device__ __forceinline__ float WarpSum(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullMask, value, offset);
  return value;
}

// 16 bytes global -> shared, asynchronously; src_bytes = 0 writes zeros and reads nothing.
__device__ __forceinline__ void CopyAsync16(void* shared, const void* global, int src_bytes) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global), "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void CommitAsync() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void WaitAsync() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// bf16 -> fp32 of a packed pair.
__device__ __forceinline__ float2 Unpack(uint32_t pair) {
  return make_float2(__uint_as_float(pair << 16), __uint_as_float(pair & 0xffff0000u));
}

template <int kHeadDim, int kHeads, int kCtaWarps = kWarps>
constexpr size_t SmemBytes() {
  return size_t{kCtaWarps} * kStages * 2 * kTileKeys * kHeadDim * sizeof(__nv_bfloat16)  // K/V tile rings
         + size_t{kHeads} * kHeadDim * sizeof(float)                                      // queries
         + size_t{kCtaWarps} * kTileKeys * kHeads * sizeof(float)                         // tile weights
         + size_t{kCtaWarps} * kHeads * sizeof(float2);                                   // warp (max, sum)
}

}  // namespace
}  // namespace specd::kernels
