// Tensor-core paged attention for prefill-shaped batches (contract in paged_attention_mma.h).
// FlashAttention-2 style: bf16 operands, fp32 accumulation, online softmax in registers (exp2,
// scale folded in). Two matrix paths share everything else:
//   wgmma (sm_90a, the default): one warpgroup per 64 query rows, two per CTA; S = Q K^T with
//     wgmma.m64n64k16 (Q and K from shared memory), O += P V with wgmma.m64n{64,128}k16 (P from
//     registers, V from shared memory), the softmax of one key tile overlapping O += P V of the
//     one before.
//   mma.sync (any sm_90): warps of 16 * kMTiles rows, mma.m16n8k16 fed by ldmatrix. It is also
//     what the wgmma kernels run when the plain sm_90 image is the one loaded.
// Called on the engine thread's stream; stateless.
//
// Work split. 2-D grid: x = query head (fastest, so the CTAs of one row tile run together and
// share K/V through L2), y = row tile, heaviest first (tile = gridDim.y - 1 - blockIdx.y: in a
// batch of prompt chunks the last tiles of a sequence have the longest key ranges).
//
//   batch rows:  |seq 0 ......................|seq 1 .........|seq 2 ......................
//   row tiles:   |--- tile 0 ---|--- tile 1 ---|--- tile 2 ---|--- tile 3 ---|--- tile 4 -
//   runs:         run 0          run 0          r0   | r1     | r0          ...
//
// A CTA owns kRows consecutive batch rows. It loads their Q once, then for each run (maximal
// block of rows of one sequence) streams that sequence's keys [min first, max pos] in tiles of
// kKeys = 64 (tiles aligned to multiples of 64 positions):
//
//   keys:   0        64       128      192      256
//           |--------|--------|--------|--------|--
//   run:         first_min ..................... pos_max
//   tiles:  [  t0    ][  t1   ][  t2   ][  t3   ]      t0 and t3 need masks, t1 and t2 none
//
// A tile needs the per-row mask (key > pos or key < first: -inf) only when its last key is past
// the run's smallest position or its first key is before the run's largest window start; keys
// outside [min first, max pos] are zero-filled in shared memory (never read from the cache).
// Rows of other runs in the tile are computed and dropped.
//
// K and V tiles are double-buffered and filled with cp.async 16-byte copies (rows gathered through
// the block table; each key's cache offset is looked up two tiles ahead and kept in shared
// memory). The mma.sync pipeline per key tile:
//   wait K[i]; barrier; issue K[i+1]       | S = Q K[i]^T
//   mask (diagonal / window tiles), online softmax
//   wait V[i]; barrier; issue V[i+1]       | O += P V[i]
// The wgmma pipeline is described at WgmmaAttention; there cp.async writes reach the tensor
// cores' async proxy through fence.proxy.async before the barrier.
//
// Shared-memory tiles are swizzled in 16-byte chunks, chunk ^= row % 8 within each 128-byte
// line, so ldmatrix, wgmma and the cp.async writes are conflict-free:
//   mma.sync: [row][head_dim] (rows of 128 or 256 bytes). Buffers are 1024-byte aligned, so a
//     lane's ldmatrix address for chunk 2 * step + c (c = 0 or 1, fixed per lane) is its address
//     for chunk c XOR (step << 5): one LOP per ldmatrix.
//   wgmma: [head_dim / 64][row][64] (128-byte lines, 1024-byte 8-row atoms), the canonical
//     128-byte-swizzle layout: K-major for Q and K, MN-major (transposed B) for V.
#include "kernels/paged_attention_mma.h"

#include <climits>
#include <cstdint>

#include <cuda_bf16.h>

