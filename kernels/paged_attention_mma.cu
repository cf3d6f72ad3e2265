// Tensor-core paged attention for prefill-shaped batches (contract in paged_attention_mma.h).
// FlashAttention-2 style: bf16 operands, fp32 accumulation, online softmax in registers (exp2,
// scale folded in). Two matrix paths share everything else:
//   wgmma (sm_90a, the default): one warpgroup per 64 query rows, two per CTA; S = Q K^T with
//     wgmma.m64n{64,128}k16 over key tiles of 64 or 128 (Q and K from shared memory), O += P V
//     with wgmma.m64n{64,128}k16 (P from registers, V from shared memory), the softmax of one key
//     tile overlapping O += P V of the one before. The default kernel is warp-specialized
//     (paged_attention_mma_wgmma_ws.cuh): a third warpgroup copies K and V, the two others only
//     compute, taking turns at the tensor cores.
//   mma.sync (any sm_90): warps of 16 * kMTiles rows, mma.m16n8k16 fed by ldmatrix. It is also
//     what the wgmma kernels run when the plain sm_90 image is the one loaded.
// Called on the engine thread's stream; stateless.
//
// Work split. A work item is (row tile, query head), ordered row tiles fastest, heaviest first (in
// a batch of prompt chunks the last tiles of a sequence have the longest key ranges), so the items
// running together are mostly one head's tiles, streaming the same K and V through L2. The default
// kernel is persistent: one CTA per SM takes items in a snake order (WorkOfItem, SnakeItem); the
// others run one CTA per item on a 2-D grid, x = row tile, y = head (CtaWorkOf).
//
//   batch rows:  |seq 0 ......................|seq 1 .........|seq 2 ......................
//   row tiles:   |--- tile 0 ---|--- tile 1 ---|--- tile 2 ---|--- tile 3 ---|--- tile 4 -
//   runs:         run 0          run 0          r0   | r1     | r0          ...
//
// A CTA owns kRows consecutive batch rows. It loads their Q once, then for each run (maximal
// block of rows of one sequence) streams that sequence's keys [min first, max pos] in tiles of
// kKeys (64 or 128; tiles aligned to multiples of kKeys positions; drawn for 64). Each row's
// visible keys are an interval [first, last] from the modifier (attention_modifier.h; causal:
// [0, pos]); the run's tiles are those meeting [min first, max last] (the rest is masked for
// every row: never loaded), each classified by ClassifyKeys:
//
//   keys:   0        64       128      192      256
//           |--------|--------|--------|--------|--
//   run:         first_min ..................... last_max
//   tiles:  [  t0    ][  t1   ][  t2   ][  t3   ]      t0 and t3 partial (masked per row),
//                                                       t1 and t2 visible to every row: no mask
//
// Partial tiles get the per-row mask (key outside [first, last]: -inf); keys outside
// [min first, max last] are zero-filled in shared memory (never read from the cache). The
// modifier's score transform (soft-capping, ALiBi), when it has one, runs on every tile before
// the mask. Rows of other runs in the tile are computed and dropped. Every kernel is a template
// over the modifier's functor, picked by a switch (DispatchAttentionModifier).
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
//
// Pieces: paged_attention_mma_primitives.cuh (constants, layouts, PTX wrappers),
// paged_attention_mma_common.cuh (what both paths share), paged_attention_mma_sync.cuh and
// paged_attention_mma_wgmma.cuh (the two paths), paged_attention_mma_wgmma_ws.cuh (the
// warp-specialized wgmma kernel, the default); this file holds the kernels and launchers.
#include "kernels/paged_attention_mma.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/multiprocessor_count.h"
#include "kernels/paged_attention_mma_sync.cuh"
#include "kernels/paged_attention_mma_wgmma.cuh"
#include "kernels/paged_attention_mma_wgmma_ws.cuh"

