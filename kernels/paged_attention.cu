// Paged attention, the correct-first CUDA-core version (contract in paged_attention.h).
// Called on the engine thread's stream; stateless.
//
// Thread mapping. One thread block per (query token, KV head, slice of that KV head's GQA group):
//   grid  = (num_tokens, num_kv_heads, ceil(group / warps)),  group = num_heads / num_kv_heads
//   block = warps * 32 threads,                               warps = min(group, kMaxWarps)
// Warp w of block z serves query head  kv_head * group + z * warps + w  (idle if past the group;
// it still helps load tiles). All heads of a block share one query token, hence one key range,
// so each K/V row is read from global memory once per block:
//
//   keys of the sequence:  0 ......... first ............................ pos
//                                      |-- tile 0 --|-- tile 1 --|-- tile 2 ..|  (kTileKeys each,
//                                                                  masked past pos)
//   first = 0, or max(0, pos - sliding_window + 1) with a sliding window.
//
// Per tile of kTileKeys = 32 consecutive key positions:
//   1. load:  all threads copy the tile's K and V rows (16-byte chunks) into shared memory,
//             each key's slot found through the block table; keys past pos are zero-filled.
//   2. QK:    lane j of each warp owns key j: score = dot(q, k_j) against the warp's query in
//             shared memory (fp32, pre-multiplied by scale * log2(e), so softmax uses exp2).
//   3. softmax update (online): m = running max, l = running sum (kept per lane, summed at
//             the end), acc rescaled by exp2(m_old - m_new).
//   4. PV:    lane owns kDimsPerLane consecutive output dims; p_j is broadcast by shuffle and
//             acc[d] += p_j * v_j[d] over the tile's keys.
// After the last tile, out = acc / l, rounded to bf16.
#include "kernels/paged_attention.h"

#include <cstdint>

namespace specd::kernels {
namespace {

constexpr int kWarpSize = 32;
constexpr int kMaxWarps = 8;             // query heads handled by one block
constexpr int kTileKeys = kWarpSize;     // one key per lane in the QK phase
constexpr int kChunkElements = 8;        // 8 bf16 = one 16-byte access
constexpr int kRowPad = kChunkElements;  // shared rows shifted by 16 bytes: conflict-free reads
constexpr float kLog2E = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float WarpMax(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    value = fmaxf(value, __shfl_xor_sync(kFullMask, value, offset));
  }
  return value;
}

__device__ __forceinline__ float WarpSum(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullMask, value, offset);
  return value;
}

union BF16x8 {
  uint4 raw;
  __nv_bfloat162 pairs[kChunkElements / 2];
};

