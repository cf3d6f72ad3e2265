// Tensor-core paged attention internals, part 5 of 5 (included by paged_attention_mma.cu only):
// the warp-specialized wgmma path (sm_90a). WgmmaAttention's math, but its 256 threads no longer
// copy K and V or wait at a CTA barrier per key tile: a third warpgroup, the producer, gathers the
// tiles through the block table with cp.async while the two consumer warpgroups only multiply and
// run the softmax (FlashAttention-3's warp specialization, with cp.async in place of TMA because
// the cache is paged in blocks of any size).
//
//   producer (warpgroup 2, 24 registers):  Q K0 K1 V0 K2 V1 K3 V2 ...   (the order consumers need)
//                                           | each copy signals full[stage] when it lands
//   consumers (warpgroups 0, 1, 240 each):  in its turn: S = Q K[i]^T; O *= correction; O += P V[i-1];
//                                           then the softmax of S while the other's turn runs;
//                                           release K[i] (empty) once S landed, V[i-1] once O did
//
// Two stages a buffer (K and V apart), each an mbarrier pair: full (the producer's 128 threads
// arrive as their copies complete: cp.async.mbarrier.arrive.noinc) and empty (each consumer warp
// arrives once its warpgroup's wgmma reading the stage is done); Q has its own full barrier.
// The two consumer warpgroups issue their products in alternate turns (WaitForTurn / PassTurn).
#pragma once

#include "kernels/paged_attention_mma_wgmma.cuh"

namespace specd::kernels {
namespace {

constexpr int kProducerRegisters = 24;
constexpr int kConsumerRegisters = 240;
constexpr int kWsConsumerGroups = 2;
constexpr int kWsThreads = (kWsConsumerGroups + 1) * kWarpgroupThreads;
constexpr int kProducerBarrier = 1;  // named barrier of the producer warpgroup (0: __syncthreads)
static_assert(kProducerRegisters * kWarpgroupThreads + kConsumerRegisters * kWsConsumerGroups * kWarpgroupThreads <=
              64 * 1024);

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void MbarrierInit(uint32_t barrier, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(barrier), "r"(count) : "memory");
}
__device__ __forceinline__ void MbarrierArrive(uint32_t barrier) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(barrier) : "memory");
}
// Arrives on `barrier` once this thread's earlier cp.async copies have landed (counts as one of
// the barrier's expected arrivals).
__device__ __forceinline__ void ArriveWhenCopiesLand(uint32_t barrier) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(barrier) : "memory");
}
// Waits for the completion of the barrier's phase of parity `parity` (a fresh barrier counts its
// phase "-1", parity 1, as complete).
__device__ __forceinline__ void MbarrierWait(uint32_t barrier, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred done;\nmbarrier.try_wait.parity.shared::cta.b64 done, [%1], %2;\nselp.u32 %0, 1, 0, done;\n}\n"
        : "=r"(done)
        : "r"(barrier), "r"(parity)
        : "memory");
  } while (done == 0);
}
template <int kRegisters>
__device__ __forceinline__ void ShrinkRegisters() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}
template <int kRegisters>
__device__ __forceinline__ void GrowRegisters() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}
__device__ __forceinline__ void ProducerBarrier() {
  asm volatile("bar.sync %0, %1;\n" ::"n"(kProducerBarrier), "n"(kWarpgroupThreads) : "memory");
}

// Turns at the tensor cores (FlashAttention-3's ping-pong): consumer warpgroup g issues its
// products only in its turn, named barrier kFirstTurnBarrier + g, then hands the turn to the other
// (arrives on the other's barrier). So one warpgroup's softmax runs while the other's products do.
constexpr int kFirstTurnBarrier = 2;
constexpr int kTurnThreads = kWsConsumerGroups * kWarpgroupThreads;
__device__ __forceinline__ void WaitForTurn(int group) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(kFirstTurnBarrier + group), "n"(kTurnThreads) : "memory");
}
__device__ __forceinline__ void PassTurn(int group) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(kFirstTurnBarrier + (group ^ 1)), "n"(kTurnThreads) : "memory");
}

// The pipeline's barriers: full / empty for each stage of K and V, and Q's (loaded once).
struct KvPipeline {
  uint64_t full_k[2], full_v[2], empty_k[2], empty_v[2], q_loaded;
};

// Use u (counted over all of the CTA's runs) of a buffer: its stage and the parity of its phase.
struct StageUse {
  int stage;
  uint32_t parity;
  __device__ __forceinline__ explicit StageUse(int u) : stage(u & 1), parity(static_cast<uint32_t>(u >> 1) & 1u) {}
};

