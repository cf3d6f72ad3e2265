// Tensor-core paged attention internals, part 4 of 5 (included by paged_attention_mma.cu only):
// the wgmma path (sm_90a): its tile shape, the wgmma PTX wrappers (descriptors, fences, the
// m64n64k16 / m64n{64,128}k16 instructions) and WgmmaAttention, with the softmax of one key tile
// overlapping O += P V of the one before.
#pragma once

#include "kernels/paged_attention_mma_common.cuh"

namespace specd::kernels {
namespace {

template <int kHeadDim, int kGroups, int kKeysPerTile>
struct WgmmaTile {
  static constexpr int kKeys = kKeysPerTile;
  static constexpr int kThreads = kGroups * kWarpgroupThreads;
  static constexpr int kRows = kGroups * kWgmmaRows;
  static constexpr int kQBytes = kRows * kHeadDim * 2;
  static constexpr int kKvBytes = kKeys * kHeadDim * 2;
  static constexpr int kSmemBytes = kSmemAlign + kQBytes + 4 * kKvBytes;  // Q | K[2] | V[2]
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// wgmma (sm_90a only).
constexpr int kLineBytes = 128;   // swizzle line: 8 chunks
constexpr int kAtomBytes = 1024;  // 8 swizzle lines
// Shared-memory matrix descriptor, 128-byte swizzle; byte offsets in 16-byte units.
__device__ __forceinline__ uint64_t SmemDescriptor(uint32_t address, uint32_t leading_bytes, uint32_t stride_bytes) {
  return static_cast<uint64_t>((address & 0x3FFFF) >> 4) | (static_cast<uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<uint64_t>(stride_bytes >> 4) << 32) | (uint64_t{1} << 62);
}
__device__ __forceinline__ void WgmmaFence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void WgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void WgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// Makes generic-proxy writes (cp.async) to shared memory visible to wgmma's async proxy.
__device__ __forceinline__ void FenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// Keeps the compiler from moving accesses of these registers across wgmma issue and wait.
template <int kTiles>
__device__ __forceinline__ void FenceRegisters(float (&d)[kTiles][4]) {
#pragma unroll
  for (int j = 0; j < kTiles; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[j][e])::"memory");
  }
}

// d (+)= A (shared, K-major) * B (shared, K-major), m64n64k16; d is overwritten when scale_d == 0.
__device__ __forceinline__ void WgmmaSS64(float (&d)[8][4], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}
// d (+)= A (shared, K-major) * B (shared, K-major), m64n128k16; d is overwritten when scale_d == 0.
__device__ __forceinline__ void WgmmaSS128(float (&d)[16][4], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}
// d += A (registers) * B (shared, MN-major), m64n64k16.
__device__ __forceinline__ void WgmmaRS64(float (&d)[8][4], const uint32_t (&a)[4], uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(1));
}
// d += A (registers) * B (shared, MN-major), m64n128k16.
__device__ __forceinline__ void WgmmaRS128(float (&d)[16][4], const uint32_t (&a)[4], uint64_t desc_b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(1));
}

// S (+)= Q K^T over a tile of kN keys, and O += P V with kN = head dim: the instruction of that width.
template <int kN>
__device__ __forceinline__ void WgmmaSS(float (&d)[kN / 8][4], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  static_assert(kN == 64 || kN == 128);
  if constexpr (kN == 128) {
    WgmmaSS128(d, desc_a, desc_b, scale_d);
  } else {
    WgmmaSS64(d, desc_a, desc_b, scale_d);
  }
}
template <int kN>
__device__ __forceinline__ void WgmmaRS(float (&d)[kN / 8][4], const uint32_t (&a)[4], uint64_t desc_b) {
  static_assert(kN == 64 || kN == 128);
  if constexpr (kN == 128) {
    WgmmaRS128(d, a, desc_b);
  } else {
    WgmmaRS64(d, a, desc_b);
  }
}

// S = Q K^T over one key tile, issued and committed (not waited for). q_group: the warpgroup's 64
// rows of a [kHeadDim / 64][kQRows][64] Q tile; k_tile: [kHeadDim / 64][kKeys][64].
template <int kHeadDim, int kKeys, int kQRows>
__device__ __forceinline__ void IssueQk(float (&s)[kKeys / 8][4], uint32_t q_group, uint32_t k_tile) {
#pragma unroll
  for (int kk = 0; kk < kHeadDim / 16; ++kk) {
    // K-major, 128-byte swizzle: step kk is 32 bytes into 64-wide atom kk / 4; 8-row groups
    // 1024 bytes apart (stride); the leading offset is unused (16).
    const uint32_t step = static_cast<uint32_t>((kk % 4) * 32);
    const uint64_t desc_k = SmemDescriptor(k_tile + (kk / 4) * kKeys * kLineBytes + step, kChunkBytes, kAtomBytes);
    const uint64_t desc_q = SmemDescriptor(q_group + (kk / 4) * kQRows * kLineBytes + step, kChunkBytes, kAtomBytes);
    WgmmaSS<kKeys>(s, desc_q, desc_k, kk > 0 ? 1 : 0);
  }
  WgmmaCommit();
}