namespace specd::kernels {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpgroupThreads = 128;
constexpr int kWgmmaRows = 64;        // query rows per warpgroup
constexpr int kKeys = 64;             // keys per KV tile
constexpr int kChunkElements = 8;     // bf16 per 16-byte chunk
constexpr int kChunkBytes = 16;
constexpr int kSmemAlign = 1024;      // the swizzle XORs address bits 4..6 with 7..9
constexpr int kMaxGridY = 65535;
constexpr int kMaxSmemBytes = 227 * 1024;  // dynamic shared memory a Hopper CTA may opt into
constexpr float kLog2E = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

// Run bounds in shared memory (RowState::run).
enum RunField { kRunEnd, kMinPos, kMaxPos, kMinFirst, kMaxFirst, kRunBegin, kRunFields };

// Per-CTA row metadata and key offsets, in static shared memory.
template <int kRows>
struct RowState {
  int64_t offset[3][kKeys];  // cache element offset of upcoming tiles' keys (kv head 0), -1: zeros
  int pos[kRows];            // -1 past the batch
  int first[kRows];          // window start, INT_MAX past the batch
  int seq[kRows];            // -1 past the batch
  int run[kRunFields];
};

// Swizzled layouts: byte offset of 16-byte chunk c of row r.
template <int kRowBytes>
struct RowMajorLayout {  // [row][kRowBytes]
  __device__ __forceinline__ static uint32_t Offset(int r, int c) {
    return static_cast<uint32_t>(r * kRowBytes + ((c ^ (r & 7)) * kChunkBytes));
  }
};
template <int kRows>
struct AtomLayout {  // [chunk / 8][row][8 chunks]: 128-byte lines
  static constexpr int kLine = 8 * kChunkBytes;
  __device__ __forceinline__ static uint32_t Offset(int r, int c) {
    return static_cast<uint32_t>((c / 8) * (kRows * kLine) + r * kLine + (((c % 8) ^ (r & 7)) * kChunkBytes));
  }
};

__device__ __forceinline__ uint32_t SharedAddress(const void* pointer) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
}

