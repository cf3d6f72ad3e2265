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
//   [first, pos] is the token's key interval from its modifier (attention_modifier.h; [first,
//   last] in general: causal first = 0, with a sliding window max(0, pos - window + 1)), so a
//   window's decode reads the window's blocks only. Splits past the interval have no keys and
//   exit at once. A token whose whole range fits in split 0 is finished by that CTA.
//   With modifier.skip_masked_blocks off the range read is [0, last] (ReadKeys) and keys before
//   `first` are masked per element: a split or a warp may then see no visible key at all (its
//   max stays -inf, its sum 0, and it adds nothing when combined).
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
// longest possible key range, not the positions. Where the plan splits a short range over few CTAs
// (batch-1 decode), wide CTAs take it whole instead (UseWideCtas): kWideWarps warps, one CTA per
// (token, KV head, slice), its warps' tiles combined in shared memory as above, no merge kernel.
//
// Every kernel is a template over the modifier's functor; LaunchPagedAttention picks it with a
// switch (DispatchAttentionModifier). Causal and sliding window share one instantiation.
//
// Pieces: paged_attention_common.cuh (constants, Args, device helpers), paged_attention_kernel.cuh
// (the attention kernel), paged_attention_merge.cuh (the merge kernel); this file holds the split
// planner and the launchers.
#include "kernels/paged_attention.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>

#include "kernels/multiprocessor_count.h"
#include "kernels/paged_attention_kernel.cuh"
#include "kernels/paged_attention_merge.cuh"

namespace specd::kernels {
namespace {

// Split policy (host). The planner assumes every token may have the longest key range L and picks
// the split count S minimising  waves(S) * (keys per split + kCtaOverheadKeys),  waves = ceil(CTAs
// / resident CTAs): whole waves of equal CTAs. Splits hold at least MinSplitKeys(L) keys
// (multiples of kTileKeys), a split launch has at most kMaxSplitWaves waves, and a range longer
// than kMaxSplitKeys is split even where waves say otherwise (a long decode among short queries).
constexpr int kMinSplitKeys = 256;
constexpr int kShortRangeSplits = 32;
constexpr int kMaxSplitKeys = 4096;
constexpr int kCtaOverheadKeys = 64;  // a CTA's start (dependent index loads), in keys streamed
constexpr int kMaxSplitWaves = 8;
constexpr int64_t kMaxSplits = 1024;
constexpr size_t kMaxWorkspaceBytes = size_t{64} << 20;
constexpr int kMaxCachedDevices = 64;
constexpr int kFallbackSmCount = 132;

bool Aligned(const void* pointer, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(pointer) % bytes == 0; }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Query heads per CTA: the group rounded up to a power of two, at most kMaxHeadsPerCta.
int HeadsPerCta(int group) {
  int heads = 1;
  while (heads < group && heads < kMaxHeadsPerCta) heads *= 2;
  return heads;
}

int SmCount(int device) {
  const int count = MultiprocessorCount(device);
  return count > 0 ? count : kFallbackSmCount;  // plan for an H100
}

// Opts the attention kernel of kCtaWarps warps a CTA into its shared memory on `device` (once) and
// returns how many of its CTAs one SM holds.
template <int kHeadDim, int kHeads, int kCtaWarps, typename Modifier>
cudaError_t PrepareAttention(int device, int* ctas_per_sm) {
  static std::atomic<int> cached[kMaxCachedDevices] = {};
  const bool cacheable = device >= 0 && device < kMaxCachedDevices;
  if (cacheable) {
    *ctas_per_sm = cached[device].load(std::memory_order_relaxed);
    if (*ctas_per_sm > 0) return cudaSuccess;
  }
  constexpr size_t kSmem = SmemBytes<kHeadDim, kHeads, kCtaWarps>();
  const auto kernel = PagedAttentionKernel<kHeadDim, kHeads, kCtaWarps, Modifier>;
  cudaError_t error = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem));
  if (error == cudaSuccess) {
    error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(ctas_per_sm, kernel, kCtaWarps * kWarpSize, kSmem);
  }
  if (error != cudaSuccess) return error;
  if (*ctas_per_sm <= 0) return cudaErrorInvalidConfiguration;
  if (cacheable) cached[device].store(*ctas_per_sm, std::memory_order_relaxed);
  return cudaSuccess;
}

template <int kHeadDim, int kHeads, typename Modifier>
cudaError_t PrepareAttention(bool wide, int device, int* ctas_per_sm) {
  return wide ? PrepareAttention<kHeadDim, kHeads, kWideWarps<kHeadDim>, Modifier>(device, ctas_per_sm)
              : PrepareAttention<kHeadDim, kHeads, kWarps, Modifier>(device, ctas_per_sm);
}

