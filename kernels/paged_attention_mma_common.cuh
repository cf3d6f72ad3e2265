// Tensor-core paged attention internals, part 2 of 5 (included by paged_attention_mma.cu only):
// what the mma.sync and wgmma paths share: loading row metadata and Q, finding runs of one
// sequence, key offsets and K/V tile copies, the modifier's score transform, the online softmax in
// registers, and the output rows.
#pragma once

#include "kernels/paged_attention.h"
#include "kernels/paged_attention_mma_primitives.cuh"

namespace specd::kernels {
namespace {

// What the softmax needs of the modifier (attention_modifier.h): the functor, its constant for
// this CTA's head, and the softmax scale (Score works on q.k * scale).
template <typename Modifier>
struct ScoreContext {
  Modifier modifier;
  float head_factor;
  float scale;
  float inv_scale;
};

template <typename Modifier>
__device__ __forceinline__ ScoreContext<Modifier> MakeScoreContext(const PagedAttentionParams& p, int head) {
  const Modifier modifier(p.modifier, p.num_heads);
  return {modifier, modifier.HeadFactor(head), p.scale, 1.0f / p.scale};
}

// The CTA's query head and first batch row. Grid: x = row tile, fastest and heaviest first (tile
// gridDim.x - 1 - blockIdx.x: in a batch of prompt chunks the last tiles of a sequence have the
// longest key ranges), y = query head. So the CTAs resident together are mostly one head's row
// tiles, which stream the same sequences' K and V (L2 hits), and the query heads of one KV head
// come one after another.
struct CtaWork {
  int head;
  int t0;
};
__device__ __forceinline__ CtaWork CtaWorkOf(int rows_per_cta) {
  return {static_cast<int>(blockIdx.y), static_cast<int>(gridDim.x - 1 - blockIdx.x) * rows_per_cta};
}

// Row metadata of the CTA's rows [t0, t0 + rows) (rows past the batch: never attended, never
// written), with each row's key interval.
template <int kThreads, int kRows, int kKeys, typename Modifier>
__device__ __forceinline__ void LoadRows(const PagedAttentionParams& p, const Modifier& modifier,
                                         RowState<kRows, kKeys>& st, int t0, int rows, int tid) {
  for (int r = tid; r < kRows; r += kThreads) {
    int seq = -1, pos = -1;
    KeyInterval keys{INT_MAX, -1};
    if (r < rows) {
      seq = p.token_seq[t0 + r];
      pos = p.positions[t0 + r];
      keys = modifier.Keys(seq, pos);
    }
    st.seq[r] = seq;
    st.pos[r] = pos;
    st.first[r] = keys.first;
    st.last[r] = keys.last;
  }
}

// Q rows [t0, t0 + kRows) of one head into a swizzled tile; rows past the batch become zeros.
template <typename Layout, int kHeadDim, int kRows, int kThreads>
__device__ __forceinline__ void LoadQ(const PagedAttentionParams& p, uint32_t s_q, int t0, int rows, int head, int tid) {
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;
  for (int i = tid; i < kRows * kChunksPerRow; i += kThreads) {
    const int r = i / kChunksPerRow;
    const int c = i % kChunksPerRow;
    const bool valid = r < rows;
    const __nv_bfloat16* src =
        p.q + static_cast<int64_t>(t0 + (valid ? r : 0)) * p.q_stride + head * kHeadDim + c * kChunkElements;
    CopyAsync16(s_q + Layout::Offset(r, c), src, valid);
  }
}

// The run starting at row `begin`: rows [begin, end) of one sequence and the span of their key
// intervals, into st.run. Three barriers; the caller reads st.run after them.
template <int kThreads, int kRows, int kKeys>
__device__ __forceinline__ void FindRun(RowState<kRows, kKeys>& st, int begin, int rows, int tid) {
  const int seq = st.seq[begin];
  if (tid == 0) {
    st.run[kRunEnd] = rows;
    st.run[kMinFirst] = INT_MAX;
    st.run[kMaxFirst] = -1;
    st.run[kMinLast] = INT_MAX;
    st.run[kMaxLast] = -1;
    st.run[kRunBegin] = begin;
  }
  __syncthreads();
  for (int r = begin + 1 + tid; r < rows; r += kThreads) {
    if (st.seq[r] != seq) atomicMin(&st.run[kRunEnd], r);
  }
  __syncthreads();
  for (int r = begin + tid; r < st.run[kRunEnd]; r += kThreads) {
    atomicMin(&st.run[kMinFirst], st.first[r]);
    atomicMax(&st.run[kMaxFirst], st.first[r]);
    atomicMin(&st.run[kMinLast], st.last[r]);
    atomicMax(&st.run[kMaxLast], st.last[r]);
  }
  __syncthreads();
}

// Byte offset in the cache of run `run`'s key for KV head kv_head, or -1 outside [min first, max
// last] (keys no row of the run sees: never read, their block-table entries may be anything).
template <int kHeadDim, int kRows, int kKeys>
__device__ __forceinline__ int64_t KeyOffset(const PagedAttentionParams& p, const RowState<kRows, kKeys>& st,
                                             const int (&run)[kRunFields], int key, int kv_head) {
  if (key < run[kMinFirst] || key > run[kMaxLast]) return -1;
  const int seq = st.seq[run[kRunBegin]];
  const int block = p.block_tables[static_cast<int64_t>(seq) * p.max_blocks_per_seq + key / p.block_size];
  const int64_t slot = static_cast<int64_t>(block) * p.block_size + key % p.block_size;
  return (slot * p.num_kv_heads + kv_head) * kHeadDim * static_cast<int64_t>(sizeof(__nv_bfloat16));
}

// The 1024-byte aligned start of dynamic shared memory (the swizzle XORs address bits 4..6 with 7..9).
__device__ __forceinline__ uint32_t AlignedSharedBase(const void* smem_raw) {
  return (SharedAddress(smem_raw) + kSmemAlign - 1) & ~static_cast<uint32_t>(kSmemAlign - 1);
}

// The key tiles [lo, lo + count) of the run starting at row `begin` (FindRun): those meeting the
// span of its rows' key intervals (tiles outside it are masked for every row: never loaded).
// Every thread of the CTA calls it (barriers).
struct KeyTiles {
  int lo;
  int count;
};
template <int kThreads, int kRows, int kKeys>
__device__ __forceinline__ KeyTiles FindRunTiles(RowState<kRows, kKeys>& st, int begin, int rows, int tid) {
  FindRun<kThreads>(st, begin, rows, tid);
  const int tile_lo = st.run[kMinFirst] / kKeys;
  return {tile_lo, st.run[kMaxLast] / kKeys - tile_lo + 1};
}

// FindRunTiles, with the key offsets of tiles lo and lo + 1 in st.offset[0] and [1] (-1 past the
// run). Ends with a barrier.
template <int kHeadDim, int kThreads, int kRows, int kKeys>
__device__ __forceinline__ KeyTiles StartRun(const PagedAttentionParams& p, RowState<kRows, kKeys>& st, int begin,
                                             int rows, int kv_head, int tid) {
  static_assert(kThreads >= kKeys);
  const auto [tile_lo, num_kv_tiles] = FindRunTiles<kThreads>(st, begin, rows, tid);
  if (tid < kKeys) {
    st.offset[0][tid] = KeyOffset<kHeadDim>(p, st, st.run, tile_lo * kKeys + tid, kv_head);
    st.offset[1][tid] =
        num_kv_tiles > 1 ? KeyOffset<kHeadDim>(p, st, st.run, (tile_lo + 1) * kKeys + tid, kv_head) : -1;
  }
  __syncthreads();
  return {tile_lo, num_kv_tiles};
}

// Copies kKeys rows (one K or V tile) into a swizzled buffer; offset < 0 rows become zeros.
// kUnroll: copies in flight per unrolled batch (all of them by default; fewer keeps a producer
// warp's registers down).
template <typename Layout, int kHeadDim, int kKeys, int kThreads,
          int kUnroll = kKeys * kHeadDim / kChunkElements / kThreads>
__device__ __forceinline__ void LoadKvTile(uint32_t dst, const int64_t* offsets, const __nv_bfloat16* cache, int tid) {
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;
  constexpr int kRowsPerPass = kThreads / kChunksPerRow;
  static_assert(kThreads % kChunksPerRow == 0 && kKeys % kRowsPerPass == 0 && kRowsPerPass % 8 == 0);
  const int c = tid % kChunksPerRow;
  const int r0 = tid / kChunksPerRow;
  const char* const base = reinterpret_cast<const char*>(cache) + c * kChunkBytes;
  const uint32_t dst0 = dst + Layout::Offset(r0, c);  // rows r0 + i * kRowsPerPass share r0 % 8
#pragma unroll kUnroll
  for (int i = 0; i < kKeys / kRowsPerPass; ++i) {
    const int64_t offset = offsets[r0 + i * kRowsPerPass];  // -1: zeros (the address is not read)
    CopyAsync16(dst0 + (Layout::Offset(r0 + i * kRowsPerPass, c) - Layout::Offset(r0, c)), base + offset, offset >= 0);
  }
}

// Whether key tile [k0, k0 + kKeys) needs the per-row mask: not when every row of the run sees
// all of it (the tiles StartRun yields are never fully masked).
template <int kKeys>
__device__ __forceinline__ bool TileNeedsMask(const int (&run)[kRunFields], int k0) {
  const QuerySpan span{run[kMinFirst], run[kMaxFirst], run[kMinLast], run[kMaxLast]};
  return ClassifyKeys(span, k0, k0 + kKeys - 1) != KeyBlockClass::kVisible;
}

// The modifier's score transform on raw scores q.k (in place, still unscaled), when it has one.
template <int kSTiles, int kRows, int kKeys, typename Modifier>
__device__ __forceinline__ void TransformScores(float (&s)[kSTiles][4], int k0, int r0, int t,
                                                const RowState<kRows, kKeys>& st, const ScoreContext<Modifier>& sc) {
  if constexpr (requires { sc.modifier.KeySlope(sc.head_factor); }) {
    // A bias linear in the key (ALiBi): raw-score units per key, then key k0 + 8 j + 2 t + e's bias
    // from the row's first as one FMA with a constant (3 instructions an element fewer than Score).
    const float step = sc.modifier.KeySlope(sc.head_factor) * sc.inv_scale;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float first = step * static_cast<float>(k0 + 2 * t - st.pos[r0 + 8 * h]);
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) s[j][2 * h + e] += fmaf(step, static_cast<float>(8 * j + e), first);
      }
    }
  } else if constexpr (Modifier::kScores) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int pos = st.pos[r0 + 8 * h];
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float& score = s[j][2 * h + e];
          score = sc.modifier.Score(score * sc.scale, pos, k0 + j * 8 + 2 * t + e, sc.head_factor) * sc.inv_scale;
        }
      }
    }
  }
}

