// CUDA-core paged attention internals, part 2 of 3 (included by paged_attention.cu only):
// PagedAttentionKernel, one CTA per (token, KV head, head slice, split): per-warp online softmax
// over cp.async-filled K/V tile rings, then the warps combined into the output or a split's
// partial result. Modifier (kernels/attention_modifier.h) gives the token's key interval, the only
// keys read (masked blocks are never loaded; the interval's edge tiles reuse the split's bound
// check), and the score transform when it has one. With skip_masked_blocks off every key from 0
// is read and those before the interval are masked per element (ReadKeys).
#pragma once

#include "kernels/paged_attention_common.cuh"

namespace specd::kernels {
namespace {

template <int kHeadDim, int kHeads, int kCtaWarps, typename Modifier>
__global__ void __launch_bounds__(kCtaWarps * kWarpSize) PagedAttentionKernel(const Args a) {
  constexpr int kCtaThreads = kCtaWarps * kWarpSize;
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;  // 16 or 8
  constexpr int kRowsPerPass = kWarpSize / kChunksPerRow;   // tile rows one warp-wide copy covers
  constexpr int kPasses = kTileKeys / kRowsPerPass;
  constexpr int kTileElements = kTileKeys * kHeadDim;
  constexpr int kDimsPerLane = kHeadDim / kWarpSize;        // 4 or 2
  static_assert(kHeadDim == 64 || kHeadDim == 128, "unsupported head dim");
  static_assert(kChunksPerRow % kSwizzle == 0 && 2 * kTileKeys == kWarpSize, "tile layout");
  static_assert(kCtaWarps * kHeads * kHeadDim * sizeof(float) <=
                    size_t{kCtaWarps} * kStages * 2 * kTileElements * sizeof(__nv_bfloat16),
                "the warp combine reuses the tile rings");

  extern __shared__ uint4 smem[];
  auto* tiles = reinterpret_cast<__nv_bfloat16*>(smem);   // [kCtaWarps, kStages, 2 (K, V), kTileKeys, kHeadDim]
  float* q_shared = reinterpret_cast<float*>(tiles + kCtaWarps * kStages * 2 * kTileElements);  // [kHeads, kHeadDim]
  float* p_shared = q_shared + kHeads * kHeadDim;          // [kCtaWarps, kTileKeys, kHeads]
  auto* ml_shared = reinterpret_cast<float2*>(p_shared + kCtaWarps * kTileKeys * kHeads);  // [kCtaWarps, kHeads]

  const PagedAttentionParams& p = a.p;
  const int kv_ctas = p.num_kv_heads * a.kv_slices;
  const int kv_cta = static_cast<int>(blockIdx.x % kv_ctas);
  const int split = static_cast<int>(blockIdx.x / kv_ctas) % a.num_splits;
  const int token = static_cast<int>(blockIdx.x / kv_ctas) / a.num_splits;
  const int kv_head = kv_cta / a.kv_slices;
  const int group = p.num_heads / p.num_kv_heads;
  const int head_base = (kv_cta % a.kv_slices) * kHeads;  // this CTA's first head within the group

  const Modifier modifier(p.modifier, p.num_heads);
  const int pos = p.positions[token];
  const int seq = p.token_seq[token];
  const KeyInterval visible = modifier.Keys(seq, pos);
  const KeyInterval keys = ReadKeys(p.modifier, visible);  // visible, unless masked blocks are read too
  const int begin = keys.first + split * a.split_keys;
  if (begin > keys.last) return;  // an empty split (CTA-uniform)
  const int end = begin + min(a.split_keys, keys.last + 1 - begin);
  const bool direct = keys.last + 1 - keys.first <= a.split_keys;  // the token's whole range is this split
  const int* block_table = p.block_tables + static_cast<int64_t>(seq) * p.max_blocks_per_seq;

  const int warp = threadIdx.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  const int num_tiles = (end - begin + kTileKeys - 1) / kTileKeys;
  const int warp_tiles = warp < num_tiles ? (num_tiles - warp + kCtaWarps - 1) / kCtaWarps : 0;  // warp-uniform
  __nv_bfloat16* ring = tiles + warp * kStages * 2 * kTileElements;
  float* weights = p_shared + warp * kTileKeys * kHeads;

  // Copies: lane moves chunk (lane % kChunksPerRow) of rows (lane / kChunksPerRow) + k * kRowsPerPass.
  const int copy_chunk = lane % kChunksPerRow;
  const int64_t slot_stride = static_cast<int64_t>(p.num_kv_heads) * kHeadDim;  // elements per cache slot
  const __nv_bfloat16* k_source = p.k_cache + static_cast<int64_t>(kv_head) * kHeadDim + copy_chunk * kChunkElements;
  const __nv_bfloat16* v_source = p.v_cache + static_cast<int64_t>(kv_head) * kHeadDim + copy_chunk * kChunkElements;
  // Cache slot of key (lane % kTileKeys) of the warp's tile i, -1 past the split.
  const auto slot_of = [&](int i) {
    const int position = begin + (warp + i * kCtaWarps) * kTileKeys + lane % kTileKeys;
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

  // Before waiting for the kernel before (pdl.cuh): the warp's first tile, where every key in it
  // was written by an earlier step. No kernel of this step writes those: the launch's tokens write
  // keys at positions pos - num_tokens + 1 .. pos at most (a sequence's new keys are all in one
  // launch). Positions, sequences and block tables are the step's upload.
  int slot = warp_tiles > 0 ? slot_of(0) : -1;  // `slot` always holds the next tile's
  const bool first_tile_early = warp_tiles > 0 && begin + warp * kTileKeys + kTileKeys - 1 < pos - p.num_tokens + 1;
  if (first_tile_early) issue(slot, 0);
  // Only then the merge kernel (if any) or the next layer's kernel may be scheduled, once every
  // CTA here has got this far; they wait for this grid's results themselves. In decode that is
  // the o_proj product, whose weight loads would otherwise queue ahead of these tiles. H100,
  // Llama-3.2-1B batch 1, same call, three rounds: 1.007 / 1.008 / 1.026 ms a token against
  // 1.023-1.036 with every tile loaded after the wait and o_proj launched at this kernel's start
  // (1.015-1.016 with only the first slot's block-table read before the wait); a traced layer
  // 49.9 us (attention 5.5, o_proj 3.0). Launching o_proj at the start with the early tile:
  // 1.022-1.033. Launching it at the end instead of the start was slower: 1.046-1.060.
  AllowDependentLaunch();
  // q and the step's keys come from the kernels before this one.
  WaitForPrerequisites();
  // The queries, fp32, pre-scaled so that scores come out in log2 units.
  {
    const float q_scale = p.scale * kLog2E;
    const __nv_bfloat16* q = p.q + static_cast<int64_t>(token) * p.q_stride +
                             static_cast<int64_t>(kv_head * group + head_base) * kHeadDim;
    for (int i = threadIdx.x; i < kHeads * kHeadDim; i += kCtaThreads) {
      q_shared[i] = head_base + i / kHeadDim < group ? __bfloat162float(q[i]) * q_scale : 0.0f;
    }
  }
  __syncthreads();

  float head_factor[kHeads];  // the score transform's per-head constant
#pragma unroll
  for (int h = 0; h < kHeads; ++h) head_factor[h] = modifier.HeadFactor(kv_head * group + head_base + h);
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

  // Pipeline prologue: tiles 0 .. kStages - 2 in flight (the first may be already).
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < warp_tiles) {
      if (i != 0 || !first_tile_early) issue(slot, i);
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

    // Online softmax. Key 0 of every tile is inside the split, so each tile max is finite unless
    // the whole tile lies before the visible interval (block skipping off): new_max stays -inf,
    // and the weights and correction are taken against 0 so that they come out 0, not NaN.
    const int key_position = begin + (warp + i * kCtaWarps) * kTileKeys + key;
    const bool valid = key_position < end && key_position >= visible.first;
    float correction[kHeads];
#pragma unroll
    for (int h = 0; h < kHeads; ++h) {
      float s = score[h] + __shfl_xor_sync(kFullMask, score[h], kTileKeys);
      if constexpr (Modifier::kScores) s = modifier.Score(s * kLn2, pos, key_position, head_factor[h]) * kLog2E;
      if (!valid) s = -INFINITY;
      float tile_max = s;
#pragma unroll
      for (int offset = kTileKeys / 2; offset > 0; offset /= 2) {
        tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullMask, tile_max, offset));
      }
      const float new_max = fmaxf(running_max[h], tile_max);
      const float finite_max = new_max == -INFINITY ? 0.0f : new_max;
      correction[h] = exp2f(running_max[h] - finite_max);  // 0 on the warp's first visible tile
      const float weight = exp2f(s - finite_max);           // 0 for keys past the split or masked
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

  // Combine the warps. A warp without tiles (or without a visible key) has max -inf and sum 0: its
  // scale is 0, and so is that of every warp of a split without a visible key (max_all -inf).
#pragma unroll
  for (int h = 0; h < kHeads; ++h) {
#pragma unroll
    for (int offset = kTileKeys / 2; offset > 0; offset /= 2) lane_sum[h] += __shfl_xor_sync(kFullMask, lane_sum[h], offset);
  }
  __syncthreads();  // every warp is done with its ring
  float* warp_acc = reinterpret_cast<float*>(tiles);  // [kCtaWarps, kHeads, kHeadDim]
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
  for (int item = threadIdx.x; item < kHeads * kPairs; item += kCtaThreads) {
    const int h = item / kPairs;
    const int d = item % kPairs * 2;
    if (head_base + h >= group) continue;
    float max_all = -INFINITY;
#pragma unroll
    for (int w = 0; w < kCtaWarps; ++w) max_all = fmaxf(max_all, ml_shared[w * kHeads + h].x);
    float total = 0.0f, a0 = 0.0f, a1 = 0.0f;
#pragma unroll
    for (int w = 0; w < kCtaWarps; ++w) {
      const float2 ml = ml_shared[w * kHeads + h];
      const float scale = ml.x == -INFINITY ? 0.0f : exp2f(ml.x - max_all);
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

}  // namespace
}  // namespace specd::kernels
