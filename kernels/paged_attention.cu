// Paged attention on CUDA cores, with split-KV (flash-decoding) for small batches and long key
// ranges (contract in paged_attention.h). Called on the engine thread's stream; stateless apart
// from per-device caches (SM count; each kernel's shared-memory opt-in and CTAs per SM, set up on
// first use: PagedAttentionWorkspaceBytes sets them all up for its head dim).
//
// Work split. One CTA (kWarps warps) per (query token, KV head, slice of that KV head's GQA group,
// split of the key range), on a 1-D grid, KV head fastest:
//   cta = (token * num_splits + split) * (num_kv_heads * slices) + kv_head * slices + slice
// A CTA serves kHeads query heads (kHeads = the group rounded up to 1, 2, 4 or 8; slices =
// ceil(group / kHeads); heads past the group are computed on a zero query and dropped), so each
// K/V row is read from global memory once per CTA for all of its heads.
//
//   keys of the token:  first ...................................................... pos
//   splits:             |---- split 0 ----|---- split 1 ----|---- split 2 -|       (split_keys
//   tiles of a split:   |t0|t1|t2|t3|t4|t5|...                                      each, the last
//   warp owning a tile:  w0 w1 w2 w3 w0 w1 ...  (kTileKeys = 16 keys per tile)     one shorter)
//
//   first = 0, or max(0, pos - sliding_window + 1) with a sliding window. Splits past pos have
//   no keys and exit at once. A token whose whole range fits in split 0 is finished by that CTA.
//
// Each warp runs its own online softmax over its tiles, with a private kStages-deep ring of
// shared-memory tiles filled by cp.async (16-byte copies, one K and one V row per key, each
// key's slot found through the block table one tile ahead). Per tile:
//   QK:      lane (key = lane % 16, half = lane / 16) dots half of key's K row (alternate 16-byte
//            chunks) with the fp32 queries of all kHeads heads (pre-scaled by scale * log2(e), so
//            softmax uses exp2); halves are added with one shuffle.
//   softmax: per head: tile max over the 16 keys, running max m, per-lane running sum l.
//   PV:      lane owns kDimsPerLane consecutive output dims of every head; the weights go
//            through shared memory (one broadcast load per key), acc[h][d] += p[h][key] * v[key][d].
// Rows in a tile are stored with their 16-byte chunks XOR-swizzled by (row % 8), so the QK reads
// (lanes on different rows, same chunk) and the cp.async writes are both conflict-free.
// At the end the CTA's warps are combined in shared memory; the CTA then writes
//   bf16 out = acc / l                                  (the token's range is this one split), or
//   partial acc (unnormalised, fp32), max and sum       (to the workspace),
// and a merge kernel (one CTA per token and head, launched as a programmatic dependent of the
// attention kernel so that its launch overlaps the attention kernel's tail) combines the splits
// of split tokens:
//   M = max_s m_s,  out = sum_s acc_s * 2^(m_s - M) / sum_s l_s * 2^(m_s - M).
// Split count and size come from the host (PlanSplits): what it knows is the token count and the
// longest possible key range, not the positions.
#include "kernels/paged_attention.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>