template <typename Modifier>
cudaError_t PrepareAttention(int head_dim, int heads_per_cta, bool wide, int device, int* ctas_per_sm) {
  switch (head_dim * 16 + heads_per_cta) {
    case 64 * 16 + 1: return PrepareAttention<64, 1, Modifier>(wide, device, ctas_per_sm);
    case 64 * 16 + 2: return PrepareAttention<64, 2, Modifier>(wide, device, ctas_per_sm);
    case 64 * 16 + 4: return PrepareAttention<64, 4, Modifier>(wide, device, ctas_per_sm);
    case 64 * 16 + 8: return PrepareAttention<64, 8, Modifier>(wide, device, ctas_per_sm);
    case 128 * 16 + 1: return PrepareAttention<128, 1, Modifier>(wide, device, ctas_per_sm);
    case 128 * 16 + 2: return PrepareAttention<128, 2, Modifier>(wide, device, ctas_per_sm);
    case 128 * 16 + 4: return PrepareAttention<128, 4, Modifier>(wide, device, ctas_per_sm);
    case 128 * 16 + 8: return PrepareAttention<128, 8, Modifier>(wide, device, ctas_per_sm);
    default: return cudaErrorInvalidValue;
  }
}

size_t PartialBytes(int head_dim) { return (static_cast<size_t>(head_dim) + 2) * sizeof(float); }

// The shortest split for a longest key range of `keys`: kMinSplitKeys, but a range shorter than
// 8192 may take up to kShortRangeSplits splits, down to one tile for each warp. In batch-1 decode
// the kernel's latency is the cost (the GPU is otherwise idle), and each warp's tiles are a
// dependent chain. H100, same call: Llama-3.1-8B at 128 to 384 tokens of context (a range of
// 512) 5.59 / 5.63 ms a token with splits of 64 keys against 5.68 / 5.69 with 256; at 1024 (a
// range of 2048) 5.642 / 5.614 with up to 32 splits against 5.721 / 5.716 with up to 8, and
// Llama-3.2-1B 1.135 / 1.167 against 1.178 / 1.207. Long ranges keep 256: with 64 everywhere,
// one 8192-key decode (specd_bench_attention, 32 / 8 heads, d 128) took about 90 splits of 96
// keys, one wave by the cost model, which misses their starts and the longer merge: 2.05 TB/s
// against 2.24 with this bound (separate calls).
int64_t MinSplitKeys(int64_t keys) {
  return std::clamp<int64_t>(keys / kShortRangeSplits, kWarps * kTileKeys, kMinSplitKeys);
}

struct SplitPlan {
  int num_splits = 1;
  int split_keys = kNoSplit;
};