template <int kHeadDim>
__global__ void __launch_bounds__(kMaxWarps * kWarpSize) PagedAttentionKernel(PagedAttentionParams p) {
  static_assert(kHeadDim % (2 * kWarpSize) == 0 && kHeadDim % kChunkElements == 0, "unsupported head dim");
  constexpr int kDimsPerLane = kHeadDim / kWarpSize;       // 2 or 4, an even count: bf16 pairs
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;
  constexpr int kRowStride = kHeadDim + kRowPad;           // elements; a multiple of 8 (16 bytes)

  __shared__ __align__(16) __nv_bfloat16 k_tile[kTileKeys][kRowStride];  // [kTileKeys, head_dim (+pad)]
  __shared__ __align__(16) __nv_bfloat16 v_tile[kTileKeys][kRowStride];  // [kTileKeys, head_dim (+pad)]
  __shared__ __align__(16) float q_shared[kMaxWarps][kHeadDim];          // [warps, head_dim], scaled

  const int token = blockIdx.x;
  const int kv_head = blockIdx.y;
  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  const int group = p.num_heads / p.num_kv_heads;
  const int head_in_group = blockIdx.z * warps + warp;
  const bool active = head_in_group < group;  // warp-uniform
  const int head = kv_head * group + head_in_group;

  const int seq = p.token_seq[token];
  const int pos = p.positions[token];
  const int first = p.sliding_window > 0 ? max(0, pos - p.sliding_window + 1) : 0;
  const int* block_table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;

  // The warp's query, fp32, pre-scaled so that scores come out in log2 units.
  if (active) {
    const __nv_bfloat16* q = p.q + static_cast<int64_t>(token) * p.q_stride + static_cast<int64_t>(head) * kHeadDim;
    const float q_scale = p.scale * kLog2E;
    for (int d = lane; d < kHeadDim; d += kWarpSize) q_shared[warp][d] = __bfloat162float(q[d]) * q_scale;
  }
  // (Made visible by the __syncthreads after the first tile's load.)

  float running_max = -INFINITY;  // warp-uniform
  float lane_sum = 0.0f;          // this lane's share of the softmax denominator
  float acc[kDimsPerLane];        // output dims [lane * kDimsPerLane, (lane + 1) * kDimsPerLane)
#pragma unroll
  for (int i = 0; i < kDimsPerLane; ++i) acc[i] = 0.0f;

  for (int tile_start = first; tile_start <= pos; tile_start += kTileKeys) {
    // 1. Load the tile. Consecutive threads read consecutive 16-byte chunks of a row.
    for (int index = threadIdx.x; index < kTileKeys * kChunksPerRow; index += blockDim.x) {
      const int key = index / kChunksPerRow;
      const int chunk = index % kChunksPerRow;
      const int position = tile_start + key;
      uint4 k_chunk = make_uint4(0, 0, 0, 0);
      uint4 v_chunk = make_uint4(0, 0, 0, 0);
      if (position <= pos) {
        const int64_t slot = static_cast<int64_t>(block_table[position / p.block_size]) * p.block_size +
                             position % p.block_size;
        const int64_t offset = (slot * p.num_kv_heads + kv_head) * kHeadDim + chunk * kChunkElements;
        k_chunk = __ldg(reinterpret_cast<const uint4*>(p.k_cache + offset));
        v_chunk = __ldg(reinterpret_cast<const uint4*>(p.v_cache + offset));
      }
      // Zero V past pos: its weight is 0, but 0 * (stale NaN) would not be.
      *reinterpret_cast<uint4*>(&k_tile[key][chunk * kChunkElements]) = k_chunk;
      *reinterpret_cast<uint4*>(&v_tile[key][chunk * kChunkElements]) = v_chunk;
    }
    __syncthreads();

    if (active) {
      // 2. QK: lane owns key `lane` of the tile.
      const bool valid = tile_start + lane <= pos;
      float score = 0.0f;
#pragma unroll
      for (int chunk = 0; chunk < kChunksPerRow; ++chunk) {
        BF16x8 k;
        k.raw = *reinterpret_cast<const uint4*>(&k_tile[lane][chunk * kChunkElements]);
        const float4 q_lo = *reinterpret_cast<const float4*>(&q_shared[warp][chunk * kChunkElements]);
        const float4 q_hi = *reinterpret_cast<const float4*>(&q_shared[warp][chunk * kChunkElements + 4]);
        const float2 k0 = __bfloat1622float2(k.pairs[0]);
        const float2 k1 = __bfloat1622float2(k.pairs[1]);
        const float2 k2 = __bfloat1622float2(k.pairs[2]);
        const float2 k3 = __bfloat1622float2(k.pairs[3]);
        score += q_lo.x * k0.x + q_lo.y * k0.y + q_lo.z * k1.x + q_lo.w * k1.y;
        score += q_hi.x * k2.x + q_hi.y * k2.y + q_hi.z * k3.x + q_hi.w * k3.y;
      }
      if (!valid) score = -INFINITY;

      // 3. Online softmax. Key tile_start <= pos is always valid, so the tile max is finite.
      const float new_max = fmaxf(running_max, WarpMax(score));
      const float correction = exp2f(running_max - new_max);  // 0 on the first tile
      const float weight = exp2f(score - new_max);             // 0 for masked keys
      running_max = new_max;
      lane_sum = lane_sum * correction + weight;

      // 4. PV: lane owns dims [lane * kDimsPerLane, ...).
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[i] *= correction;
#pragma unroll 8
      for (int key = 0; key < kTileKeys; ++key) {
        const float w = __shfl_sync(kFullMask, weight, key);
        const auto* v = reinterpret_cast<const __nv_bfloat162*>(&v_tile[key][lane * kDimsPerLane]);
#pragma unroll
        for (int i = 0; i < kDimsPerLane / 2; ++i) {
          const float2 pair = __bfloat1622float2(v[i]);
          acc[2 * i] += w * pair.x;
          acc[2 * i + 1] += w * pair.y;
        }
      }
    }
    __syncthreads();  // the next tile's load overwrites k_tile / v_tile
  }

  if (!active) return;
  const float total = WarpSum(lane_sum);
  const float inv_total = total > 0.0f ? 1.0f / total : 0.0f;  // 0 only for an empty key range
  auto* out = reinterpret_cast<__nv_bfloat162*>(
      p.out + (static_cast<int64_t>(token) * p.num_heads + head) * kHeadDim + lane * kDimsPerLane);
#pragma unroll
  for (int i = 0; i < kDimsPerLane / 2; ++i) {
    out[i] = __floats2bfloat162_rn(acc[2 * i] * inv_total, acc[2 * i + 1] * inv_total);
  }
}

bool Aligned(const void* pointer, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(pointer) % bytes == 0; }

}  // namespace

cudaError_t LaunchPagedAttention(const PagedAttentionParams& params, cudaStream_t stream) {
  const PagedAttentionParams& p = params;
  if (p.head_dim != 64 && p.head_dim != 128) return cudaErrorInvalidValue;
  if (p.num_tokens < 0 || p.num_heads <= 0 || p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0 ||
      p.block_size <= 0 || p.max_blocks_per_seq <= 0 || p.sliding_window < 0 ||
      static_cast<int64_t>(p.q_stride) < static_cast<int64_t>(p.num_heads) * p.head_dim) {
    return cudaErrorInvalidValue;
  }
  if (p.num_tokens == 0) return cudaSuccess;
  // The caches are read in 16-byte chunks, the output written in bf16 pairs.
  if (p.q == nullptr || p.k_cache == nullptr || p.v_cache == nullptr || p.block_tables == nullptr ||
      p.token_seq == nullptr || p.positions == nullptr || p.out == nullptr || !Aligned(p.k_cache, 16) ||
      !Aligned(p.v_cache, 16) || !Aligned(p.out, 4)) {
    return cudaErrorInvalidValue;
  }

  const int group = p.num_heads / p.num_kv_heads;
  const int warps = group < kMaxWarps ? group : kMaxWarps;
  const dim3 grid(static_cast<unsigned>(p.num_tokens), static_cast<unsigned>(p.num_kv_heads),
                  static_cast<unsigned>((group + warps - 1) / warps));
  const dim3 block(static_cast<unsigned>(warps * kWarpSize));
  switch (p.head_dim) {
    case 64:
      PagedAttentionKernel<64><<<grid, block, 0, stream>>>(p);
      break;
    case 128:
      PagedAttentionKernel<128><<<grid, block, 0, stream>>>(p);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace specd::kernels