// The producer's part of one run: tiles [lo, lo + count), uses numbered from `first_use`. Step j
// copies K[j] (j < count) and V[j - 1] (j >= 1), with the key offsets of tile j computed by its
// thread j's key into st.offset[j % 3] (read again at step j + 1 for V).
template <int kHeadDim, int kKeys, int kRows>
__device__ __forceinline__ void ProduceRun(const PagedAttentionParams& p, RowState<kRows, kKeys>& st,
                                           KvPipeline& pipe, KeyTiles tiles, int first_use, uint32_t s_k,
                                           uint32_t s_v, int kv_head, int ptid) {
  static_assert(kKeys == kWarpgroupThreads, "one key of a tile per producer thread");
  using KvLayout = AtomLayout<kKeys>;
  constexpr int kKvBytes = kKeys * kHeadDim * 2;
  constexpr int kUnroll = 4;
  const auto copy = [&](uint32_t buffers, uint64_t (&full)[2], uint64_t (&empty)[2], const __nv_bfloat16* cache,
                        int tile) {
    const StageUse use(first_use + tile);
    MbarrierWait(SharedAddress(&empty[use.stage]), use.parity ^ 1u);
    LoadKvTile<KvLayout, kHeadDim, kKeys, kWarpgroupThreads, kUnroll>(buffers + use.stage * kKvBytes,
                                                                      st.offset[tile % 3], cache, ptid);
    ArriveWhenCopiesLand(SharedAddress(&full[use.stage]));
  };
  for (int j = 0; j <= tiles.count; ++j) {
    if (j < tiles.count) st.offset[j % 3][ptid] = KeyOffset<kHeadDim>(p, st, (tiles.lo + j) * kKeys + ptid, kv_head);
    ProducerBarrier();  // tile j's offsets written; tile j - 3's (same slot) no longer read
    if (j < tiles.count) copy(s_k, pipe.full_k, pipe.empty_k, p.k_cache, j);
    if (j >= 1) copy(s_v, pipe.full_v, pipe.empty_v, p.v_cache, j - 1);
  }
}

// One consumer warp's release of a stage: once its warpgroup's products reading it are done.
__device__ __forceinline__ void ReleaseStage(uint64_t& empty, int lane) {
  __syncwarp();
  if (lane == 0) MbarrierArrive(SharedAddress(&empty));
}

// A stage the producer filled, made visible to wgmma (cp.async writes are generic-proxy writes).
__device__ __forceinline__ void AcquireStage(uint64_t& full, uint32_t parity) {
  MbarrierWait(SharedAddress(&full), parity);
  FenceProxyAsync();
}