// Splits from what the host knows: the token count and the longest possible key range L
// (max_blocks_per_seq * block_size, or the sliding window when masked blocks are skipped:
// MaxReadKeys). See the policy constants.
SplitPlan PlanSplits(const PagedAttentionParams& p, int kv_slices, int64_t resident_ctas) {
  SplitPlan plan;
  if (p.workspace == nullptr) return plan;
  const int64_t keys = MaxReadKeys(p.modifier, p.max_blocks_per_seq * p.block_size);
  const int64_t ctas = static_cast<int64_t>(p.num_tokens) * p.num_kv_heads * kv_slices;  // per split
  const int64_t fits = static_cast<int64_t>(
      p.workspace_bytes / (static_cast<size_t>(p.num_tokens) * p.num_heads * PartialBytes(p.head_dim)));
  const int64_t limit =
      std::min({keys / MinSplitKeys(keys), kMaxSplits, fits, kMaxSplitWaves * resident_ctas / ctas});
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

// Whether a launch the plan splits takes wide CTAs instead: one CTA of kWideWarps warps per
// (token, KV head slice), every warp on at most two tiles of the longest key range (both in flight
// at once), no more such CTAs than SMs, and no merge kernel: one kernel boundary less in each
// layer of a decode step. H100, batch-1 decode, same call: Llama-3.2-1B (its ranges of 256 and 512
// keys are all wide) 1.060-1.064 ms a token against 1.066-1.072 with splits and the merge; the
// attention a layer 3.9 us against 3.3 + 1.5 (bench/README.md).
bool UseWideCtas(const PagedAttentionParams& p, const SplitPlan& plan, int kv_slices, int sm_count) {
  if (plan.num_splits < 2) return false;
  const int wide_warps = p.head_dim == 64 ? kWideWarps<64> : kWideWarps<128>;
  const int64_t keys = MaxReadKeys(p.modifier, p.max_blocks_per_seq * p.block_size);
  const int64_t ctas = static_cast<int64_t>(p.num_tokens) * p.num_kv_heads * kv_slices;
  return keys <= int64_t{2} * kTileKeys * wide_warps && ctas <= sm_count;
}

// Both kernels are programmatic dependents (pdl.cuh) of the kernel before them: the merge may
// start while the attention kernel drains, and waits for its results before reading them.
template <int kHeadDim, int kHeads, int kCtaWarps, typename Modifier>
cudaError_t LaunchAttention(const Args& a, unsigned ctas, cudaStream_t stream) {
  return LaunchWithPdl(PagedAttentionKernel<kHeadDim, kHeads, kCtaWarps, Modifier>, ctas, kCtaWarps * kWarpSize,
                       SmemBytes<kHeadDim, kHeads, kCtaWarps>(), stream, a);
}

template <int kHeadDim, int kHeads, typename Modifier>
cudaError_t LaunchAttention(const Args& a, bool wide, unsigned ctas, cudaStream_t stream) {
  return wide ? LaunchAttention<kHeadDim, kHeads, kWideWarps<kHeadDim>, Modifier>(a, ctas, stream)
              : LaunchAttention<kHeadDim, kHeads, kWarps, Modifier>(a, ctas, stream);
}

template <int kHeadDim, typename Modifier>
cudaError_t LaunchMerge(const Args& a, unsigned ctas, cudaStream_t stream) {
  return LaunchWithPdl(MergeSplitsKernel<kHeadDim, Modifier>, ctas, kMergeWarps * kWarpSize, 0, stream, a);
}

template <int kHeadDim, typename Modifier>
cudaError_t LaunchAttention(const Args& a, int heads_per_cta, bool wide, unsigned ctas, cudaStream_t stream) {
  switch (heads_per_cta) {
    case 1:
      return LaunchAttention<kHeadDim, 1, Modifier>(a, wide, ctas, stream);
    case 2:
      return LaunchAttention<kHeadDim, 2, Modifier>(a, wide, ctas, stream);
    case 4:
      return LaunchAttention<kHeadDim, 4, Modifier>(a, wide, ctas, stream);
    case 8:
      return LaunchAttention<kHeadDim, 8, Modifier>(a, wide, ctas, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

template <int kHeadDim, typename Modifier>
cudaError_t Launch(const Args& a, int heads_per_cta, bool wide, unsigned ctas, unsigned merge_ctas,
                   cudaStream_t stream) {
  const cudaError_t error = LaunchAttention<kHeadDim, Modifier>(a, heads_per_cta, wide, ctas, stream);
  if (error != cudaSuccess || a.num_splits == 1) return error;
  return LaunchMerge<kHeadDim, Modifier>(a, merge_ctas, stream);
}

// The launch for one modifier's functor: plan, arguments, kernels. Parameters already checked.
template <typename Modifier>
cudaError_t LaunchWithModifier(const PagedAttentionParams& p, cudaStream_t stream) {
  int device = 0;
  cudaError_t error = cudaGetDevice(&device);
  if (error != cudaSuccess) return error;
  const int group = p.num_heads / p.num_kv_heads;
  const int heads_per_cta = HeadsPerCta(group);
  const int kv_slices = static_cast<int>(CeilDiv(group, heads_per_cta));
  int ctas_per_sm = 0;
  error = PrepareAttention<Modifier>(p.head_dim, heads_per_cta, false, device, &ctas_per_sm);
  if (error != cudaSuccess) return error;
  const int sm_count = SmCount(device);
  SplitPlan plan = PlanSplits(p, kv_slices, static_cast<int64_t>(ctas_per_sm) * sm_count);
  const bool wide = UseWideCtas(p, plan, kv_slices, sm_count);
  if (wide) {
    int wide_ctas_per_sm = 0;  // unused: what this needs is the wide kernel's shared-memory opt-in
    error = PrepareAttention<Modifier>(p.head_dim, heads_per_cta, true, device, &wide_ctas_per_sm);
    if (error != cudaSuccess) return error;
    plan = SplitPlan{};
  }

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
      return Launch<64, Modifier>(a, heads_per_cta, wide, static_cast<unsigned>(ctas), static_cast<unsigned>(merge_ctas), stream);
    case 128:
      return Launch<128, Modifier>(a, heads_per_cta, wide, static_cast<unsigned>(ctas), static_cast<unsigned>(merge_ctas), stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

size_t PagedAttentionWorkspaceBytes(int max_num_tokens, int num_heads, int head_dim, int max_context) {
  if (max_num_tokens <= 0 || num_heads <= 0 || (head_dim != 64 && head_dim != 128) || max_context <= 0) return 0;
  // keys / MinSplitKeys(keys) never falls as keys grow: the longest range has the most splits.
  const int64_t most = std::min<int64_t>(max_context / MinSplitKeys(max_context), kMaxSplits);
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
    if (PrepareAttention<CausalModifier>(head_dim, heads_per_cta, false, device, &ctas_per_sm) != cudaSuccess) {
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
      p.block_size <= 0 || p.max_blocks_per_seq <= 0 || !ValidAttentionModifier(p.modifier) ||
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

  return DispatchAttentionModifier(
      p.modifier, p.num_heads, [&](auto modifier) { return LaunchWithModifier<decltype(modifier)>(p, stream); },
      [] { return cudaErrorInvalidValue; });
}

}  // namespace specd::kernels