namespace specd::kernels {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarps = 4;                     // warps per attention CTA, each on its own tiles
constexpr int kThreads = kWarps * kWarpSize;
constexpr int kTileKeys = 16;                 // keys per warp tile: two lanes per key in QK
constexpr int kChunkElements = 8;             // 8 bf16 = one 16-byte access
constexpr int kChunkBytes = 16;
constexpr int kSwizzle = 8;                   // chunks of a row XOR-permuted in groups of 8 (128 bytes)
constexpr int kMaxHeadsPerCta = 8;
constexpr int kStages = 2;                    // tiles per warp ring: one in flight while one is used
constexpr int kMergeWarps = 4;
constexpr float kLog2E = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

// Split policy (host). The planner assumes every token may have the longest key range L and picks
// the split count S minimising  waves(S) * (keys per split + kCtaOverheadKeys),  waves = ceil(CTAs
// / resident CTAs): whole waves of equal CTAs. Splits hold at least kMinSplitKeys keys (multiples
// of kTileKeys), a split launch has at most kMaxSplitWaves waves, and a range longer than
// kMaxSplitKeys is split even where waves say otherwise (a long decode among short queries).
constexpr int kMinSplitKeys = 256;
constexpr int kMaxSplitKeys = 4096;
constexpr int kCtaOverheadKeys = 64;  // a CTA's start (dependent index loads), in keys streamed
constexpr int kMaxSplitWaves = 8;
constexpr int64_t kMaxSplits = 1024;
constexpr size_t kMaxWorkspaceBytes = size_t{64} << 20;
constexpr int kNoSplit = 1 << 30;             // split_keys of an unsplit launch
constexpr int kMaxCachedDevices = 64;
constexpr int kFallbackSmCount = 132;

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

__device__ __forceinline__ int FirstKey(int pos, int sliding_window) {
  return sliding_window > 0 ? max(0, pos - sliding_window + 1) : 0;
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

template <int kHeadDim, int kHeads>
constexpr size_t SmemBytes() {
  return size_t{kWarps} * kStages * 2 * kTileKeys * kHeadDim * sizeof(__nv_bfloat16)  // K/V tile rings
         + size_t{kHeads} * kHeadDim * sizeof(float)                                   // queries
         + size_t{kWarps} * kTileKeys * kHeads * sizeof(float)                         // tile weights
         + size_t{kWarps} * kHeads * sizeof(float2);                                   // warp (max, sum)
}

template <int kHeadDim, int kHeads>
__global__ void __launch_bounds__(kThreads) PagedAttentionKernel(const Args a) {
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;  // 16 or 8
  constexpr int kRowsPerPass = kWarpSize / kChunksPerRow;   // tile rows one warp-wide copy covers
  constexpr int kPasses = kTileKeys / kRowsPerPass;
  constexpr int kTileElements = kTileKeys * kHeadDim;
  constexpr int kDimsPerLane = kHeadDim / kWarpSize;        // 4 or 2
  static_assert(kHeadDim == 64 || kHeadDim == 128, "unsupported head dim");
  static_assert(kChunksPerRow % kSwizzle == 0 && 2 * kTileKeys == kWarpSize, "tile layout");
  static_assert(kWarps * kHeads * kHeadDim * sizeof(float) <=
                    size_t{kWarps} * kStages * 2 * kTileElements * sizeof(__nv_bfloat16),
                "the warp combine reuses the tile rings");

  extern __shared__ uint4 smem[];
  auto* tiles = reinterpret_cast<__nv_bfloat16*>(smem);   // [kWarps, kStages, 2 (K, V), kTileKeys, kHeadDim]
  float* q_shared = reinterpret_cast<float*>(tiles + kWarps * kStages * 2 * kTileElements);  // [kHeads, kHeadDim]
  float* p_shared = q_shared + kHeads * kHeadDim;          // [kWarps, kTileKeys, kHeads]
  auto* ml_shared = reinterpret_cast<float2*>(p_shared + kWarps * kTileKeys * kHeads);  // [kWarps, kHeads]

  // Lets the merge kernel (if any) be scheduled once every CTA here has started; it waits for
  // this grid's results itself.
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");

  const PagedAttentionParams& p = a.p;
  const int kv_ctas = p.num_kv_heads * a.kv_slices;
  const int kv_cta = static_cast<int>(blockIdx.x % kv_ctas);
  const int split = static_cast<int>(blockIdx.x / kv_ctas) % a.num_splits;
  const int token = static_cast<int>(blockIdx.x / kv_ctas) / a.num_splits;
  const int kv_head = kv_cta / a.kv_slices;
  const int group = p.num_heads / p.num_kv_heads;
  const int head_base = (kv_cta % a.kv_slices) * kHeads;  // this CTA's first head within the group

  const int pos = p.positions[token];
  const int first = FirstKey(pos, p.sliding_window);
  const int begin = first + split * a.split_keys;
  if (begin > pos) return;  // an empty split (CTA-uniform)
  const int end = begin + min(a.split_keys, pos + 1 - begin);
  const bool direct = pos + 1 - first <= a.split_keys;  // the token's whole range is this split
  const int* block_table = p.block_tables + static_cast<int64_t>(p.token_seq[token]) * p.max_blocks_per_seq;

  // The queries, fp32, pre-scaled so that scores come out in log2 units.
  {
    const float q_scale = p.scale * kLog2E;
    const __nv_bfloat16* q = p.q + static_cast<int64_t>(token) * p.q_stride +
                             static_cast<int64_t>(kv_head * group + head_base) * kHeadDim;
    for (int i = threadIdx.x; i < kHeads * kHeadDim; i += kThreads) {
      q_shared[i] = head_base + i / kHeadDim < group ? __bfloat162float(q[i]) * q_scale : 0.0f;
    }
  }
  __syncthreads();

  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int num_tiles = (end - begin + kTileKeys - 1) / kTileKeys;
  const int warp_tiles = warp < num_tiles ? (num_tiles - warp + kWarps - 1) / kWarps : 0;  // warp-uniform
  __nv_bfloat16* ring = tiles + warp * kStages * 2 * kTileElements;
  float* weights = p_shared + warp * kTileKeys * kHeads;

  // Copies: lane moves chunk (lane % kChunksPerRow) of rows (lane / kChunksPerRow) + k * kRowsPerPass.
  const int copy_chunk = lane % kChunksPerRow;
  const int64_t slot_stride = static_cast<int64_t>(p.num_kv_heads) * kHeadDim;  // elements per cache slot
  const __nv_bfloat16* k_source = p.k_cache + static_cast<int64_t>(kv_head) * kHeadDim + copy_chunk * kChunkElements;
  const __nv_bfloat16* v_source = p.v_cache + static_cast<int64_t>(kv_head) * kHeadDim + copy_chunk * kChunkElements;
  // Cache slot of key (lane % kTileKeys) of the warp's tile i, -1 past the split.
  const auto slot_of = [&](int i) {
    const int position = begin + (warp + i * kWarps) * kTileKeys + lane % kTileKeys;
    if (position >= end) return -1;
    return block_table[position / p.block_size] * p.block_size + position % p.block_size;
  };
  const auto issue = [&](int slot, int stage) {
    __nv_bfloat16* k_tile = ring + stage * 2 * kTileElements;
    __nv_bfloat16* v_tile = k_tile + kTileElements;
#pragma unroll
    for (int pass = 0; pass < kPasses; ++pass) {
      const int row = lane / kChunksPerRow + pass * kRowsPerPass;
      const int row_slot = __shfl_sync(kFullMask, slot, row);
      const int64_t offset = row_slot >= 0 ? row_slot * slot_stride : 0;
      const int bytes = row_slot >= 0 ? kChunkBytes : 0;  // zeros past the split: 0 * V must stay 0
      const int dst = row * kHeadDim + (copy_chunk ^ (row % kSwizzle)) * kChunkElements;
      CopyAsync16(k_tile + dst, k_source + offset, bytes);
      CopyAsync16(v_tile + dst, v_source + offset, bytes);
    }
  };

  float running_max[kHeads];  // warp-uniform
  float lane_sum[kHeads];     // this lane's key's share of the softmax denominator
  float acc[kHeads][kDimsPerLane];  // output dims [lane * kDimsPerLane, +kDimsPerLane) of each head
#pragma unroll
  for (int h = 0; h < kHeads; ++h) {
    running_max[h] = -INFINITY;
    lane_sum[h] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[h][i] = 0.0f;
  }

  // Pipeline prologue: tiles 0 .. kStages - 2 in flight; `slot` always holds the next tile's.
  int slot = warp_tiles > 0 ? slot_of(0) : -1;
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < warp_tiles) {
      issue(slot, i);
      slot = i + 1 < warp_tiles ? slot_of(i + 1) : -1;
    }
    CommitAsync();
  }