namespace specd::kernels {
namespace {

template <int kHeadDim, int kWarps, int kMTiles, int kKeys, int kMinBlocks, typename Modifier>
__global__ void __launch_bounds__(kWarps * kWarpSize, kMinBlocks)
    MmaSyncKernel(const PagedAttentionParams p, const float scale_log2) {
  MmaSyncAttention<kHeadDim, kWarps, kMTiles, kKeys, Modifier>(
      p, scale_log2, CtaWorkOf(MmaSyncTile<kHeadDim, kWarps, kMTiles, kKeys>::kRows));
}

// The plain sm_90 image has no wgmma: it runs the mma.sync path on the same rows and threads.
template <int kHeadDim, int kGroups, int kKeys, int kMinBlocks, typename Modifier>
__global__ void __launch_bounds__(kGroups * kWarpgroupThreads, kMinBlocks)
    WgmmaKernel(const PagedAttentionParams p, const float scale_log2) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WgmmaAttention<kHeadDim, kGroups, kKeys, Modifier>(p, scale_log2);
#else
  MmaSyncAttention<kHeadDim, 4 * kGroups, 1, kKeys, Modifier>(p, scale_log2,
                                                              CtaWorkOf(WgmmaTile<kHeadDim, kGroups, kKeys>::kRows));
#endif
}

// The warp-specialized path: 2 consumer warpgroups of 64 rows and a producer warpgroup, taking work
// items blockIdx.x, + gridDim.x, ... The plain sm_90 image runs the mma.sync path on the same items
// with the consumers' threads (the producer's exit at once).
template <int kHeadDim, int kKeys, typename Modifier>
__global__ void __launch_bounds__(kWsThreads, 1) WgmmaWsKernel(const PagedAttentionParams p, const float scale_log2) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  WgmmaWsAttention<kHeadDim, kKeys, Modifier>(p, scale_log2);
#else
  if (threadIdx.x >= kWsConsumerGroups * kWarpgroupThreads) return;
  constexpr int kRows = WgmmaTile<kHeadDim, kWsConsumerGroups, kKeys>::kRows;
  const int tiles = (p.num_tokens + kRows - 1) / kRows;
  for (int item = static_cast<int>(blockIdx.x); item < tiles * p.num_heads; item += static_cast<int>(gridDim.x)) {
    MmaSyncAttention<kHeadDim, 4 * kWsConsumerGroups, 1, kKeys, Modifier>(p, scale_log2,
                                                                         WorkOfItem(item, tiles, kRows));
  }
#endif
}

template <typename Kernel>
cudaError_t LaunchKernel(Kernel kernel, int threads, dim3 grid, int smem_bytes, const PagedAttentionParams& p,
                         cudaStream_t stream) {
  cudaError_t error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
  if (error != cudaSuccess) return error;
  error = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, cudaSharedmemCarveoutMaxShared);
  if (error != cudaSuccess) return error;
  kernel<<<grid, threads, smem_bytes, stream>>>(p, p.scale * kLog2E);
  return cudaGetLastError();
}

int RowTiles(const PagedAttentionParams& p, int rows) { return (p.num_tokens + rows - 1) / rows; }

// One CTA per (row tile, head) as CtaWorkOf reads it (y = head, at most kMaxGridY).
template <typename Kernel>
cudaError_t LaunchPerRowTile(Kernel kernel, int threads, int rows, int smem_bytes, const PagedAttentionParams& p,
                             cudaStream_t stream) {
  if (p.num_heads > kMaxGridY) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>(RowTiles(p, rows)), static_cast<unsigned>(p.num_heads));
  return LaunchKernel(kernel, threads, grid, smem_bytes, p, stream);
}

template <int kHeadDim, int kWarps, int kMTiles, int kKeys, int kMinBlocks, typename Modifier>
cudaError_t LaunchMmaSync(const PagedAttentionParams& p, cudaStream_t stream) {
  using T = MmaSyncTile<kHeadDim, kWarps, kMTiles, kKeys>;
  return LaunchPerRowTile(MmaSyncKernel<kHeadDim, kWarps, kMTiles, kKeys, kMinBlocks, Modifier>, T::kThreads, T::kRows,
                          T::kSmemBytes, p, stream);
}

template <int kHeadDim, int kGroups, int kKeys, int kMinBlocks, typename Modifier>
cudaError_t LaunchWgmma(const PagedAttentionParams& p, cudaStream_t stream) {
  using T = WgmmaTile<kHeadDim, kGroups, kKeys>;
  // The sm_90 fallback (MmaSyncAttention<kHeadDim, 4 * kGroups, 1, kKeys>) has the same rows,
  // threads and tiles: Q | K[2] | V[2] of the same sizes.
  static_assert(T::kSmemBytes == MmaSyncTile<kHeadDim, 4 * kGroups, 1, kKeys>::kSmemBytes);
  return LaunchPerRowTile(WgmmaKernel<kHeadDim, kGroups, kKeys, kMinBlocks, Modifier>, T::kThreads, T::kRows,
                          T::kSmemBytes, p, stream);
}

// persistent: one CTA per SM, each taking work items in turn; else one CTA per item.
template <int kHeadDim, int kKeys, typename Modifier>
cudaError_t LaunchWgmmaWs(const PagedAttentionParams& p, bool persistent, cudaStream_t stream) {
  using T = WgmmaTile<kHeadDim, kWsConsumerGroups, kKeys>;
  static_assert(WsBuffers<T>::kSmemBytes >= MmaSyncTile<kHeadDim, 4 * kWsConsumerGroups, 1, kKeys>::kSmemBytes);
  const int64_t items = static_cast<int64_t>(RowTiles(p, T::kRows)) * p.num_heads;
  if (items > INT_MAX) return cudaErrorInvalidValue;
  const int sms = CurrentMultiprocessorCount();
  if (persistent && sms <= 0) return cudaErrorInvalidDevice;
  const int64_t ctas = persistent ? std::min<int64_t>(items, sms) : items;
  return LaunchKernel(WgmmaWsKernel<kHeadDim, kKeys, Modifier>, kWsThreads, dim3(static_cast<unsigned>(ctas)),
                      WsBuffers<T>::kSmemBytes, p, stream);
}

