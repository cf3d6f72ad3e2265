// Sampling kernel internals, part 6 of 7 (included by sampling.cu only): TopPFastPath, top-p in
// one exact pass guided by an fp32 histogram (falls back to Select when its pick fails the check).
#pragma once

#include "kernels/sampling_draw.cuh"

namespace specd::kernels {
namespace {

// Top-p without a second exact pass (the usual case; false: use Select and ChunkSums instead).
//   1. fp32 pass: approximate mass per bin of the first level -> bins [lo, hi] around the limit,
//      kApproxMargin x total either side
//   2. exact pass over the id chunks: S (top-k survivors), A = mass of bins < lo (surely kept:
//      their min-p survivors go into the chunk sums), candidates = bins lo..hi gathered
//   3. exact: limit = ceil(p * S); check A < limit <= A + candidates' mass; sort the candidates,
//      scan from A -> the cut; candidates up to the cut (min-p survivors) join the chunk sums.
// Leaves the cut in sh.cut_l / sh.cut_id and the final chunk sums in sh.bins.chunk.
// Bins linear in the logit over [lo, l_max] in fp32 (monotone: l > l' gives bin <= bin').
struct FastBins {
  float l_max;
  float scale;
  __device__ __forceinline__ int operator()(float l) const {
    const float x = (l_max - l) * scale;
    if (!(x > 0.0f)) return 0;
    if (!(x < static_cast<float>(kNumBins - 1))) return kNumBins - 1;
    return static_cast<int>(x);
  }
};

// A token's key for sorting the candidates: ascending keys are the order (l descending, id
// ascending).
__device__ __forceinline__ u64 CandidateKey(int t, float l) {
  return (static_cast<u64>(DescendingKey(l)) << 32) | static_cast<unsigned>(t);
}

// One thread's sums of step 2, the exact pass (also plain_sampling.cu's): S (every token with
// mass), A (the tokens of the bins before the band [lo, hi]) and the draw's chunk sum of those
// (min-p survivors); the band's tokens go to `gather`.
struct TopPExactSums {
  u64 s_hi = 0, s_lo = 0, a_hi = 0, a_lo = 0, c_hi = 0, c_lo = 0;