  const int key = lane % kTileKeys;
  const int half = lane / kTileKeys;
  const int v_chunk = lane * kDimsPerLane / kChunkElements;
  const int v_within = lane * kDimsPerLane % kChunkElements;
  for (int i = 0; i < warp_tiles; ++i) {
    const int ahead = i + kStages - 1;
    if (ahead < warp_tiles) {
      issue(slot, ahead % kStages);
      slot = ahead + 1 < warp_tiles ? slot_of(ahead + 1) : -1;
    }
    CommitAsync();
    WaitAsync<kStages - 1>();  // tile i has landed (this lane's copies) ...
    __syncwarp();              // ... and every lane's
    const __nv_bfloat16* k_tile = ring + (i % kStages) * 2 * kTileElements;
    const __nv_bfloat16* v_tile = k_tile + kTileElements;

    // QK: this lane's half of its key's row against every head.
    float score[kHeads];
#pragma unroll
    for (int h = 0; h < kHeads; ++h) score[h] = 0.0f;
#pragma unroll
    for (int c2 = 0; c2 < kChunksPerRow / 2; ++c2) {
      const int chunk = 2 * c2 + half;
      const uint4 raw = *reinterpret_cast<const uint4*>(k_tile + key * kHeadDim + (chunk ^ (key % kSwizzle)) * kChunkElements);
      const float2 k0 = Unpack(raw.x), k1 = Unpack(raw.y), k2 = Unpack(raw.z), k3 = Unpack(raw.w);
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
        const float4 q_lo = *reinterpret_cast<const float4*>(q_shared + h * kHeadDim + chunk * kChunkElements);
        const float4 q_hi = *reinterpret_cast<const float4*>(q_shared + h * kHeadDim + chunk * kChunkElements + 4);
        float s = score[h];
        s = fmaf(q_lo.x, k0.x, s);
        s = fmaf(q_lo.y, k0.y, s);
        s = fmaf(q_lo.z, k1.x, s);
        s = fmaf(q_lo.w, k1.y, s);
        s = fmaf(q_hi.x, k2.x, s);
        s = fmaf(q_hi.y, k2.y, s);
        s = fmaf(q_hi.z, k3.x, s);
        s = fmaf(q_hi.w, k3.y, s);
        score[h] = s;
      }
    }