// The online softmax's start for one m16 slice (a run's first tile): O zero, and for the lane's two
// rows a running max of -inf and a sum of 0 (the lane's partial sum; the quad's lanes are added at
// the end).
template <int kOTiles>
__device__ __forceinline__ void ResetAccumulators(float (&o)[kOTiles][4], float (&row_max)[2], float (&row_sum)[2]) {
#pragma unroll
  for (int j = 0; j < kOTiles; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) o[j][e] = 0.0f;
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    row_max[h] = -INFINITY;
    row_sum[h] = 0.0f;
  }
}

// One m16 slice of a tile: score transform, mask (when needed), online softmax statistics, P
// overwrites S; returns the factor O must be scaled by (rows r0 and r0 + 8 of the CTA, the lane's
// accumulator rows; keys k0 + 8 j + 2 t + {0, 1}).
template <int kSTiles, int kRows, int kKeys, typename Modifier>
__device__ __forceinline__ void SoftmaxStep(float (&s)[kSTiles][4], float (&row_max)[2], float (&row_sum)[2],
                                            float (&correction)[2], bool mask, int k0, int r0, int t,
                                            const RowState<kRows, kKeys>& st, float scale_log2,
                                            const ScoreContext<Modifier>& sc) {
  TransformScores(s, k0, r0, t, st, sc);
  if (mask) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const KeyInterval keys{st.first[r0 + 8 * h], st.last[r0 + 8 * h]};
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          if (!KeyVisible(keys, k0 + j * 8 + 2 * t + e)) s[j][2 * h + e] = -INFINITY;
        }
      }
    }
  }
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float m = row_max[h];
#pragma unroll
    for (int j = 0; j < kSTiles; ++j) m = fmaxf(m, fmaxf(s[j][2 * h], s[j][2 * h + 1]));
    m = fmaxf(m, __shfl_xor_sync(kFullMask, m, 1));
    m = fmaxf(m, __shfl_xor_sync(kFullMask, m, 2));
    const float m_scaled = m == -INFINITY ? 0.0f : m * scale_log2;
    correction[h] = row_max[h] == -INFINITY ? 0.0f : Exp2(row_max[h] * scale_log2 - m_scaled);
    row_max[h] = m;
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float pe = Exp2(fmaf(s[j][2 * h + e], scale_log2, -m_scaled));
        s[j][2 * h + e] = pe;
        sum += pe;
      }
    }
    row_sum[h] = row_sum[h] * correction[h] + sum;
  }
}