// 16-byte async copy; src_bytes 0 writes zeros (and reads nothing).
__device__ __forceinline__ void CopyAsync16(uint32_t dst, const void* src, bool valid) {
  const int src_bytes = valid ? kChunkBytes : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void CommitAsync() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void WaitAsync() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

__device__ __forceinline__ void LoadMatrixX4(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
__device__ __forceinline__ void LoadMatrixX4Trans(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// d += a * b, m16n8k16, bf16 inputs, fp32 accumulators.
__device__ __forceinline__ void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A value the compiler cannot see through, so that it does not hoist what is derived from it.
__device__ __forceinline__ uint32_t Opaque(uint32_t x) {
  asm volatile("mov.b32 %0, %0;\n" : "+r"(x));
  return x;
}

__device__ __forceinline__ float Exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t PackBF16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);  // .x (low half) = lo
  return *reinterpret_cast<const uint32_t*>(&v);
}

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
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// Row metadata of the CTA's rows [t0, t0 + rows) (rows past the batch: never attended, never
// written).
template <int kRows, int kThreads>
__device__ __forceinline__ void LoadRows(const PagedAttentionParams& p, RowState<kRows>& st, int t0, int rows, int tid) {
  for (int r = tid; r < kRows; r += kThreads) {
    int seq = -1, pos = -1, first = INT_MAX;
    if (r < rows) {
      seq = p.token_seq[t0 + r];
      pos = p.positions[t0 + r];
      first = p.sliding_window > 0 ? max(0, pos - p.sliding_window + 1) : 0;
    }
    st.seq[r] = seq;
    st.pos[r] = pos;
    st.first[r] = first;
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

// The run starting at row `begin`: rows [begin, end) of one sequence and their position bounds,
// into st.run. Three barriers; the caller reads st.run after them.
template <int kRows, int kThreads>
__device__ __forceinline__ void FindRun(RowState<kRows>& st, int begin, int rows, int tid) {
  const int seq = st.seq[begin];
  if (tid == 0) {
    st.run[kRunEnd] = rows;
    st.run[kMinPos] = INT_MAX;
    st.run[kMaxPos] = -1;
    st.run[kMinFirst] = INT_MAX;
    st.run[kMaxFirst] = -1;
    st.run[kRunBegin] = begin;
  }
  __syncthreads();
  for (int r = begin + 1 + tid; r < rows; r += kThreads) {
    if (st.seq[r] != seq) atomicMin(&st.run[kRunEnd], r);
  }
  __syncthreads();
  for (int r = begin + tid; r < st.run[kRunEnd]; r += kThreads) {
    atomicMin(&st.run[kMinPos], st.pos[r]);
    atomicMax(&st.run[kMaxPos], st.pos[r]);
    atomicMin(&st.run[kMinFirst], st.first[r]);
    atomicMax(&st.run[kMaxFirst], st.first[r]);
  }
  __syncthreads();
}

// Cache element offset of the run's key (KV head 0), or -1 outside [min first, max pos].
template <int kHeadDim, int kRows>
__device__ __forceinline__ int64_t KeyOffset(const PagedAttentionParams& p, const RowState<kRows>& st, int key) {
  if (key < st.run[kMinFirst] || key > st.run[kMaxPos]) return -1;
  const int seq = st.seq[st.run[kRunBegin]];
  const int block = p.block_tables[static_cast<int64_t>(seq) * p.max_blocks_per_seq + key / p.block_size];
  return (static_cast<int64_t>(block) * p.block_size + key % p.block_size) * p.num_kv_heads * kHeadDim;
}

// The 1024-byte aligned start of dynamic shared memory (the swizzle XORs address bits 4..6 with 7..9).
__device__ __forceinline__ uint32_t AlignedSharedBase(const void* smem_raw) {
  return (SharedAddress(smem_raw) + kSmemAlign - 1) & ~static_cast<uint32_t>(kSmemAlign - 1);
}

// The key tiles [lo, lo + count) of the run starting at row `begin` (FindRun), with the key
// offsets of tiles lo and lo + 1 in st.offset[0] and [1] (-1 past the run). Ends with a barrier.
struct KeyTiles {
  int lo;
  int count;
};
template <int kHeadDim, int kRows, int kThreads>
__device__ __forceinline__ KeyTiles StartRun(const PagedAttentionParams& p, RowState<kRows>& st, int begin, int rows,
                                             int tid) {
  FindRun<kRows, kThreads>(st, begin, rows, tid);
  const int tile_lo = st.run[kMinFirst] / kKeys;
  const int num_kv_tiles = st.run[kMaxPos] / kKeys - tile_lo + 1;
  if (tid < kKeys) {
    st.offset[0][tid] = KeyOffset<kHeadDim>(p, st, tile_lo * kKeys + tid);
    st.offset[1][tid] = num_kv_tiles > 1 ? KeyOffset<kHeadDim>(p, st, (tile_lo + 1) * kKeys + tid) : -1;
  }
  __syncthreads();
  return {tile_lo, num_kv_tiles};
}

// Copies kKeys rows (one K or V tile) into a swizzled buffer; offset < 0 rows become zeros.
template <typename Layout, int kHeadDim, int kThreads>
__device__ __forceinline__ void LoadKvTile(uint32_t dst, const int64_t* offsets, const __nv_bfloat16* cache,
                                           int kv_head, int tid) {
  constexpr int kChunksPerRow = kHeadDim / kChunkElements;
  constexpr int kRowsPerPass = kThreads / kChunksPerRow;
  static_assert(kThreads % kChunksPerRow == 0 && kKeys % kRowsPerPass == 0 && kRowsPerPass % 8 == 0);
  const int c = tid % kChunksPerRow;
  const int r0 = tid / kChunksPerRow;
  const __nv_bfloat16* const base = cache + kv_head * kHeadDim + c * kChunkElements;
  const uint32_t dst0 = dst + Layout::Offset(r0, c);  // rows r0 + i * kRowsPerPass share r0 % 8
#pragma unroll
  for (int i = 0; i < kKeys / kRowsPerPass; ++i) {
    const int64_t offset = offsets[r0 + i * kRowsPerPass];
    CopyAsync16(dst0 + (Layout::Offset(r0 + i * kRowsPerPass, c) - Layout::Offset(r0, c)), base + max(offset, int64_t{0}),
                offset >= 0);
  }
}

// One m16 slice of a tile: mask (when needed), online softmax statistics, P overwrites S; returns
// the factor O must be scaled by (rows r0 and r0 + 8 of the CTA, the lane's accumulator rows;
// keys k0 + 8 j + 2 t + {0, 1}).
template <int kSTiles, int kRows>
__device__ __forceinline__ void SoftmaxStep(float (&s)[kSTiles][4], float (&row_max)[2], float (&row_sum)[2],
                                            float (&correction)[2], bool mask, int k0, int r0, int t,
                                            const RowState<kRows>& st, float scale_log2) {
  if (mask) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int pos = st.pos[r0 + 8 * h];
      const int first = st.first[r0 + 8 * h];
#pragma unroll
      for (int j = 0; j < kSTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int key = k0 + j * 8 + 2 * t + e;
          if (key > pos || key < first) s[j][2 * h + e] = -INFINITY;
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

template <int kSTiles, int kOTiles, int kRows>
__device__ __forceinline__ void Softmax(float (&s)[kSTiles][4], float (&o)[kOTiles][4], float (&row_max)[2],
                                        float (&row_sum)[2], bool mask, int k0, int r0, int t,
                                        const RowState<kRows>& st, float scale_log2) {
  float correction[2];
  SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r0, t, st, scale_log2);
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
template <int kHeadDim, int kOTiles, int kRows>
__device__ __forceinline__ void WriteRows(const PagedAttentionParams& p, const float (&o)[kOTiles][4],
                                          const float (&row_sum)[2], int t0, int r0, int head, int t,
                                          const RowState<kRows>& st) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = row_sum[h];
    l += __shfl_xor_sync(kFullMask, l, 1);
    l += __shfl_xor_sync(kFullMask, l, 2);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const int r = r0 + 8 * h;
    if (r >= st.run[kRunBegin] && r < st.run[kRunEnd]) {
      __nv_bfloat16* dst = p.out + (static_cast<int64_t>(t0 + r) * p.num_heads + head) * kHeadDim + 2 * t;
#pragma unroll
      for (int j = 0; j < kOTiles; ++j) {
        *reinterpret_cast<__nv_bfloat162*>(dst + j * 8) =
            __floats2bfloat162_rn(o[j][2 * h] * inv, o[j][2 * h + 1] * inv);
      }
    }
  }
}

template <int kHeadDim, int kWarps, int kMTiles>
struct MmaSyncTile {
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

template <int kHeadDim, int kGroups>
struct WgmmaTile {
  static constexpr int kThreads = kGroups * kWarpgroupThreads;
  static constexpr int kRows = kGroups * kWgmmaRows;
  static constexpr int kQBytes = kRows * kHeadDim * 2;
  static constexpr int kKvBytes = kKeys * kHeadDim * 2;
  static constexpr int kSmemBytes = kSmemAlign + kQBytes + 4 * kKvBytes;  // Q | K[2] | V[2]
};

// The mma.sync path: warp w owns rows [w * 16 * kMTiles, (w + 1) * 16 * kMTiles).
template <int kHeadDim, int kWarps, int kMTiles>
__device__ __forceinline__ void MmaSyncAttention(const PagedAttentionParams& p, float scale_log2) {
  using T = MmaSyncTile<kHeadDim, kWarps, kMTiles>;
  static_assert(T::kSmemBytes <= kMaxSmemBytes);
  using Layout = RowMajorLayout<T::kRowBytes>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ RowState<T::kRows> st;
  const uint32_t s_q = AlignedSharedBase(smem_raw);
  const uint32_t s_k = s_q + T::kQBytes;       // [2][kKeys][kHeadDim]
  const uint32_t s_v = s_k + 2 * T::kKvBytes;  // [2][kKeys][kHeadDim]

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const int head = static_cast<int>(blockIdx.x);
  const int t0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * T::kRows;
  const int rows = min(T::kRows, p.num_tokens - t0);
  const int kv_head = head / (p.num_heads / p.num_kv_heads);

  LoadRows<T::kRows, T::kThreads>(p, st, t0, rows, tid);
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
    const auto [tile_lo, num_kv_tiles] = StartRun<kHeadDim, T::kRows, T::kThreads>(p, st, run_begin, rows, tid);
    LoadKvTile<Layout, kHeadDim, T::kThreads>(s_k, st.offset[0], p.k_cache, kv_head, tid);
    CommitAsync();
    LoadKvTile<Layout, kHeadDim, T::kThreads>(s_v, st.offset[0], p.v_cache, kv_head, tid);
    CommitAsync();

    float o[kMTiles][T::kOTiles][4];
    float row_max[kMTiles][2];
    float row_sum[kMTiles][2];  // this lane's partial sums; the quad's lanes are added at the end
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
      for (int j = 0; j < T::kOTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) o[mt][j][e] = 0.0f;
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        row_max[mt][h] = -INFINITY;
        row_sum[mt][h] = 0.0f;
      }
    }

    for (int it = 0; it < num_kv_tiles; ++it) {
      const int buf = it & 1;
      const int k0 = (tile_lo + it) * kKeys;
      WaitAsync<1>();  // K[it] (and Q) landed; V[it] may be in flight
      __syncthreads();
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<Layout, kHeadDim, T::kThreads>(s_k + (buf ^ 1) * T::kKvBytes, st.offset[buf ^ 1], p.k_cache, kv_head, tid);
      }
      CommitAsync();
      // Offsets of tile it + 2, stored after QK (the block-table load's latency hides behind it).
      int64_t next_offset = -1;
      if (tid < kKeys && it + 2 < num_kv_tiles) next_offset = KeyOffset<kHeadDim>(p, st, k0 + 2 * kKeys + tid);

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

      const bool mask = k0 + kKeys - 1 > st.run[kMinPos] || k0 < st.run[kMaxFirst];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        Softmax(s[mt], o[mt], row_max[mt], row_sum[mt], mask, k0, r_lane + mt * 16, t, st, scale_log2);
      }

      WaitAsync<1>();  // V[it] landed; K[it + 1] may be in flight
      __syncthreads();
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<Layout, kHeadDim, T::kThreads>(s_v + (buf ^ 1) * T::kKvBytes, st.offset[buf ^ 1], p.v_cache, kv_head, tid);
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
    for (int mt = 0; mt < kMTiles; ++mt) WriteRows<kHeadDim>(p, o[mt], row_sum[mt], t0, r_lane + mt * 16, head, t, st);
    run_begin = st.run[kRunEnd];
    WaitAsync<0>();
    __syncthreads();  // buffers, offsets and run bounds are reused by the next run
  }
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// The wgmma path: warpgroup w owns rows [64 w, 64 w + 64); its warp v (of 4) holds rows
// 64 w + 16 v + {g, g + 8} of the accumulators, as mma.sync's m16 tiles. The softmax of tile i
// overlaps O += P V of tile i - 1 on the tensor cores (FlashAttention-3's intra-warpgroup
// overlap). Per tile i >= 1, one barrier:
//   wait K[i], V[i-1]; barrier                        (buffers: K[i % 2], V[i % 2];
//   S_i = Q K[i]^T; O += P_{i-1} V[i-1]; issue K[i+1], V[i]   key offsets of tile j in offset[j % 3])
//   wait S_i: mask, statistics, P_i = exp2(...)       | O += P_{i-1} V[i-1] still running
//   wait O; O *= correction_i
// and after the last tile O += P_{n-1} V[n-1].
template <int kHeadDim, int kGroups>
__device__ __forceinline__ void WgmmaAttention(const PagedAttentionParams& p, float scale_log2) {
  using T = WgmmaTile<kHeadDim, kGroups>;
  static_assert(T::kSmemBytes <= kMaxSmemBytes);
  constexpr int kSTiles = kKeys / 8;     // n8 tiles of S
  constexpr int kOTiles = kHeadDim / 8;  // n8 tiles of O
  using QLayout = AtomLayout<T::kRows>;
  using KvLayout = AtomLayout<kKeys>;
  extern __shared__ uint8_t smem_raw[];
  __shared__ RowState<T::kRows> st;
  const uint32_t s_q = AlignedSharedBase(smem_raw);
  const uint32_t s_k = s_q + T::kQBytes;       // [2][kHeadDim / 64][kKeys][64]
  const uint32_t s_v = s_k + 2 * T::kKvBytes;  // [2][kHeadDim / 64][kKeys][64]

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const int group = warp / 4;
  const int head = static_cast<int>(blockIdx.x);
  const int t0 = static_cast<int>(gridDim.y - 1 - blockIdx.y) * T::kRows;
  const int rows = min(T::kRows, p.num_tokens - t0);
  const int kv_head = head / (p.num_heads / p.num_kv_heads);

  LoadRows<T::kRows, T::kThreads>(p, st, t0, rows, tid);
  LoadQ<QLayout, kHeadDim, T::kRows, T::kThreads>(p, s_q, t0, rows, head, tid);
  CommitAsync();  // completed with the first K tile
  __syncthreads();

  const int t = lane % 4;
  const int r_lane = warp * 16 + lane / 4;  // = 64 group + 16 (warp % 4) + g
  const uint32_t q_group = s_q + static_cast<uint32_t>(group * kWgmmaRows * kLineBytes);
  // S = Q K[buf]^T, issued and committed (not waited for).
  const auto issue_qk = [&](float (&s)[kSTiles][4], int buf) {
    const uint32_t k_tile = s_k + buf * T::kKvBytes;
#pragma unroll
    for (int kk = 0; kk < kHeadDim / 16; ++kk) {
      // K-major, 128-byte swizzle: step kk is 32 bytes into 64-wide atom kk / 4; 8-row groups
      // 1024 bytes apart (stride); the leading offset is unused (16).
      const uint32_t step = static_cast<uint32_t>((kk % 4) * 32);
      const uint64_t desc_k = SmemDescriptor(k_tile + (kk / 4) * kKeys * kLineBytes + step, kChunkBytes, kAtomBytes);
      const uint64_t desc_q = SmemDescriptor(q_group + (kk / 4) * T::kRows * kLineBytes + step, kChunkBytes, kAtomBytes);
      WgmmaSS64(s, desc_q, desc_k, kk > 0 ? 1 : 0);
    }
    WgmmaCommit();
  };
  // O += P V[buf], issued and committed (not waited for).
  const auto issue_pv = [&](float (&o)[kOTiles][4], const uint32_t (&a)[kKeys / 16][4], int buf) {
    const uint32_t v_tile = s_v + buf * T::kKvBytes;
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const uint64_t desc_v = SmemDescriptor(v_tile + kk * 16 * kLineBytes, kKeys * kLineBytes, kAtomBytes);
      if constexpr (kHeadDim == 128) {
        WgmmaRS128(o, a[kk], desc_v);
      } else {
        WgmmaRS64(o, a[kk], desc_v);
      }
    }
    WgmmaCommit();
  };

  for (int run_begin = 0; run_begin < rows;) {
    const auto [tile_lo, num_kv_tiles] = StartRun<kHeadDim, T::kRows, T::kThreads>(p, st, run_begin, rows, tid);
    LoadKvTile<KvLayout, kHeadDim, T::kThreads>(s_k, st.offset[0], p.k_cache, kv_head, tid);
    CommitAsync();
    LoadKvTile<KvLayout, kHeadDim, T::kThreads>(s_v, st.offset[0], p.v_cache, kv_head, tid);
    if (num_kv_tiles > 1) {
      LoadKvTile<KvLayout, kHeadDim, T::kThreads>(s_k + T::kKvBytes, st.offset[1], p.k_cache, kv_head, tid);
    }
    CommitAsync();

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
      WaitAsync<1>();  // Q and K[0] landed
      FenceProxyAsync();
      __syncthreads();
      int64_t next_offset = -1;
      if (tid < kKeys && num_kv_tiles > 2) next_offset = KeyOffset<kHeadDim>(p, st, (tile_lo + 2) * kKeys + tid);
      float s[kSTiles][4];
      WgmmaFence();
      issue_qk(s, 0);
      WgmmaWait<0>();
      FenceRegisters(s);
      if (tid < kKeys) st.offset[2][tid] = next_offset;
      const int k0 = tile_lo * kKeys;
      const bool mask = k0 + kKeys - 1 > st.run[kMinPos] || k0 < st.run[kMaxFirst];
      SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r_lane, t, st, scale_log2);
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
      issue_qk(s, buf);
      issue_pv(o, a, buf ^ 1);
      // The copies into the buffers these products do not read run behind them.
      if (it + 1 < num_kv_tiles) {
        LoadKvTile<KvLayout, kHeadDim, T::kThreads>(s_k + (buf ^ 1) * T::kKvBytes, st.offset[(it + 1) % 3], p.k_cache,
                                                    kv_head, tid);
      }
      LoadKvTile<KvLayout, kHeadDim, T::kThreads>(s_v + buf * T::kKvBytes, st.offset[it % 3], p.v_cache, kv_head, tid);
      CommitAsync();
      int64_t next_offset = -1;
      if (tid < kKeys && it + 2 < num_kv_tiles) next_offset = KeyOffset<kHeadDim>(p, st, k0 + 2 * kKeys + tid);
      WgmmaWait<1>();  // S landed; O += P V may still run
      FenceRegisters(s);
      if (tid < kKeys) st.offset[(it + 2) % 3][tid] = next_offset;
      const bool mask = k0 + kKeys - 1 > st.run[kMinPos] || k0 < st.run[kMaxFirst];
      SoftmaxStep(s, row_max, row_sum, correction, mask, k0, r_lane, t, st, scale_log2);
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
    issue_pv(o, a, (num_kv_tiles - 1) & 1);
    WgmmaWait<0>();
    FenceRegisters(o);

    WriteRows<kHeadDim>(p, o, row_sum, t0, r_lane, head, t, st);
    run_begin = st.run[kRunEnd];
    __syncthreads();  // buffers, offsets and run bounds are reused by the next run
  }
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