    // Online softmax. Key 0 of every tile is inside the split, so each tile max is finite.
    const bool valid = begin + (warp + i * kWarps) * kTileKeys + key < end;
    float correction[kHeads];
#pragma unroll
    for (int h = 0; h < kHeads; ++h) {
      float s = score[h] + __shfl_xor_sync(kFullMask, score[h], kTileKeys);
      if (!valid) s = -INFINITY;
      float tile_max = s;
#pragma unroll
      for (int offset = kTileKeys / 2; offset > 0; offset /= 2) {
        tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullMask, tile_max, offset));
      }
      const float new_max = fmaxf(running_max[h], tile_max);
      correction[h] = exp2f(running_max[h] - new_max);  // 0 on the warp's first tile
      const float weight = exp2f(s - new_max);           // 0 for keys past the split
      running_max[h] = new_max;
      lane_sum[h] = lane_sum[h] * correction[h] + weight;
      score[h] = weight;
    }
    if (half == 0) {
      float* row = weights + key * kHeads;
      if constexpr (kHeads % 4 == 0) {
#pragma unroll
        for (int h = 0; h < kHeads; h += 4) {
          *reinterpret_cast<float4*>(row + h) = make_float4(score[h], score[h + 1], score[h + 2], score[h + 3]);
        }
      } else {
#pragma unroll
        for (int h = 0; h < kHeads; ++h) row[h] = score[h];
      }
    }
    __syncwarp();

    // PV.
#pragma unroll
    for (int h = 0; h < kHeads; ++h) {
#pragma unroll
      for (int d = 0; d < kDimsPerLane; ++d) acc[h][d] *= correction[h];
    }