template <int kHeadDim, int kKeysPerTile, typename Modifier>
__device__ __forceinline__ void WgmmaWsAttention(const PagedAttentionParams& p, float scale_log2) {
  using T = WgmmaTile<kHeadDim, kWsConsumerGroups, kKeysPerTile>;
  constexpr int kKeys = T::kKeys;
  static_assert(T::kSmemBytes <= kMaxSmemBytes);
  constexpr int kSTiles = kKeys / 8;     // n8 tiles of S
  constexpr int kOTiles = kHeadDim / 8;  // n8 tiles of O
  constexpr int kConsumerThreads = T::kThreads;
  using QLayout = AtomLayout<T::kRows>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ RowState<T::kRows, kKeys> st;
  __shared__ KvPipeline pipe;
  const auto [s_q, s_k, s_v] = BuffersOf<T>(smem_raw);
  const auto [tid, lane, warp, group, head, t0, rows, kv_head] = PlaceOf<T::kRows>(p);

  const ScoreContext<Modifier> sc = MakeScoreContext<Modifier>(p, head);
  LoadRows<kWsThreads>(p, sc.modifier, st, t0, rows, tid);
  if (tid == 0) {
    for (int stage = 0; stage < 2; ++stage) {
      MbarrierInit(SharedAddress(&pipe.full_k[stage]), kWarpgroupThreads);
      MbarrierInit(SharedAddress(&pipe.full_v[stage]), kWarpgroupThreads);
      MbarrierInit(SharedAddress(&pipe.empty_k[stage]), kConsumerThreads / kWarpSize);
      MbarrierInit(SharedAddress(&pipe.empty_v[stage]), kConsumerThreads / kWarpSize);
    }
    MbarrierInit(SharedAddress(&pipe.q_loaded), kWarpgroupThreads);
  }
  __syncthreads();  // row metadata and the barriers

  if (tid >= kConsumerThreads) {
    ShrinkRegisters<kProducerRegisters>();
    const int ptid = tid - kConsumerThreads;
    LoadQ<QLayout, kHeadDim, T::kRows, kWarpgroupThreads>(p, s_q, t0, rows, head, ptid);
    ArriveWhenCopiesLand(SharedAddress(&pipe.q_loaded));
    int uses = 0;
    for (int run_begin = 0; run_begin < rows;) {
      const KeyTiles tiles = FindRunTiles<kWsThreads>(st, run_begin, rows, tid);
      ProduceRun<kHeadDim>(p, st, pipe, tiles, uses, s_k, s_v, kv_head, ptid);
      uses += tiles.count;
      run_begin = st.run[kRunEnd];
      __syncthreads();  // run bounds are rewritten by the next run
    }
    WaitAsync<0>();  // no copy outlives its thread
    return;
  }
  GrowRegisters<kConsumerRegisters>();
  if (group == 0) PassTurn(1);  // warpgroup 0 takes the first turn: its barrier gets the other half
  AcquireStage(pipe.q_loaded, 0);

  const int t = lane % 4;
  const int r_lane = warp * 16 + lane / 4;  // = 64 group + 16 (warp % 4) + g
  const uint32_t q_group = s_q + static_cast<uint32_t>(group * kWgmmaRows * kLineBytes);

  int uses = 0;
  for (int run_begin = 0; run_begin < rows;) {
    const auto [tile_lo, num_kv_tiles] = FindRunTiles<kWsThreads>(st, run_begin, rows, tid);
    float o[kOTiles][4];
    float row_max[2] = {-INFINITY, -INFINITY};
    float row_sum[2] = {0.0f, 0.0f};  // this lane's partial sums; the quad's lanes are added at the end
    float correction[2];
#pragma unroll
    for (int j = 0; j < kOTiles; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) o[j][e] = 0.0f;
    }
    uint32_t a[kKeys / 16][4];  // P of the previous tile

    // Tile 0.
    {
      const StageUse k_use(uses);
      AcquireStage(pipe.full_k[k_use.stage], k_use.parity);
      float s[kSTiles][4];
      WaitForTurn(group);
      WgmmaFence();
      IssueQk<kHeadDim, kKeys, T::kRows>(s, q_group, s_k + k_use.stage * T::kKvBytes);
      PassTurn(group);
      WgmmaWait<0>();
      FenceRegisters(s);
      ReleaseStage(pipe.empty_k[k_use.stage], lane);
      const int k0 = tile_lo * kKeys;
      SoftmaxStep(s, row_max, row_sum, correction, TileNeedsMask<kKeys>(st, k0), k0, r_lane, t, st, scale_log2, sc);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) PackP(s, kk, a[kk]);
    }

    // O is rescaled by tile i - 1's correction while S = Q K[i]^T runs, just before O += P V[i - 1].
    for (int it = 1; it < num_kv_tiles; ++it) {
      const StageUse k_use(uses + it), v_use(uses + it - 1);
      const int k0 = (tile_lo + it) * kKeys;
      AcquireStage(pipe.full_k[k_use.stage], k_use.parity);
      float s[kSTiles][4];
      WaitForTurn(group);
      WgmmaFence();
      IssueQk<kHeadDim, kKeys, T::kRows>(s, q_group, s_k + k_use.stage * T::kKvBytes);
      Rescale(o, correction);
      AcquireStage(pipe.full_v[v_use.stage], v_use.parity);
      WgmmaFence();
      FenceRegisters(o);
      IssuePv<kHeadDim, kKeys>(o, a, s_v + v_use.stage * T::kKvBytes);
      PassTurn(group);
      WgmmaWait<1>();  // S landed; O += P V may still run
      FenceRegisters(s);
      ReleaseStage(pipe.empty_k[k_use.stage], lane);
      SoftmaxStep(s, row_max, row_sum, correction, TileNeedsMask<kKeys>(st, k0), k0, r_lane, t, st, scale_log2, sc);
      WgmmaWait<0>();
      FenceRegisters(o);
      ReleaseStage(pipe.empty_v[v_use.stage], lane);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) PackP(s, kk, a[kk]);
    }

    // O += P V of the last tile.
    const StageUse v_use(uses + num_kv_tiles - 1);
    AcquireStage(pipe.full_v[v_use.stage], v_use.parity);
    Rescale(o, correction);
    WaitForTurn(group);
    WgmmaFence();
    FenceRegisters(o);
    IssuePv<kHeadDim, kKeys>(o, a, s_v + v_use.stage * T::kKvBytes);
    PassTurn(group);
    WgmmaWait<0>();
    FenceRegisters(o);
    ReleaseStage(pipe.empty_v[v_use.stage], lane);

    WriteRows<kHeadDim>(p, o, row_sum, t0, r_lane, head, t, st);
    uses += num_kv_tiles;
    run_begin = st.run[kRunEnd];
    __syncthreads();  // run bounds are rewritten by the next run
  }
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace
}  // namespace specd::kernels
