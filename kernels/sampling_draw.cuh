// Sampling kernel internals, part 5 of 7 (included by sampling.cu only): the final and residual
// distributions (steps 7-10, the rejection sampler's max(0, p - q)), the mass of the id chunks
// and the draw from them.
#pragma once

#include "kernels/sampling_state.cuh"

namespace specd::kernels {
namespace {

// The distribution after steps 7-10: w of the tokens that survive top-k, top-p and min-p.
struct FinalWeights {
  Weigher weigh;
  float floor_l;  // top-k: l >= floor_l
  bool has_cut;   // top-p: l > cut_l, or l == cut_l and id <= cut_id
  float cut_l;
  int cut_id;
  double min_p;   // min-p: w >= min_p (max w is exp(0) = 1)
  __device__ double W(int t, float l) const {
    if (!(l > -kInf) || l < floor_l || l < weigh.no_mass_below) return 0.0;
    if (has_cut && !(l > cut_l || (l == cut_l && t <= cut_id))) return 0.0;
    const double w = weigh(l);
    if (min_p > 0.0 && !(w >= min_p)) return 0.0;
    return w;
  }
  __device__ Mass operator()(int t, float l) const { return ToMass(W(t, l)); }
};

// normalize(max(0, p - q)) of the rejection sampler, p = float(w / S); or p itself.
struct ResidualWeights {
  FinalWeights p;
  double sum;      // S, the final weights' sum
  const float* q;  // [vocab] or null: one-hot on draft
  int draft;
  bool use_p;
  __device__ double P(int t, float l) const {
    return static_cast<double>(static_cast<float>(__ddiv_rn(p.W(t, l), sum)));
  }
  __device__ Mass operator()(int t, float l) const {
    const double pt = P(t, l);
    if (use_p) return ToMass(pt);
    const double qt = q != nullptr ? static_cast<double>(q[t]) : (t == draft ? 1.0 : 0.0);
    return ToMass(fmax(0.0, __dsub_rn(pt, qt)));
  }
};

__host__ __device__ __forceinline__ int NumChunks(int vocab) {
  const int chunk_size = ChunkSize(vocab);
  return (vocab + chunk_size - 1) / chunk_size;
}

// The total of sh.bins.chunk (every thread).
__device__ U128 ChunkTotal(Shared& sh, int vocab) {
  const int c = threadIdx.x;
  const U128 mine = c < NumChunks(vocab) ? Combine(sh.bins.chunk.hi[c], sh.bins.chunk.lo[c]) : 0;
  return BlockReduce(mine, [](U128 a, U128 b) { return a + b; }, sh.reduce);
}

// Sums mass(t, l) over the id chunks into sh.bins.chunk; returns the total (every thread).
template <typename MassFn>
__device__ U128 ChunkSums(Shared& sh, const RowView& view, int vocab, const MassFn& mass) {
  __syncthreads();  // the bins' last user is done
  const int chunk_size = ChunkSize(vocab);
  for (int c = Warp(); c < NumChunks(vocab); c += kWarps) {
    u64 hi = 0, lo = 0;
    ForEachInChunk(view, c, chunk_size, vocab, [&](int t, float l) {
      const Mass m = mass(t, l);
      hi += m.hi;
      lo += m.lo;
    });
    hi = WarpSum(hi);
    lo = WarpSum(lo);
    if (Lane() == 0) {
      sh.bins.chunk.hi[c] = hi;
      sh.bins.chunk.lo[c] = lo;
    }
  }
  __syncthreads();
  return ChunkTotal(sh, vocab);
}

// The smallest id t with (mass of ids <= t) > target, target < total; after ChunkSums(mass).
template <typename MassFn>
__device__ int DrawFromChunks(Shared& sh, const RowView& view, int vocab, const MassFn& mass,
                              U128 target, int fallback) {
  const int chunk_size = ChunkSize(vocab);
  const int tid = threadIdx.x;
  if (tid == 0) {
    sh.found = -1;
    sh.token = fallback;
  }
  const U128 value =
      tid < NumChunks(vocab) ? Combine(sh.bins.chunk.hi[tid], sh.bins.chunk.lo[tid]) : 0;
  U128 total;
  const U128 excl = BlockExclusiveScan(value, &total, sh.reduce);  // syncs: found = -1 visible
  if (value != 0 && excl <= target && target < excl + value) {
    sh.found = tid;
    sh.found_ahead = excl;
  }
  __syncthreads();
  const int chunk = sh.found;
  if (chunk < 0) return sh.token;  // unreachable (block-uniform)
  // The chunk, one id per thread (chunk_size <= kThreads).
  const int t = chunk * chunk_size + tid;
  const U128 m = tid < chunk_size && t < vocab ? ToU128(mass(t, view.Logit(t))) : 0;
  U128 unused;
  const U128 before = sh.found_ahead + BlockExclusiveScan(m, &unused, sh.reduce);
  if (m != 0 && before <= target && target < before + m) sh.token = t;
  __syncthreads();
  return sh.token;
}

}  // namespace
}  // namespace specd::kernels