#pragma unroll
    for (int j = 0; j < kTileKeys; ++j) {
      const __nv_bfloat16* v_row = v_tile + j * kHeadDim + (v_chunk ^ (j % kSwizzle)) * kChunkElements + v_within;
      float v[kDimsPerLane];
      if constexpr (kDimsPerLane == 4) {
        const uint2 raw = *reinterpret_cast<const uint2*>(v_row);
        const float2 v0 = Unpack(raw.x), v1 = Unpack(raw.y);
        v[0] = v0.x;
        v[1] = v0.y;
        v[2] = v1.x;
        v[3] = v1.y;
      } else {
        const float2 v0 = Unpack(*reinterpret_cast<const uint32_t*>(v_row));
        v[0] = v0.x;
        v[1] = v0.y;
      }
      float w[kHeads];
      if constexpr (kHeads % 4 == 0) {
#pragma unroll
        for (int h = 0; h < kHeads; h += 4) {
          const float4 w4 = *reinterpret_cast<const float4*>(weights + j * kHeads + h);
          w[h] = w4.x;
          w[h + 1] = w4.y;
          w[h + 2] = w4.z;
          w[h + 3] = w4.w;
        }
      } else {
#pragma unroll
        for (int h = 0; h < kHeads; ++h) w[h] = weights[j * kHeads + h];
      }
#pragma unroll
      for (int h = 0; h < kHeads; ++h) {
#pragma unroll
        for (int d = 0; d < kDimsPerLane; ++d) acc[h][d] = fmaf(w[h], v[d], acc[h][d]);
      }
    }
    __syncwarp();  // the ring slot and the weights are rewritten next iteration
  }
  WaitAsync<0>();

  // Combine the warps. A warp without tiles has max -inf and sum 0: its scale is 0.
#pragma unroll
  for (int h = 0; h < kHeads; ++h) {
#pragma unroll
    for (int offset = kTileKeys / 2; offset > 0; offset /= 2) lane_sum[h] += __shfl_xor_sync(kFullMask, lane_sum[h], offset);
  }
  __syncthreads();  // every warp is done with its ring
  float* warp_acc = reinterpret_cast<float*>(tiles);  // [kWarps, kHeads, kHeadDim]
#pragma unroll
  for (int h = 0; h < kHeads; ++h) {
    float* dst = warp_acc + (warp * kHeads + h) * kHeadDim + lane * kDimsPerLane;
    if constexpr (kDimsPerLane == 4) {
      *reinterpret_cast<float4*>(dst) = make_float4(acc[h][0], acc[h][1], acc[h][2], acc[h][3]);
    } else {
      *reinterpret_cast<float2*>(dst) = make_float2(acc[h][0], acc[h][1]);
    }
    if (lane == 0) ml_shared[warp * kHeads + h] = make_float2(running_max[h], lane_sum[h]);
  }
  __syncthreads();

  constexpr int kPairs = kHeadDim / 2;
  for (int item = threadIdx.x; item < kHeads * kPairs; item += kThreads) {
    const int h = item / kPairs;
    const int d = item % kPairs * 2;
    if (head_base + h >= group) continue;
    float max_all = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) max_all = fmaxf(max_all, ml_shared[w * kHeads + h].x);
    float total = 0.0f, a0 = 0.0f, a1 = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float2 ml = ml_shared[w * kHeads + h];
      const float scale = exp2f(ml.x - max_all);
      const float2 part = *reinterpret_cast<const float2*>(warp_acc + (w * kHeads + h) * kHeadDim + d);
      total += ml.y * scale;
      a0 += part.x * scale;
      a1 += part.y * scale;
    }
    const int64_t row = static_cast<int64_t>(token) * p.num_heads + kv_head * group + head_base + h;
    if (direct) {
      const float inv_total = 1.0f / total;  // total >= 1: the max key has weight 1
      *reinterpret_cast<__nv_bfloat162*>(p.out + row * kHeadDim + d) = __floats2bfloat162_rn(a0 * inv_total, a1 * inv_total);
    } else {
      const int64_t partial = row * a.num_splits + split;
      *reinterpret_cast<float2*>(a.partial_acc + partial * kHeadDim + d) = make_float2(a0, a1);
      if (d == 0) a.partial_ml[partial] = make_float2(max_all, total);
    }
  }
}