// O += P V over one key tile (P: the warpgroup's registers; v_tile: [kHeadDim / 64][kKeys][64]),
// issued and committed (not waited for).
template <int kHeadDim, int kKeys>
__device__ __forceinline__ void IssuePv(float (&o)[kHeadDim / 8][4], const uint32_t (&a)[kKeys / 16][4],
                                        uint32_t v_tile) {
#pragma unroll
  for (int kk = 0; kk < kKeys / 16; ++kk) {
    const uint64_t desc_v = SmemDescriptor(v_tile + kk * 16 * kLineBytes, kKeys * kLineBytes, kAtomBytes);
    WgmmaRS<kHeadDim>(o, a[kk], desc_v);
  }
  WgmmaCommit();
}

// A wgmma CTA thread's place: lane, warp and warpgroup; the CTA's query head, first row and
// rows (CtaWorkOf); the KV head.
struct WgmmaPlace {
  int tid, lane, warp, group, head, t0, rows, kv_head;
};
template <int kRows>
__device__ __forceinline__ WgmmaPlace PlaceOf(const PagedAttentionParams& p) {
  const int tid = static_cast<int>(threadIdx.x);
  const auto [head, t0] = CtaWorkOf(kRows);
  return {tid, tid % kWarpSize, tid / kWarpSize, tid / kWarpgroupThreads, head, t0, min(kRows, p.num_tokens - t0),
          head / (p.num_heads / p.num_kv_heads)};
}

// A WgmmaTile's buffers in dynamic shared memory: Q [kHeadDim / 64][kRows][64], then K[2] and V[2],
// each [kHeadDim / 64][kKeys][64].
struct WgmmaBuffers {
  uint32_t q, k, v;
};
template <typename Tile>
__device__ __forceinline__ WgmmaBuffers BuffersOf(const void* smem_raw) {
  const uint32_t q = AlignedSharedBase(smem_raw);
  return {q, q + Tile::kQBytes, q + Tile::kQBytes + 2 * Tile::kKvBytes};
}

