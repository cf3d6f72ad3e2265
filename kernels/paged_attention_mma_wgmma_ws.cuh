// Tensor-core paged attention internals, part 5 of 5 (included by paged_attention_mma.cu only):
// the warp-specialized wgmma path (sm_90a). WgmmaAttention's math, but its 256 threads no longer
// copy K and V or wait at a CTA barrier per key tile: a third warpgroup, the producer, gathers the
// tiles through the block table with cp.async while the two consumer warpgroups only multiply and
// run the softmax (FlashAttention-3's warp specialization, with cp.async in place of TMA because
// the cache is paged in blocks of any size).
//
//   producer (warpgroup 2, 40 registers):  Q K0 K1 V0 K2 V1 K3 V2 ...   (the order consumers need)
//                                           | each copy signals full[stage] when it lands
//   consumers (warpgroups 0, 1, 232 each):  in its turn: S = Q K[i]^T; O *= correction; O += P V[i-1];
//                                           then the softmax of S while the other's turn runs;
//                                           release K[i] (empty) once S landed, V[i-1] once O did
//
// Two stages a buffer (K and V apart), each an mbarrier pair: full (the producer's 128 threads
// arrive as their copies complete: cp.async.mbarrier.arrive.noinc) and empty (each consumer warp
// arrives once its warpgroup's wgmma reading the stage is done). The CTA is persistent: it takes
// work items (row tile, head) in turn, each with its rows' metadata, runs and Q in one of two item
// buffers (a ready / free mbarrier pair each), so the producer loads the next item while the
// consumers finish this one. The two consumer warpgroups issue their products in alternate turns
// (WaitForTurn / PassTurn).
#pragma once

#include "kernels/paged_attention_mma_wgmma.cuh"