// One CTA per (token, head); returns at once for tokens the attention kernel finished itself.
// Warp w sums splits w, w + kMergeWarps, ...; lane owns kDimsPerLane dims.
template <int kHeadDim>
__global__ void __launch_bounds__(kMergeWarps * kWarpSize) MergeSplitsKernel(const Args a) {
  constexpr int kDimsPerLane = kHeadDim / kWarpSize;
  __shared__ __align__(16) float warp_acc[kMergeWarps][kHeadDim];

  const PagedAttentionParams& p = a.p;
  const int token = static_cast<int>(blockIdx.x / p.num_heads);
  const int head = static_cast<int>(blockIdx.x % p.num_heads);
  const int pos = p.positions[token];
  const int keys = pos + 1 - FirstKey(pos, p.sliding_window);
  const int splits = (keys - 1) / a.split_keys + 1;
  if (splits <= 1) return;
  asm volatile("griddepcontrol.wait;\n" ::: "memory");  // the attention kernel's partials are complete

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

bool Aligned(const void* pointer, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(pointer) % bytes == 0; }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Query heads per CTA: the group rounded up to a power of two, at most kMaxHeadsPerCta.
int HeadsPerCta(int group) {
  int heads = 1;
  while (heads < group && heads < kMaxHeadsPerCta) heads *= 2;
  return heads;
}

int SmCount(int device) {
  static std::atomic<int> cached[kMaxCachedDevices] = {};
  const bool cacheable = device >= 0 && device < kMaxCachedDevices;
  if (cacheable && cached[device].load(std::memory_order_relaxed) > 0) return cached[device].load(std::memory_order_relaxed);
  int count = 0;
  if (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || count <= 0) {
    cudaGetLastError();  // not sticky; plan for an H100
    return kFallbackSmCount;
  }
  if (cacheable) cached[device].store(count, std::memory_order_relaxed);
  return count;
}

// Opts the attention kernel into its shared memory on `device` (once) and returns how many of its
// CTAs one SM holds.
template <int kHeadDim, int kHeads>
cudaError_t PrepareAttention(int device, int* ctas_per_sm) {
  static std::atomic<int> cached[kMaxCachedDevices] = {};
  const bool cacheable = device >= 0 && device < kMaxCachedDevices;
  if (cacheable) {
    *ctas_per_sm = cached[device].load(std::memory_order_relaxed);
    if (*ctas_per_sm > 0) return cudaSuccess;
  }
  constexpr size_t kSmem = SmemBytes<kHeadDim, kHeads>();
  const auto kernel = PagedAttentionKernel<kHeadDim, kHeads>;
  cudaError_t error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem));
  if (error == cudaSuccess) error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(ctas_per_sm, kernel, kThreads, kSmem);
  if (error != cudaSuccess) return error;
  if (*ctas_per_sm <= 0) return cudaErrorInvalidConfiguration;
  if (cacheable) cached[device].store(*ctas_per_sm, std::memory_order_relaxed);
  return cudaSuccess;
}

cudaError_t PrepareAttention(int head_dim, int heads_per_cta, int device, int* ctas_per_sm) {
  switch (head_dim * 16 + heads_per_cta) {
    case 64 * 16 + 1: return PrepareAttention<64, 1>(device, ctas_per_sm);
    case 64 * 16 + 2: return PrepareAttention<64, 2>(device, ctas_per_sm);
    case 64 * 16 + 4: return PrepareAttention<64, 4>(device, ctas_per_sm);
    case 64 * 16 + 8: return PrepareAttention<64, 8>(device, ctas_per_sm);
    case 128 * 16 + 1: return PrepareAttention<128, 1>(device, ctas_per_sm);
    case 128 * 16 + 2: return PrepareAttention<128, 2>(device, ctas_per_sm);
    case 128 * 16 + 4: return PrepareAttention<128, 4>(device, ctas_per_sm);
    case 128 * 16 + 8: return PrepareAttention<128, 8>(device, ctas_per_sm);
    default: return cudaErrorInvalidValue;
  }
}

size_t PartialBytes(int head_dim) { return (static_cast<size_t>(head_dim) + 2) * sizeof(float); }