// The wgmma path: warpgroup w owns rows [64 w, 64 w + 64); its warp v (of 4) holds rows
// 64 w + 16 v + {g, g + 8} of the accumulators, as mma.sync's m16 tiles. The softmax of tile i
// overlaps O += P V of tile i - 1 on the tensor cores (FlashAttention-3's intra-warpgroup
// overlap). Per tile i >= 1, one barrier:
//   wait K[i], V[i-1]; barrier                        (buffers: K[i % 2], V[i % 2];
//   S_i = Q K[i]^T; O += P_{i-1} V[i-1]; issue K[i+1], V[i]   key offsets of tile j in offset[j % 3])
//   wait S_i: mask, statistics, P_i = exp2(...)       | O += P_{i-1} V[i-1] still running
//   wait O; O *= correction_i
// and after the last tile O += P_{n-1} V[n-1].
template <int kHeadDim, int kGroups, int kKeysPerTile, typename Modifier>
__device__ __forceinline__ void WgmmaAttention(const PagedAttentionParams& p, float scale_log2) {
  using T = WgmmaTile<kHeadDim, kGroups, kKeysPerTile>;
  constexpr int kKeys = T::kKeys;
  static_assert(T::kSmemBytes <= kMaxSmemBytes);
  constexpr int kSTiles = kKeys / 8;     // n8 tiles of S
  constexpr int kOTiles = kHeadDim / 8;  // n8 tiles of O
  using QLayout = AtomLayout<T::kRows>;
  using KvLayout = AtomLayout<kKeys>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ RowState<T::kRows, kKeys> st;
  const auto [s_q, s_k, s_v] = BuffersOf<T>(smem_raw);
  const auto [tid, lane, warp, group, head, t0, rows, kv_head] = PlaceOf<T::kRows>(p);

  const ScoreContext<Modifier> sc = MakeScoreContext<Modifier>(p, head);
  LoadRows<T::kThreads>(p, sc.modifier, st, t0, rows, tid);
  LoadQ<QLayout, kHeadDim, T::kRows, T::kThreads>(p, s_q, t0, rows, head, tid);
  CommitAsync();  // completed with the first K tile
  __syncthreads();

  const int t = lane % 4;
  const int r_lane = warp * 16 + lane / 4;  // = 64 group + 16 (warp % 4) + g
  const uint32_t q_group = s_q + static_cast<uint32_t>(group * kWgmmaRows * kLineBytes);
  for (int run_begin = 0; run_begin < rows;) {
    const auto [tile_lo, num_kv_tiles] = StartRun<kHeadDim, T::kThreads>(p, st, run_begin, rows, kv_head, tid);
    LoadKvTile<KvLayout, kHeadDim, kKeys, T::kThreads>(s_k, st.offset[0], p.k_cache, tid);
    CommitAsync();
    LoadKvTile<KvLayout, kHeadDim, kKeys, T::kThreads>(s_v, st.offset[0], p.v_cache, tid);
    if (num_kv_tiles > 1) {
      LoadKvTile<KvLayout, kHeadDim, kKeys, T::kThreads>(s_k + T::kKvBytes, st.offset[1], p.k_cache, tid);
    }
    CommitAsync();

    float o[kOTiles][4], row_max[2], row_sum[2], correction[2];
    ResetAccumulators(o, row_max, row_sum);
    uint32_t a[kKeys / 16][4];  // P of the previous tile

    // Tile 0.
    {
      WaitAsync<1>();  // Q and K[0] landed
      FenceProxyAsync();
      __syncthreads();
      int64_t next_offset = -1;
      if (tid < kKeys && num_kv_tiles > 2) {
        next_offset = KeyOffset<kHeadDim>(p, st, st.run, (tile_lo + 2) * kKeys + tid, kv_head);
      }
      float s[kSTiles][4];
      WgmmaFence();
      IssueQk<kHeadDim, kKeys, T::kRows>(s, q_group, s_k);
      WgmmaWait<0>();
      FenceRegisters(s);
      if (tid < kKeys) st.offset[2][tid] = next_offset;
      const int k0 = tile_lo * kKeys;
      const bool mask = TileNeedsMask<kKeys>(st.run, k0);
      SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r_lane, t, st, scale_log2, sc);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) PackP(s, kk, a[kk]);
    }

    for (int it = 1; it < num_kv_tiles; ++it) {
      const int buf = it & 1;
      const int k0 = (tile_lo + it) * kKeys;
      WaitAsync<0>();  // K[it] and V[it - 1] landed
      FenceProxyAsync();
      __syncthreads();  // also: every warp is done with K[it - 1] and V[it - 2]
      float s[kSTiles][4];
      WgmmaFence();
      FenceRegisters(o);
      IssueQk<kHeadDim, kKeys, T::kRows>(s, q_group, s_k + buf * T::kKvBytes);
      IssuePv<kHeadDim, kKeys>(o, a, s_v + (buf ^ 1) * T::kKvBytes);
      // The copies into the buffers these products do not read run behind them.
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<KvLayout, kHeadDim, kKeys, T::kThreads>(s_k + (buf ^ 1) * T::kKvBytes, st.offset[(it + 1) % 3],
                                                           p.k_cache, tid);
      }
      LoadKvTile<KvLayout, kHeadDim, kKeys, T::kThreads>(s_v + buf * T::kKvBytes, st.offset[it % 3], p.v_cache, tid);
      CommitAsync();
      int64_t next_offset = -1;
      if (tid < kKeys && it + 2 < num_kv_tiles) {
        next_offset = KeyOffset<kHeadDim>(p, st, st.run, k0 + 2 * kKeys + tid, kv_head);
      }
      WgmmaWait<1>();  // S landed; O += P V may still run
      FenceRegisters(s);
      if (tid < kKeys) st.offset[(it + 2) % 3][tid] = next_offset;
      const bool mask = TileNeedsMask<kKeys>(st.run, k0);
      SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r_lane, t, st, scale_log2, sc);
      WgmmaWait<0>();
      FenceRegisters(o);
      Rescale(o, correction);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) PackP(s, kk, a[kk]);
    }

    // O += P V of the last tile.
    WaitAsync<0>();
    FenceProxyAsync();
    __syncthreads();
    WgmmaFence();
    FenceRegisters(o);
    IssuePv<kHeadDim, kKeys>(o, a, s_v + ((num_kv_tiles - 1) & 1) * T::kKvBytes);
    WgmmaWait<0>();
    FenceRegisters(o);

    WriteRows<kHeadDim>(p, o, row_sum, t0, r_lane, head, t, st.run);
    run_begin = st.run[kRunEnd];
    __syncthreads();  // buffers, offsets and run bounds are reused by the next run
  }
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

}  // namespace
}  // namespace specd::kernels
