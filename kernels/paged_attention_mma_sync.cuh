// Tensor-core paged attention internals, part 3 of 5 (included by paged_attention_mma.cu only):
// the mma.sync path (any sm_90): its tile shape and MmaSyncAttention, warps of 16 * kMTiles query
// rows on mma.m16n8k16 fed by ldmatrix. Also the wgmma kernels' body in the plain sm_90 image.
#pragma once

#include "kernels/paged_attention_mma_common.cuh"

namespace specd::kernels {
namespace {

template <int kHeadDim, int kWarps, int kMTiles, int kKeysPerTile>
struct MmaSyncTile {
  static constexpr int kKeys = kKeysPerTile;
  static constexpr int kThreads = kWarps * kWarpSize;
  static constexpr int kRowsPerWarp = 16 * kMTiles;
  static constexpr int kRows = kWarps * kRowsPerWarp;
  static constexpr int kRowBytes = kHeadDim * 2;
  static constexpr int kQBytes = kRows * kRowBytes;
  static constexpr int kKvBytes = kKeys * kRowBytes;  // one K or V tile
  static constexpr int kSTiles = kKeys / 8;           // n8 tiles of S per m16 tile
  static constexpr int kOTiles = kHeadDim / 8;        // n8 tiles of O per m16 tile
  static constexpr int kSmemBytes = kSmemAlign + kQBytes + 4 * kKvBytes;  // Q | K[2] | V[2]
};

// The mma.sync path: warp w owns rows [w * 16 * kMTiles, (w + 1) * 16 * kMTiles); key tiles of
// kKeysPerTile.
template <int kHeadDim, int kWarps, int kMTiles, int kKeysPerTile, typename Modifier>
__device__ __forceinline__ void MmaSyncAttention(const PagedAttentionParams& p, float scale_log2, CtaWork work) {
  using T = MmaSyncTile<kHeadDim, kWarps, kMTiles, kKeysPerTile>;
  constexpr int kKeys = T::kKeys;
  static_assert(T::kSmemBytes <= kMaxSmemBytes);
  using Layout = RowMajorLayout<T::kRowBytes>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ RowState<T::kRows, kKeys> st;
  const uint32_t s_q = AlignedSharedBase(smem_raw);
  const uint32_t s_k = s_q + T::kQBytes;       // [2][kKeys][kHeadDim]
  const uint32_t s_v = s_k + 2 * T::kKvBytes;  // [2][kKeys][kHeadDim]

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const auto [head, t0] = work;
  const int rows = min(T::kRows, p.num_tokens - t0);
  const int kv_head = head / (p.num_heads / p.num_kv_heads);

  const ScoreContext<Modifier> sc = MakeScoreContext<Modifier>(p, head);
  LoadRows<T::kThreads>(p, sc.modifier, st, t0, rows, tid);
  LoadQ<Layout, kHeadDim, T::kRows, T::kThreads>(p, s_q, t0, rows, head, tid);
  CommitAsync();  // completed with the first K tile
  __syncthreads();

  // Per-lane ldmatrix addresses for chunk c of their rows (steps enter by XOR, see the header).
  const int g = lane / 4;  // accumulator row within an m16 tile (and +8)
  const int t = lane % 4;  // accumulator column pair
  const int r_lane = warp * T::kRowsPerWarp + g;
  const uint32_t q_lane = s_q + static_cast<uint32_t>((warp * T::kRowsPerWarp + lane % 16) * T::kRowBytes) +
                          static_cast<uint32_t>((((lane / 16) ^ (lane % 8))) * kChunkBytes);
  const uint32_t k_lane = static_cast<uint32_t>((lane % 8 + (lane / 16) * 8) * T::kRowBytes) +
                          static_cast<uint32_t>(((((lane / 8) % 2) ^ (lane % 8))) * kChunkBytes);
  const uint32_t v_lane = static_cast<uint32_t>((lane % 8 + ((lane / 8) % 2) * 8) * T::kRowBytes) +
                          static_cast<uint32_t>((((lane / 16) ^ (lane % 8))) * kChunkBytes);

  for (int run_begin = 0; run_begin < rows;) {
    const auto [tile_lo, num_kv_tiles] = StartRun<kHeadDim, T::kThreads>(p, st, run_begin, rows, kv_head, tid);
    LoadKvTile<Layout, kHeadDim, kKeys, T::kThreads>(s_k, st.offset[0], p.k_cache, tid);
    CommitAsync();
    LoadKvTile<Layout, kHeadDim, kKeys, T::kThreads>(s_v, st.offset[0], p.v_cache, tid);
    CommitAsync();

    float o[kMTiles][T::kOTiles][4], row_max[kMTiles][2], row_sum[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) ResetAccumulators(o[mt], row_max[mt], row_sum[mt]);

    for (int it = 0; it < num_kv_tiles; ++it) {
      const int buf = it & 1;
      const int k0 = (tile_lo + it) * kKeys;
      WaitAsync<1>();  // K[it] (and Q) landed; V[it] may be in flight
      __syncthreads();
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<Layout, kHeadDim, kKeys, T::kThreads>(s_k + (buf ^ 1) * T::kKvBytes, st.offset[buf ^ 1], p.k_cache, tid);
      }
      CommitAsync();
      // Offsets of tile it + 2, stored after QK (the block-table load's latency hides behind it).
      int64_t next_offset = -1;
      if (tid < kKeys && it + 2 < num_kv_tiles) {
        next_offset = KeyOffset<kHeadDim>(p, st, st.run, k0 + 2 * kKeys + tid, kv_head);
      }

      // S = Q K^T for this warp's rows.
      float s[kMTiles][T::kSTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int j = 0; j < T::kSTiles; ++j) {
#pragma unroll
          for (int e = 0; e < 4; ++e) s[mt][j][e] = 0.0f;
        }
      }
      const uint32_t k_tile = s_k + buf * T::kKvBytes + k_lane;
      const uint32_t q_warp = Opaque(q_lane);  // keeps the per-step Q addresses out of registers
#pragma unroll
      for (int kk = 0; kk < kHeadDim / 16; ++kk) {
        uint32_t a[kMTiles][4];
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) LoadMatrixX4(a[mt], (q_warp + mt * 16 * T::kRowBytes) ^ (kk << 5));
#pragma unroll
        for (int jj = 0; jj < T::kSTiles / 2; ++jj) {
          uint32_t b[4];
          LoadMatrixX4(b, (k_tile + jj * 16 * T::kRowBytes) ^ (kk << 5));
#pragma unroll
          for (int mt = 0; mt < kMTiles; ++mt) {
            Mma(s[mt][2 * jj], a[mt], b[0], b[1]);
            Mma(s[mt][2 * jj + 1], a[mt], b[2], b[3]);
          }
        }
      }
      if (tid < kKeys) st.offset[buf][tid] = next_offset;  // tile it's offsets are no longer read