// Variant 0 is LaunchPagedAttentionMma's. Variant 2 was, measured on an H200 (prefill 4 x 4096, 32
// heads, head dim 128, block size 16; specd_bench_attention): 380, 341-348, 318 and 284-287 TFLOP/s
// for variants 2-5 (PyTorch's FlashAttention-2 328 in the same call). The steps to variant 2:
// 64-key tiles 313, 128-key tiles 337, then K/V copies zero-filled by cp.async's ignore-src
// predicate (9 instructions a copy where the src-size operand took 21) 380. Tried and dropped
// (64-key tiles): wgmma without the overlap (301 with 2 warpgroups, 271 with 1), Q held in
// registers for S = Q K^T (313, 284), mma.sync with 8 warps of 16 rows (257) or 4 warps of 16
// rows (201). The steps from variant 2 to 0 on an H100 (specd_bench_attention --flex, each step
// against the one before in the same call, two runs; bench/README.md): warp specialization +5%
// causal, +20% soft-capping, within 2% elsewhere; row tiles fastest in the grid (L2 hit rate
// 61% -> 90%: bidirectional 414 -> 441); ALiBi's bias added key by key (343 -> 363); persistent
// CTAs taking work items in a snake order (variant 1 -> 0: documents of 1024 253 -> 285,
// sliding window 318 -> 340, causal 398 -> 414; in plain round robin documents fell to 214).
template <int kHeadDim, typename Modifier>
cudaError_t LaunchVariant(const PagedAttentionParams& p, int variant, cudaStream_t stream) {
  switch (variant) {
    case 0:
      return LaunchWgmmaWs<kHeadDim, 128, Modifier>(p, /*persistent=*/true, stream);
    case 1:
      return LaunchWgmmaWs<kHeadDim, 128, Modifier>(p, /*persistent=*/false, stream);
    case 2:
      return LaunchWgmma<kHeadDim, 2, 128, 1, Modifier>(p, stream);
    case 3:
      return LaunchWgmma<kHeadDim, 2, 64, 1, Modifier>(p, stream);
    case 4:
      return LaunchWgmma<kHeadDim, 1, 64, 2, Modifier>(p, stream);
    case 5:
      return LaunchMmaSync<kHeadDim, 4, 2, 64, 2, Modifier>(p, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

// The variant for one modifier's functor (DispatchAttentionModifier's pick).
template <typename Modifier>
cudaError_t LaunchVariant(const PagedAttentionParams& p, int variant, cudaStream_t stream) {
  switch (p.head_dim) {
    case 64:
      return LaunchVariant<64, Modifier>(p, variant, stream);
    case 128:
      return LaunchVariant<128, Modifier>(p, variant, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

constexpr const char* kVariantNames[] = {"wgmma warp-specialized, persistent, 128 rows x 128 keys: 2 consumer "
                                         "warpgroups + a cp.async producer, 1 CTA/SM",
                                         "wgmma warp-specialized, 128 rows x 128 keys, a CTA per row tile",
                                         "wgmma, 128 rows x 128 keys: 2 warpgroups, 1 CTA/SM",
                                         "wgmma, 128 rows x 64 keys: 2 warpgroups, 1 CTA/SM",
                                         "wgmma, 64 rows x 64 keys: 1 warpgroup, 2 CTAs/SM",
                                         "mma.sync, 128 rows x 64 keys: 4 warps x 32 rows, 2 CTAs/SM"};
constexpr int kNumVariants = sizeof(kVariantNames) / sizeof(kVariantNames[0]);

bool Aligned(const void* pointer, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(pointer) % bytes == 0; }

}  // namespace

int PagedAttentionMmaNumVariants() { return kNumVariants; }

const char* PagedAttentionMmaVariantName(int variant) {
  return variant >= 0 && variant < kNumVariants ? kVariantNames[variant] : "unknown";
}

cudaError_t LaunchPagedAttentionMmaVariant(const PagedAttentionParams& params, int variant, cudaStream_t stream) {
  if (params.num_heads <= 0 || params.num_kv_heads <= 0 || params.num_heads % params.num_kv_heads != 0 ||
      params.block_size <= 0 || params.num_tokens < 0 || variant < 0 || variant >= kNumVariants ||
      !ValidAttentionModifier(params.modifier) || !params.modifier.skip_masked_blocks) {
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
  return DispatchAttentionModifier(
      params.modifier, params.num_heads,
      [&](auto modifier) { return LaunchVariant<decltype(modifier)>(params, variant, stream); },
      [] { return cudaErrorInvalidValue; });
}

cudaError_t LaunchPagedAttentionMma(const PagedAttentionParams& params, cudaStream_t stream) {
  return LaunchPagedAttentionMmaVariant(params, 0, stream);
}

}  // namespace specd::kernels
