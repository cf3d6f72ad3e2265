// RoPE and the KV-cache write of one (q, k or v) column pair, shared by LaunchRopeCacheWrite and
// the skinny GEMM's fused qkv epilogue (skinny_gemm.h, kRopeCacheWrite), so that both give the
// same bits.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#include "kernels/elementwise.h"

namespace specd::kernels {

// x + bias in fp32, rounded to bf16: what a bf16 tensor add does.
__device__ __forceinline__ __nv_bfloat16 AddRounded(__nv_bfloat16 x, __nv_bfloat16 bias) {
  return __float2bfloat16(__bfloat162float(x) + __bfloat162float(bias));
}

// Column `col` of a token's qkv row, a bf16 value, with its bias added. The bias is added as
// LaunchAddBias would add it (fp32 sum rounded to bf16: the bf16 output a biased linear layer
// leaves), and the rotation then starts from that bf16 value.
__device__ __forceinline__ float BiasedValue(__nv_bfloat16 value, const __nv_bfloat16* bias, int col) {
  return bias == nullptr ? __bfloat162float(value) : __bfloat162float(AddRounded(value, bias[col]));
}

// As transformers and RopeTable: the angle is rounded to fp32, then its cos/sin are taken from the
// exact value (double) and rounded to fp32. At positions near 100k the angle is large, where the
// fast __sinf/__cosf would be far off. (cos, sin).
__device__ __forceinline__ float2 RopeCosSin(float position, float inv_freq) {
  const float angle = position * inv_freq;
  double s, c;
  sincos(static_cast<double>(angle), &s, &c);
  return make_float2(static_cast<float>(c), static_cast<float>(s));
}

// (cos, sin) of frequency i at `position`: from the caller's table, or computed.
__device__ __forceinline__ float2 RopeCosSinAt(const RopeCacheWriteParams& p, int position, int i) {
  const int half = p.head_dim / 2;
  return p.cos_sin != nullptr ? p.cos_sin[static_cast<int64_t>(position) * half + i]
                              : RopeCosSin(static_cast<float>(position), p.inv_freq[i]);
}

// Columns i and i + half of head `head` of one token's qkv row [q heads | k heads | v heads]
// (`first`, `second`: the bf16 values, bias not added): q and k heads rotated by cos_sin, q into
// `row`, k into k_cache at `slot`; v, bias added, copied into v_cache. A negative slot (a padding
// token) writes nothing to the cache.
__device__ __forceinline__ void StoreRopePair(const RopeCacheWriteParams& p, __nv_bfloat16* row /* [qkv width] */,
                                              int64_t slot, int head, int i, __nv_bfloat16 first,
                                              __nv_bfloat16 second, float2 cos_sin) {
  const int half = p.head_dim / 2;
  const int kv_width = p.num_kv_heads * p.head_dim;
  const int rotated_heads = p.num_heads + p.num_kv_heads;
  const int col = head * p.head_dim + i;
  const float x0 = BiasedValue(first, p.qkv_bias, col);
  const float x1 = BiasedValue(second, p.qkv_bias, col + half);
  __nv_bfloat16* dst;  // [head_dim]
  if (head < p.num_heads) {
    dst = row + static_cast<int64_t>(head) * p.head_dim;
  } else if (slot < 0) {
    return;
  } else if (head < rotated_heads) {
    dst = p.k_cache + slot * kv_width + static_cast<int64_t>(head - p.num_heads) * p.head_dim;
  } else {  // v: copied
    __nv_bfloat16* v_dst = p.v_cache + slot * kv_width + static_cast<int64_t>(head - rotated_heads) * p.head_dim;
    v_dst[i] = __float2bfloat16(x0);
    v_dst[i + half] = __float2bfloat16(x1);
    return;
  }
  dst[i] = __float2bfloat16(x0 * cos_sin.x - x1 * cos_sin.y);
  dst[i + half] = __float2bfloat16(x1 * cos_sin.x + x0 * cos_sin.y);
}

}  // namespace specd::kernels