  // Token t with logit l, at or above top-k's floor.
  template <typename Gather>
  __device__ void Add(int t, float l, const Weigher& weigh, const FastBins& bin_of, int lo, int hi, double min_p,
                      Gather&& gather) {
    if (!(l > -kInf) || l < weigh.no_mass_below) return;
    const double w = weigh(l);
    const Mass m = ToMass(w);
    if (IsZero(m)) return;
    s_hi += m.hi;
    s_lo += m.lo;
    const int b = bin_of(l);
    if (b < lo) {
      a_hi += m.hi;
      a_lo += m.lo;
      if (!(min_p > 0.0) || w >= min_p) {
        c_hi += m.hi;
        c_lo += m.lo;
      }
    } else if (b <= hi) {
      gather(CandidateKey(t, l));
    }
  }
};

// Step 3 of the fast path (also plain_sampling.cu's): the candidates sh.keys[0, n) (sorted here;
// each key (DescendingKey(l) << 32) | id), `ahead` the mass of the tokens surely kept before them,
// `limit` = ceil(p * S). Finds the cut among them (sh.cut_l, sh.cut_id) and adds the candidates up
// to it (min-p survivors) to the chunk sums in sh.bins.chunk. False (block-uniform) when the cut
// is not among them.
__device__ bool CutAmongCandidates(Shared& sh, const RowView& view, const Weigher& weigh, U128 ahead, U128 limit,
                                   int n, double min_p, int chunk_size) {
  const int tid = threadIdx.x;
  if (tid == 0) sh.cut_index = -1;
  BitonicSort(sh.keys, n);  // syncs
  U128 m[2] = {0, 0};
  int ids[2] = {-1, -1};
  float ls[2] = {0.0f, 0.0f};
  double ws[2] = {0.0, 0.0};
  for (int e = 0; e < 2; ++e) {
    const int index = 2 * tid + e;
    if (index >= n) continue;
    ids[e] = static_cast<int>(sh.keys[index] & 0xffffffffu);
    ls[e] = view.Logit(ids[e]);
    ws[e] = weigh(ls[e]);
    m[e] = ToU128(ToMass(ws[e]));
  }
  U128 candidates_mass;
  U128 running = ahead + BlockExclusiveScan(m[0] + m[1], &candidates_mass, sh.reduce);
  if (!(ahead < limit && limit <= ahead + candidates_mass)) return false;  // block-uniform
  for (int e = 0; e < 2; ++e) {
    if (ids[e] >= 0 && m[e] != 0 && running < limit && limit <= running + m[e]) {
      sh.cut_l = ls[e];
      sh.cut_id = ids[e];
      sh.cut_index = 2 * tid + e;
    }
    running += m[e];
  }
  __syncthreads();
  const int cut_index = sh.cut_index;
  if (cut_index < 0) return false;  // unreachable
  for (int e = 0; e < 2; ++e) {
    if (ids[e] < 0 || 2 * tid + e > cut_index || (min_p > 0.0 && !(ws[e] >= min_p))) continue;
    const Mass mm = ToMass(ws[e]);
    atomicAdd(&sh.bins.chunk.hi[ids[e] / chunk_size], mm.hi);
    atomicAdd(&sh.bins.chunk.lo[ids[e] / chunk_size], mm.lo);
  }
  __syncthreads();
  return true;
}

__device__ bool TopPFastPath(Shared& sh, const RowView& view, const Weigher& weigh,
                             double map_lo, float floor_l, float top_p, double min_p, int vocab) {
  const int tid = threadIdx.x;
  const float span = static_cast<float>(weigh.l_max - map_lo);
  float scale = span > 0.0f ? static_cast<float>(kNumBins) / span : 0.0f;
  if (!(scale < INFINITY)) scale = 0.0f;  // everything in bin 0: too many candidates, Select
  const FastBins bin_of{static_cast<float>(weigh.l_max), scale};
  __syncthreads();  // the bins' last user is done
  sh.bins.approx.count[tid] = 0;  // kNumBins == kThreads
  sh.bins.approx.mass[tid] = 0.0f;
  __syncthreads();
  const float l_max = static_cast<float>(weigh.l_max);
  const float inv_temperature = static_cast<float>(weigh.inv_temperature);
  ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
    if (!(l > -kInf) || l < floor_l) return;
    const float d = (l - l_max) * inv_temperature;
    if (d < kApproxNoMass) return;
    const int b = bin_of(l);
    atomicAdd(&sh.bins.approx.count[b], 1u);
    atomicAdd(&sh.bins.approx.mass[b], __expf(d));
  });
  __syncthreads();
  const double mass = sh.bins.approx.mass[tid];
  const unsigned count = sh.bins.approx.count[tid];
  double total;
  const double through = BlockExclusiveScan(mass, &total, sh.reduce) + mass;
  const double limit_approx = static_cast<double>(top_p) * total;
  const double margin = kApproxMargin * total;
  // Monotone in the bin: the first bins reaching limit -/+ margin.
  const int lo = BlockReduce(through < limit_approx - margin ? 1 : 0,
                             [](int a, int b) { return a + b; }, sh.reduce);
  const int hi = min(kNumBins - 1, BlockReduce(through < limit_approx + margin ? 1 : 0,
                                               [](int a, int b) { return a + b; }, sh.reduce));
  const int candidates = BlockReduce(tid >= lo && tid <= hi ? static_cast<int>(count) : 0,
                                     [](int a, int b) { return a + b; }, sh.reduce);
  if (candidates > kGatherCapacity) return false;

  // 2. The exact pass (the approximate histogram has been read: BlockReduce synced).
  if (tid == 0) sh.num_keys = 0;
  __syncthreads();
  const int chunk_size = ChunkSize(vocab);
  TopPExactSums sums;
  const auto gather = [&](u64 key) {
    const int slot = atomicAdd(&sh.num_keys, 1);
    if (slot < kGatherCapacity) sh.keys[slot] = key;
  };
  for (int c = Warp(); c < NumChunks(vocab); c += kWarps) {
    sums.c_hi = sums.c_lo = 0;  // the chunk's own
    ForEachInChunk(view, c, chunk_size, vocab, [&](int t, float l) {
      if (!(l < floor_l)) sums.Add(t, l, weigh, bin_of, lo, hi, min_p, gather);
    });
    const u64 c_hi = WarpSum(sums.c_hi), c_lo = WarpSum(sums.c_lo);
    if (Lane() == 0) {
      sh.bins.chunk.hi[c] = c_hi;
      sh.bins.chunk.lo[c] = c_lo;
    }
  }
  const auto add = [](U128 a, U128 b) { return a + b; };
  const U128 sum = BlockReduce(Combine(sums.s_hi, sums.s_lo), add, sh.reduce);
  const U128 ahead = BlockReduce(Combine(sums.a_hi, sums.a_lo), add, sh.reduce);
  const U128 limit = CeilMul(top_p, sum);
  return CutAmongCandidates(sh, view, weigh, ahead, limit, min(sh.num_keys, kGatherCapacity), min_p, chunk_size);
}

}  // namespace
}  // namespace specd::kernels