template <int kOTiles>
__device__ __forceinline__ void Rescale(float (&o)[kOTiles][4], const float (&correction)[2]) {
#pragma unroll
  for (int j = 0; j < kOTiles; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) o[j][e] *= correction[e / 2];
  }
}

template <int kSTiles, int kOTiles, int kRows, int kKeys, typename Modifier>
__device__ __forceinline__ void Softmax(float (&s)[kSTiles][4], float (&o)[kOTiles][4], float (&row_max)[2],
                                        float (&row_sum)[2], bool mask, int k0, int r0, int t,
                                        const RowState<kRows, kKeys>& st, float scale_log2,
                                        const ScoreContext<Modifier>& sc) {
  float correction[2];
  SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r0, t, st, scale_log2, sc);
  Rescale(o, correction);
}

// P (keys 16 kk .. 16 kk + 15 of an m16 slice) as an m16k16 bf16 A fragment.
template <int kSTiles>
__device__ __forceinline__ void PackP(const float (&s)[kSTiles][4], int kk, uint32_t (&a)[4]) {
  a[0] = PackBF16(s[2 * kk][0], s[2 * kk][1]);
  a[1] = PackBF16(s[2 * kk][2], s[2 * kk][3]);
  a[2] = PackBF16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
  a[3] = PackBF16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
}

// out = O / l for the lane's rows r0 and r0 + 8 that belong to the run.
template <int kHeadDim, int kOTiles>
__device__ __forceinline__ void WriteRows(const PagedAttentionParams& p, const float (&o)[kOTiles][4],
                                          const float (&row_sum)[2], int t0, int r0, int head, int t,
                                          const int (&run)[kRunFields]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_sum[h];
    l += __shfl_xor_sync(kFullMask, l, 1);
    l += __shfl_xor_sync(kFullMask, l, 2);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const int r = r0 + 8 * h;
    if (r >= run[kRunBegin] && r < run[kRunEnd]) {
      __nv_bfloat16* dst = p.out + (static_cast<int64_t>(t0 + r) * p.num_heads + head) * kHeadDim + 2 * t;
#pragma unroll
      for (int j = 0; j < kOTiles; ++j) {
        *reinterpret_cast<__nv_bfloat162*>(dst + j * 8) =
            __floats2bfloat162_rn(o[j][2 * h] * inv, o[j][2 * h + 1] * inv);
      }
    }
  }
}

}  // namespace
}  // namespace specd::kernels