template <int kHeadDim, int kWarps, int kMTiles, int kMinBlocks>
__global__ void __launch_bounds__(kWarps * kWarpSize, kMinBlocks)
    MmaSyncKernel(const PagedAttentionParams p, const float scale_log2) {
  MmaSyncAttention<kHeadDim, kWarps, kMTiles>(p, scale_log2);
}

// The plain sm_90 image has no wgmma: it runs the mma.sync path on the same rows and threads.
template <int kHeadDim, int kGroups, int kMinBlocks>
__global__ void __launch_bounds__(kGroups * kWarpgroupThreads, kMinBlocks)
    WgmmaKernel(const PagedAttentionParams p, const float scale_log2) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WgmmaAttention<kHeadDim, kGroups>(p, scale_log2);
#else
  MmaSyncAttention<kHeadDim, 4 * kGroups, 1>(p, scale_log2);
#endif
}

template <typename Kernel>
cudaError_t LaunchKernel(Kernel kernel, int threads, int rows, int smem_bytes, const PagedAttentionParams& p,
                         cudaStream_t stream) {
  cudaError_t error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
  if (error != cudaSuccess) return error;
  error = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
  if (error != cudaSuccess) return error;
  const int tiles = (p.num_tokens + rows - 1) / rows;
  if (tiles > kMaxGridY) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>(p.num_heads), static_cast<unsigned>(tiles));
  kernel<<<grid, threads, smem_bytes, stream>>>(p, p.scale * kLog2E);
  return cudaGetLastError();
}