      const bool mask = TileNeedsMask<kKeys>(st.run, k0);
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        Softmax(s[mt], o[mt], row_max[mt], row_sum[mt], mask, k0, r_lane + mt * 16, t, st, scale_log2, sc);
      }

      WaitAsync<1>();  // V[it] landed; K[it + 1] may be in flight
      __syncthreads();
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<Layout, kHeadDim, kKeys, T::kThreads>(s_v + (buf ^ 1) * T::kKvBytes, st.offset[buf ^ 1], p.v_cache, tid);
      }
      CommitAsync();

      // O += P V.
      const uint32_t v_tile = s_v + buf * T::kKvBytes + v_lane;
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        uint32_t a[kMTiles][4];
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) PackP(s[mt], kk, a[mt]);
#pragma unroll
        for (int dd = 0; dd < T::kOTiles / 2; ++dd) {
          uint32_t b[4];
          LoadMatrixX4Trans(b, (v_tile + kk * 16 * T::kRowBytes) ^ (dd << 5));
#pragma unroll
          for (int mt = 0; mt < kMTiles; ++mt) {
            Mma(o[mt][2 * dd], a[mt], b[0], b[1]);
            Mma(o[mt][2 * dd + 1], a[mt], b[2], b[3]);
          }
        }
      }
    }

#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      WriteRows<kHeadDim>(p, o[mt], row_sum[mt], t0, r_lane + mt * 16, head, t, st.run);
    }
    run_begin = st.run[kRunEnd];
    WaitAsync<0>();
    __syncthreads();  // buffers, offsets and run bounds are reused by the next run
  }
}

}  // namespace
}  // namespace specd::kernels