struct SplitPlan {
  int num_splits = 1;
  int split_keys = kNoSplit;
};

// Splits from what the host knows: the token count and the longest possible key range L
// (max_blocks_per_seq * block_size, or the sliding window). See the policy constants.
SplitPlan PlanSplits(const PagedAttentionParams& p, int kv_slices, int64_t resident_ctas) {
  SplitPlan plan;
  if (p.workspace == nullptr) return plan;
  const int64_t context = static_cast<int64_t>(p.max_blocks_per_seq) * p.block_size;
  const int64_t keys = p.sliding_window > 0 ? std::min<int64_t>(context, p.sliding_window) : context;
  const int64_t ctas = static_cast<int64_t>(p.num_tokens) * p.num_kv_heads * kv_slices;  // per split
  const int64_t fits = static_cast<int64_t>(
      p.workspace_bytes / (static_cast<size_t>(p.num_tokens) * p.num_heads * PartialBytes(p.head_dim)));
  const int64_t limit =
      std::min({keys / kMinSplitKeys, kMaxSplits, fits, kMaxSplitWaves * resident_ctas / ctas});
  if (limit < 2) return plan;
  const auto split_keys_for = [&](int64_t splits) { return CeilDiv(CeilDiv(keys, splits), kTileKeys) * kTileKeys; };
  const int64_t fewest = std::min(CeilDiv(keys, kMaxSplitKeys), limit);
  int64_t best = 0, best_cost = 0;
  for (int64_t splits = fewest; splits <= limit; ++splits) {
    const int64_t split_keys = split_keys_for(splits);
    const int64_t cost = CeilDiv(ctas * CeilDiv(keys, split_keys), resident_ctas) * (split_keys + kCtaOverheadKeys);
    if (best == 0 || cost < best_cost) {
      best = splits;
      best_cost = cost;
    }
  }
  const int64_t split_keys = split_keys_for(best);
  const int64_t splits = CeilDiv(keys, split_keys);  // no more than `best`: still within limit
  if (splits < 2) return plan;
  plan.num_splits = static_cast<int>(splits);
  plan.split_keys = static_cast<int>(split_keys);
  return plan;
}

template <int kHeadDim, int kHeads>
void LaunchAttention(const Args& a, unsigned ctas, cudaStream_t stream) {
  PagedAttentionKernel<kHeadDim, kHeads>
      <<<ctas, kThreads, SmemBytes<kHeadDim, kHeads>(), stream>>>(a);
}

// The merge may start while the attention kernel drains (programmatic dependent launch); it
// waits for the attention kernel's results before reading them.
template <int kHeadDim>
cudaError_t LaunchMerge(const Args& a, unsigned ctas, cudaStream_t stream) {
  cudaLaunchAttribute attribute = {};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(ctas);
  config.blockDim = dim3(kMergeWarps * kWarpSize);
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, MergeSplitsKernel<kHeadDim>, a);
}

template <int kHeadDim>
cudaError_t Launch(const Args& a, int heads_per_cta, unsigned ctas, unsigned merge_ctas, cudaStream_t stream) {
  switch (heads_per_cta) {
    case 1:
      LaunchAttention<kHeadDim, 1>(a, ctas, stream);
      break;
    case 2:
      LaunchAttention<kHeadDim, 2>(a, ctas, stream);
      break;
    case 4:
      LaunchAttention<kHeadDim, 4>(a, ctas, stream);
      break;
    case 8:
      LaunchAttention<kHeadDim, 8>(a, ctas, stream);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess || a.num_splits == 1) return error;
  return LaunchMerge<kHeadDim>(a, merge_ctas, stream);
}

}  // namespace