namespace specd::kernels {
namespace {

constexpr int kWsConsumerGroups = 2;
constexpr int kWsThreads = (kWsConsumerGroups + 1) * kWarpgroupThreads;
constexpr int kProducerBarrier = 1;  // named barrier of the producer warpgroup (0: __syncthreads)
// Registers a thread: what __launch_bounds__(kWsThreads, 1) gives each (168), then setmaxnreg.
// The consumers' increase waits for registers the producer's decrease frees: asking for more than
// that hangs the CTA. 232 is the least the consumers run without spilling; the producer, which
// also loads row metadata and finds runs, spills a few words at 40 (none at 48).
constexpr int kLaunchRegisters = 64 * 1024 / kWsThreads / 8 * 8;
constexpr int kProducerRegisters = 40;
constexpr int kConsumerRegisters = 232;
static_assert(kProducerRegisters * kWarpgroupThreads + kConsumerRegisters * kWsConsumerGroups * kWarpgroupThreads <=
              kLaunchRegisters * kWsThreads);

// Work item `item` of a launch of `items` = row tiles x heads: row tiles fastest, heaviest first
// (as CtaWorkOf orders one item per CTA).
__device__ __forceinline__ CtaWork WorkOfItem(int item, int tiles, int rows_per_item) {
  return {item / tiles, (tiles - 1 - item % tiles) * rows_per_item};
}

// The item CTA `cta` of `ctas` takes in round `round`: rounds of `ctas` items, in CTA order and
// reversed by turns (a snake), so that each CTA's items add up to about the same work whether the
// weights fall (heaviest first) or repeat (documents: round robin left every CTA one phase of
// their period, 20% slower).
__device__ __forceinline__ int SnakeItem(int round, int cta, int ctas) {
  return round * ctas + (round % 2 == 0 ? cta : ctas - 1 - cta);
}

// Calls take(item, use, buffer) for each of this CTA's work items in turn (SnakeItem order): the
// n-th it takes goes to item buffer n % 2, for that buffer's (n / 2)-th use. The producer and the
// consumers walk the same items.
template <typename Take>
__device__ __forceinline__ void ForEachItem(int items_total, Take&& take) {
  const int ctas = static_cast<int>(gridDim.x);
  for (int round = 0, n = 0; round * ctas < items_total; ++round) {
    const int item = SnakeItem(round, static_cast<int>(blockIdx.x), ctas);
    if (item >= items_total) continue;
    take(item, n >> 1, n & 1);
    ++n;
  }
}

// The dynamic shared memory: Q[2] (one per work-item buffer), then K[2] and V[2].
template <typename Tile>
struct WsBuffers {
  static constexpr int kSmemBytes = Tile::kSmemBytes + Tile::kQBytes;
};

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

// The pipeline's barriers: K and V stages (full / empty), and for each work-item buffer: ready (its
// rows, runs and Q are in: each producer thread arrives once after writing the rows and runs, once
// more as its Q copies land) and free (every consumer warp is done with it).
struct WsPipeline {
  uint64_t full_k[2], full_v[2], empty_k[2], empty_v[2], item_ready[2], item_free[2];
};

// One work item (a row tile of one query head) in shared memory: its rows' metadata and their runs
// (maximal blocks of one sequence's rows, FindItemRuns), written by the producer.
template <int kRows, int kKeys>
struct WorkItem {
  RowState<kRows, kKeys> st;     // st.run unused (runs below); st.offset the producer's key offsets
  int runs[kRows][kRunFields];   // run i: rows [kRunBegin, kRunEnd) and the span of their keys
  int num_runs;
  int warp_starts[kWarpgroupThreads / kWarpSize];  // FindItemRuns' scratch
};

// The item's runs from its rows (LoadRows done, and a producer barrier since), one producer
// thread a row: a run starts where the sequence changes; its key span from its rows' intervals, as
// FindRun gives it. Ends with a producer barrier.
template <int kRows, int kKeys>
__device__ __forceinline__ void FindItemRuns(WorkItem<kRows, kKeys>& w, int rows, int r) {
  static_assert(kRows == kWarpgroupThreads, "one row per producer thread");
  constexpr int kWarps = kWarpgroupThreads / kWarpSize;
  const int lane = r % kWarpSize, warp = r / kWarpSize;
  const bool starts = r < rows && (r == 0 || w.st.seq[r] != w.st.seq[r - 1]);
  const unsigned ballot = __ballot_sync(kFullMask, starts);
  if (lane == 0) w.warp_starts[warp] = __popc(ballot);
  ProducerBarrier();
  int before = 0, total = 0;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) {
    before += i < warp ? w.warp_starts[i] : 0;
    total += w.warp_starts[i];
  }
  const unsigned up_to_lane = lane == kWarpSize - 1 ? kFullMask : (2u << lane) - 1u;
  const int run = before + __popc(ballot & up_to_lane) - 1;  // the run holding row r (r < rows)
  if (starts) {
    int* bounds = w.runs[run];
    bounds[kRunBegin] = r;
    bounds[kRunEnd] = rows;
    bounds[kMinFirst] = INT_MAX;
    bounds[kMaxFirst] = -1;
    bounds[kMinLast] = INT_MAX;
    bounds[kMaxLast] = -1;
  }
  if (r == 0) w.num_runs = total;
  ProducerBarrier();
  if (r < rows) {
    int* bounds = w.runs[run];
    atomicMin(&bounds[kMinFirst], w.st.first[r]);
    atomicMax(&bounds[kMaxFirst], w.st.first[r]);
    atomicMin(&bounds[kMinLast], w.st.last[r]);
    atomicMax(&bounds[kMaxLast], w.st.last[r]);
    if (starts && run > 0) w.runs[run - 1][kRunEnd] = r;
  }
  ProducerBarrier();
}

// Use u (counted over all of the CTA's runs) of a buffer: its stage and the parity of its phase.
struct StageUse {
  int stage;
  uint32_t parity;
  __device__ __forceinline__ explicit StageUse(int u) : stage(u & 1), parity(static_cast<uint32_t>(u >> 1) & 1u) {}
};

// The key tiles of a run (its span: tiles outside it are masked for every row, never loaded).
__device__ __forceinline__ KeyTiles TilesOf(const int (&run)[kRunFields], int keys_per_tile) {
  const int lo = run[kMinFirst] / keys_per_tile;
  return {lo, run[kMaxLast] / keys_per_tile - lo + 1};
}

// The producer's part of one run: its tiles, uses numbered from `first_use`. Step j copies K[j]
// (j < count) and V[j - 1] (j >= 1), with the key offsets of tile j computed by its thread j's key
// into st.offset[j % 3] (read again at step j + 1 for V). Ends with a producer barrier (the next
// run rewrites the offsets).
template <int kHeadDim, int kKeys, int kRows>
__device__ __forceinline__ void ProduceRun(const PagedAttentionParams& p, RowState<kRows, kKeys>& st,
                                           const int (&run)[kRunFields], WsPipeline& pipe, int first_use,
                                           uint32_t s_k, uint32_t s_v, int kv_head, int ptid) {
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
  const KeyTiles tiles = TilesOf(run, kKeys);
  for (int j = 0; j <= tiles.count; ++j) {
    if (j < tiles.count) {
      st.offset[j % 3][ptid] = KeyOffset<kHeadDim>(p, st, run, (tiles.lo + j) * kKeys + ptid, kv_head);
    }
    ProducerBarrier();  // tile j's offsets written; tile j - 3's (same slot) no longer read
    if (j < tiles.count) copy(s_k, pipe.full_k, pipe.empty_k, p.k_cache, j);
    if (j >= 1) copy(s_v, pipe.full_v, pipe.empty_v, p.v_cache, j - 1);
  }
  ProducerBarrier();
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

// The producer warpgroup: for each of the CTA's work items, its rows and runs, Q, then every run's
// K and V tiles.
template <int kHeadDim, int kKeys, typename Tile, typename Modifier>
__device__ __forceinline__ void Produce(const PagedAttentionParams& p, WorkItem<Tile::kRows, kKeys> (&items)[2],
                                        WsPipeline& pipe, uint32_t s_q, uint32_t s_k, uint32_t s_v, int ptid) {
  using QLayout = AtomLayout<Tile::kRows>;
  const Modifier modifier(p.modifier, p.num_heads);
  const int tiles = (p.num_tokens + Tile::kRows - 1) / Tile::kRows;
  int uses = 0;
  ForEachItem(tiles * p.num_heads, [&](int item, int use, int b) {
    const auto [head, t0] = WorkOfItem(item, tiles, Tile::kRows);
    const int rows = min(Tile::kRows, p.num_tokens - t0);
    WorkItem<Tile::kRows, kKeys>& w = items[b];
    MbarrierWait(SharedAddress(&pipe.item_free[b]), (static_cast<uint32_t>(use) & 1u) ^ 1u);
    LoadRows<kWarpgroupThreads>(p, modifier, w.st, t0, rows, ptid);
    ProducerBarrier();
    FindItemRuns(w, rows, ptid);
    MbarrierArrive(SharedAddress(&pipe.item_ready[b]));
    LoadQ<QLayout, kHeadDim, Tile::kRows, kWarpgroupThreads>(p, s_q + b * Tile::kQBytes, t0, rows, head, ptid);
    ArriveWhenCopiesLand(SharedAddress(&pipe.item_ready[b]));
    const int kv_head = head / (p.num_heads / p.num_kv_heads);
    for (int i = 0; i < w.num_runs; ++i) {
      ProduceRun<kHeadDim>(p, w.st, w.runs[i], pipe, uses, s_k, s_v, kv_head, ptid);
      uses += TilesOf(w.runs[i], kKeys).count;
    }
  });
  WaitAsync<0>();  // no copy outlives its thread
}

// Persistent: a CTA takes work items blockIdx.x, + gridDim.x, ... (a grid of one CTA per item is
// the non-persistent case). The producer runs ahead into the next item (its rows, Q and first
// tiles) while the consumers finish the current one.
template <int kHeadDim, int kKeysPerTile, typename Modifier>
__device__ __forceinline__ void WgmmaWsAttention(const PagedAttentionParams& p, float scale_log2) {
  using T = WgmmaTile<kHeadDim, kWsConsumerGroups, kKeysPerTile>;
  constexpr int kKeys = T::kKeys;
  static_assert(WsBuffers<T>::kSmemBytes <= kMaxSmemBytes);
  constexpr int kSTiles = kKeys / 8;     // n8 tiles of S
  constexpr int kOTiles = kHeadDim / 8;  // n8 tiles of O
  constexpr int kConsumerThreads = T::kThreads;
  extern __shared__ uint8_t smem_raw[];
  __shared__ WorkItem<T::kRows, kKeys> items[2];
  __shared__ WsPipeline pipe;
  const uint32_t s_q = AlignedSharedBase(smem_raw);  // [2][kHeadDim / 64][kRows][64]
  const uint32_t s_k = s_q + 2 * T::kQBytes;         // [2][kHeadDim / 64][kKeys][64]
  const uint32_t s_v = s_k + 2 * T::kKvBytes;        // [2][kHeadDim / 64][kKeys][64]
  const int tid = static_cast<int>(threadIdx.x);
  if (tid == 0) {
    for (int stage = 0; stage < 2; ++stage) {
      MbarrierInit(SharedAddress(&pipe.full_k[stage]), kWarpgroupThreads);
      MbarrierInit(SharedAddress(&pipe.full_v[stage]), kWarpgroupThreads);
      MbarrierInit(SharedAddress(&pipe.empty_k[stage]), kConsumerThreads / kWarpSize);
      MbarrierInit(SharedAddress(&pipe.empty_v[stage]), kConsumerThreads / kWarpSize);
      MbarrierInit(SharedAddress(&pipe.item_ready[stage]), 2 * kWarpgroupThreads);
      MbarrierInit(SharedAddress(&pipe.item_free[stage]), kConsumerThreads / kWarpSize);
    }
  }
  __syncthreads();  // the barriers

  if (tid >= kConsumerThreads) {
    ShrinkRegisters<kProducerRegisters>();
    Produce<kHeadDim, kKeys, T, Modifier>(p, items, pipe, s_q, s_k, s_v, tid - kConsumerThreads);
    return;
  }
  GrowRegisters<kConsumerRegisters>();
  if (tid < kWarpgroupThreads) PassTurn(1);  // warpgroup 0 takes the first turn: its barrier gets the other half

  const int lane = tid % kWarpSize, warp = tid / kWarpSize, group = tid / kWarpgroupThreads;
  const int t = lane % 4;
  const int r_lane = warp * 16 + lane / 4;  // = 64 group + 16 (warp % 4) + g
  const int tiles = (p.num_tokens + T::kRows - 1) / T::kRows;
  int uses = 0;
  ForEachItem(tiles * p.num_heads, [&](int item, int use, int b) {
    const auto [head, t0] = WorkOfItem(item, tiles, T::kRows);
    const ScoreContext<Modifier> sc = MakeScoreContext<Modifier>(p, head);
    const WorkItem<T::kRows, kKeys>& w = items[b];
    AcquireStage(pipe.item_ready[b], static_cast<uint32_t>(use) & 1u);
    const uint32_t q_group = s_q + b * T::kQBytes + static_cast<uint32_t>(group * kWgmmaRows * kLineBytes);
    for (int i = 0; i < w.num_runs; ++i) {
      const int (&run)[kRunFields] = w.runs[i];
      const auto [tile_lo, num_kv_tiles] = TilesOf(run, kKeys);
      float o[kOTiles][4], row_max[2], row_sum[2], correction[2];
      ResetAccumulators(o, row_max, row_sum);
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
        SoftmaxStep(s, row_max, row_sum, correction, TileNeedsMask<kKeys>(run, k0), k0, r_lane, t, w.st, scale_log2,
                    sc);
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
        SoftmaxStep(s, row_max, row_sum, correction, TileNeedsMask<kKeys>(run, k0), k0, r_lane, t, w.st, scale_log2,
                    sc);
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

      WriteRows<kHeadDim>(p, o, row_sum, t0, r_lane, head, t, run);
      uses += num_kv_tiles;
    }
    ReleaseStage(pipe.item_free[b], lane);  // its rows, runs and Q may be rewritten
  });
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace
}  // namespace specd::kernels