template <int kHeadDim, int kWarps, int kMTiles, int kMinBlocks>
cudaError_t LaunchMmaSync(const PagedAttentionParams& p, cudaStream_t stream) {
  using T = MmaSyncTile<kHeadDim, kWarps, kMTiles>;
  return LaunchKernel(MmaSyncKernel<kHeadDim, kWarps, kMTiles, kMinBlocks>, T::kThreads, T::kRows, T::kSmemBytes, p,
                      stream);
}

template <int kHeadDim, int kGroups, int kMinBlocks>
cudaError_t LaunchWgmma(const PagedAttentionParams& p, cudaStream_t stream) {
  using T = WgmmaTile<kHeadDim, kGroups>;
  // The sm_90 fallback (MmaSyncAttention<kHeadDim, 4 * kGroups, 1>) has the same rows, threads
  // and tiles: Q | K[2] | V[2] of the same sizes.
  return LaunchKernel(WgmmaKernel<kHeadDim, kGroups, kMinBlocks>, T::kThreads, T::kRows, T::kSmemBytes, p, stream);
}

// Variant 0 is LaunchPagedAttentionMma's. Measured on an H200 (prefill 4 x 4096, 32 heads, head
// dim 128, block size 16; specd_bench_attention_mma): 320, 285 and 278 TFLOP/s (PyTorch's
// FlashAttention-2 326 on the same card). Tried and dropped: wgmma without the overlap (301 with
// 2 warpgroups, 271 with 1), Q held in registers for S = Q K^T (313, 284), mma.sync with 8 warps
// of 16 rows (257) or 4 warps of 16 rows (201).
template <int kHeadDim>
cudaError_t LaunchVariant(const PagedAttentionParams& p, int variant, cudaStream_t stream) {
  switch (variant) {
    case 0:
      return LaunchWgmma<kHeadDim, 2, 1>(p, stream);
    case 1:
      return LaunchWgmma<kHeadDim, 1, 2>(p, stream);
    case 2:
      return LaunchMmaSync<kHeadDim, 4, 2, 2>(p, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

constexpr const char* kVariantNames[] = {"wgmma, 128 rows: 2 warpgroups, 1 CTA/SM",
                                         "wgmma, 64 rows: 1 warpgroup, 2 CTAs/SM",
                                         "mma.sync, 128 rows: 4 warps x 32 rows, 2 CTAs/SM"};
constexpr int kNumVariants = sizeof(kVariantNames) / sizeof(kVariantNames[0]);

bool Aligned(const void* pointer, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(pointer) % bytes == 0; }

}  // namespace

int PagedAttentionMmaNumVariants() { return kNumVariants; }

const char* PagedAttentionMmaVariantName(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariantNames[variant] : "unknown";
}

cudaError_t LaunchPagedAttentionMmaVariant(const PagedAttentionParams& params, int variant, cudaStream_t stream) {
  if (params.num_heads <= 0 || params.num_kv_heads <= 0 || params.num_heads % params.num_kv_heads != 0 ||
      params.block_size <= 0 || params.num_tokens < 0 || variant < 0 || variant >= kNumVariants) {
    return cudaErrorInvalidValue;
  }
  if (params.head_dim != 64 && params.head_dim != 128) return cudaErrorInvalidValue;
  if (params.q_stride % kChunkElements != 0 || params.q_stride < params.num_heads * params.head_dim) {
    return cudaErrorInvalidValue;
  }
  if (params.num_tokens == 0) return cudaSuccess;
  if (!Aligned(params.q, kChunkBytes) || !Aligned(params.k_cache, kChunkBytes) ||
      !Aligned(params.v_cache, kChunkBytes) || !Aligned(params.out, sizeof(__nv_bfloat162))) {
    return cudaErrorInvalidValue;
  }
  switch (params.head_dim) {
    case 64:
      return LaunchVariant<64>(params, variant, stream);
    case 128:
      return LaunchVariant<128>(params, variant, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t LaunchPagedAttentionMma(const PagedAttentionParams& params, cudaStream_t stream) {
  return LaunchPagedAttentionMmaVariant(params, 0, stream);
}

}  // namespace specd::kernels