size_t PagedAttentionWorkspaceBytes(int max_num_tokens, int num_heads, int head_dim, int max_context) {
  if (max_num_tokens <= 0 || num_heads <= 0 || (head_dim != 64 && head_dim != 128) || max_context <= 0) return 0;
  const int64_t most = std::min<int64_t>(max_context / kMinSplitKeys, kMaxSplits);
  if (most < 2) return 0;
  const int64_t per_split = static_cast<int64_t>(max_num_tokens) * num_heads;  // partials per split
  // A split launch has CTAs = tokens * kv_heads * slices * splits <= kMaxSplitWaves * resident
  // CTAs, each CTA serving at most kHeads heads: partials = tokens * heads * splits <=
  // kHeads * kMaxSplitWaves * resident CTAs, for the kHeads the KV head count picks.
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  int64_t bound = 0;
  for (int heads_per_cta = 1; heads_per_cta <= kMaxHeadsPerCta; heads_per_cta *= 2) {
    int ctas_per_sm = 0;
    if (PrepareAttention(head_dim, heads_per_cta, device, &ctas_per_sm) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    bound = std::max(bound, int64_t{heads_per_cta} * kMaxSplitWaves * ctas_per_sm * SmCount(device));
  }
  const int64_t partials = std::min(bound, per_split * most);
  return std::min(static_cast<size_t>(partials) * PartialBytes(head_dim), kMaxWorkspaceBytes);
}

cudaError_t LaunchPagedAttention(const PagedAttentionParams& params, cudaStream_t stream) {
  const PagedAttentionParams& p = params;
  if (p.head_dim != 64 && p.head_dim != 128) return cudaErrorInvalidValue;
  if (p.num_tokens < 0 || p.num_heads <= 0 || p.num_kv_heads <= 0 || p.num_heads % p.num_kv_heads != 0 ||
      p.block_size <= 0 || p.max_blocks_per_seq <= 0 || p.sliding_window < 0 ||
      static_cast<int64_t>(p.q_stride) < static_cast<int64_t>(p.num_heads) * p.head_dim) {
    return cudaErrorInvalidValue;
  }
  if (p.num_tokens == 0) return cudaSuccess;
  // The caches are read in 16-byte chunks, the output written in bf16 pairs, the workspace in
  // 16-byte vectors.
  if (p.q == nullptr || p.k_cache == nullptr || p.v_cache == nullptr || p.block_tables == nullptr ||
      p.token_seq == nullptr || p.positions == nullptr || p.out == nullptr || !Aligned(p.k_cache, 16) ||
      !Aligned(p.v_cache, 16) || !Aligned(p.out, 4) || !Aligned(p.workspace, 16)) {
    return cudaErrorInvalidValue;
  }

  int device = 0;
  cudaError_t error = cudaGetDevice(&device);
  if (error != cudaSuccess) return error;
  const int group = p.num_heads / p.num_kv_heads;
  const int heads_per_cta = HeadsPerCta(group);
  const int kv_slices = static_cast<int>(CeilDiv(group, heads_per_cta));
  int ctas_per_sm = 0;
  error = PrepareAttention(p.head_dim, heads_per_cta, device, &ctas_per_sm);
  if (error != cudaSuccess) return error;
  const SplitPlan plan = PlanSplits(p, kv_slices, static_cast<int64_t>(ctas_per_sm) * SmCount(device));

  Args a;
  a.p = p;
  a.kv_slices = kv_slices;
  a.num_splits = plan.num_splits;
  a.split_keys = plan.split_keys;
  if (plan.num_splits > 1) {
    const int64_t partials = static_cast<int64_t>(p.num_tokens) * p.num_heads * plan.num_splits;
    a.partial_acc = static_cast<float*>(p.workspace);
    a.partial_ml = reinterpret_cast<float2*>(a.partial_acc + partials * p.head_dim);
  }
  const int64_t ctas = static_cast<int64_t>(p.num_tokens) * p.num_kv_heads * kv_slices * plan.num_splits;
  const int64_t merge_ctas = static_cast<int64_t>(p.num_tokens) * p.num_heads;
  if (ctas > INT_MAX || merge_ctas > INT_MAX) return cudaErrorInvalidValue;
  switch (p.head_dim) {
    case 64:
      return Launch<64>(a, heads_per_cta, static_cast<unsigned>(ctas), static_cast<unsigned>(merge_ctas), stream);
    case 128:
      return Launch<128>(a, heads_per_cta, static_cast<unsigned>(ctas), static_cast<unsigned>(merge_ctas), stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace specd::kernels
