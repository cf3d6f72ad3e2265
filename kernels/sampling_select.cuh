// Sampling kernel internals, part 4 of 7 (included by sampling.cu only): Select, the exact
// multi-level histogram search for the cut element of top-k (count mode) and top-p (mass mode).
#pragma once

#include "kernels/sampling_state.cuh"

namespace specd::kernels {
namespace {

// What Select needs beyond the level.
struct SelectInput {
  bool weighted;    // mass = ToMass(w) (top-p); else 1 per token (top-k)
  bool need_id;     // resolve ties at the cut by id (top-p); else only the cut's logit matters
  float floor_l;    // candidates: l >= floor_l and l > -inf
  float top_p;      // weighted: limit = ceil(top_p * total)
  int k;            // count mode: limit = k
  double map_lo;    // lowest logit the first level's bins span (lower ones share the last bin)
  Weigher weigh;
};

__device__ __forceinline__ bool InLevel(const SelectLevel& lv, int t, float l) {
  if (lv.mode == kByLogit) return l >= lv.l_lo && l <= lv.l_hi;
  return l == lv.l_lo && t >= lv.id_lo && t <= lv.id_hi;
}

__device__ __forceinline__ int LevelBin(const SelectLevel& lv, int t, float l) {
  const double v = lv.mode == kByLogit ? -static_cast<double>(l) : static_cast<double>(t);
  const double x = __dmul_rn(__dsub_rn(v, lv.v_lo), lv.v_scale);
  if (!(x > 0.0)) return 0;
  if (x >= static_cast<double>(kNumBins - 1)) return kNumBins - 1;
  return static_cast<int>(x);
}

// Candidate test and mass of token t at level lv (mass 0: not a candidate).
__device__ __forceinline__ Mass CandidateMass(const SelectInput& in, const SelectLevel& lv, int t,
                                              float l) {
  if (!(l > -kInf) || l < in.floor_l || !InLevel(lv, t, l)) return {0, 0};
  if (lv.count_mode) return {0, 1};
  if (l < in.weigh.no_mass_below) return {0, 0};
  return ToMass(in.weigh(l));
}

// A candidate of lv in bin `bin` (the bin test first: it is cheaper than the weight).
__device__ __forceinline__ bool InBin(const SelectInput& in, const SelectLevel& lv, int t, float l,
                                      int bin) {
  if (!(l > -kInf) || l < in.floor_l || !InLevel(lv, t, l) || LevelBin(lv, t, l) != bin) {
    return false;
  }
  return !IsZero(CandidateMass(in, lv, t, l));
}

__device__ __forceinline__ double Scale(double lo, double hi) {
  const double span = hi - lo;
  return span > 0.0 ? static_cast<double>(kNumBins) / span : 0.0;
}

// The first level: bins linear in the logit over [map_lo, l_max], all logits candidates.
__device__ SelectLevel FirstLevel(double l_max, double map_lo, int vocab, bool weighted) {
  SelectLevel lv;
  lv.mode = kByLogit;
  lv.l_lo = -kInf;
  lv.l_hi = kInf;
  lv.id_lo = 0;
  lv.id_hi = vocab - 1;
  lv.v_lo = -l_max;
  lv.v_scale = Scale(-l_max, -map_lo);
  lv.count_mode = !weighted;
  lv.limit_from_total = weighted;
  lv.ahead = 0;
  lv.limit = 0;
  return lv;
}
// Finds the cut element (see the file comment); leaves it in sh.cut_l / sh.cut_id.
__device__ void Select(Shared& sh, const RowView view, const SelectInput in, int vocab) {
  const int tid = threadIdx.x;
  __syncthreads();  // every thread has read the last Select's answer (sh.cut_*, sh.done)
  if (tid == 0) {
    sh.level = FirstLevel(in.weigh.l_max, in.map_lo, vocab, in.weighted);
    sh.level.limit = static_cast<U128>(in.k);
    sh.done = false;
    sh.cut_l = sh.row.l_max;  // a safe answer should the search fail (it cannot)
    sh.cut_id = sh.row.l_argmax;
  }
  __syncthreads();
  for (;;) {
    const SelectLevel lv = sh.level;
    for (int b = tid; b < kNumBins; b += kThreads) {
      sh.bins.hist.count[b] = 0;
      sh.bins.hist.hi[b] = 0;
      sh.bins.hist.lo[b] = 0;
    }
    if (tid == 0) sh.found = -1;
    __syncthreads();
    ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
      const Mass m = CandidateMass(in, lv, t, l);
      if (IsZero(m)) return;
      const int b = LevelBin(lv, t, l);
      atomicAdd(&sh.bins.hist.count[b], 1u);
      if (!lv.count_mode) {
        atomicAdd(&sh.bins.hist.hi[b], m.hi);
        atomicAdd(&sh.bins.hist.lo[b], m.lo);
      }
    });
    __syncthreads();
    // The bin holding the cut: ahead + excl < limit <= ahead + excl + value (exactly one).
    const unsigned my_count = sh.bins.hist.count[tid];
    const U128 value = lv.count_mode ? static_cast<U128>(my_count)
                                     : Combine(sh.bins.hist.hi[tid], sh.bins.hist.lo[tid]);
    U128 total;
    const U128 excl = BlockExclusiveScan(value, &total, sh.reduce);
    const U128 limit = lv.limit_from_total ? CeilMul(in.top_p, total) : lv.limit;
    const U128 before = lv.ahead + excl;
    if (value != 0 && before < limit && limit <= before + value) {
      sh.found = tid;
      sh.found_count = my_count;
      sh.found_ahead = before;
    }
    if (tid == 0) {
      sh.level.limit = limit;
      sh.level.limit_from_total = false;
    }
    __syncthreads();
    const int found = sh.found;
    if (found < 0) return;  // unreachable: keeps the safe answer
    const unsigned count = sh.found_count;
    const U128 ahead = sh.found_ahead;

    if (count <= static_cast<unsigned>(kGatherCapacity)) {
      // Gather the bin, sort it in the order, scan its masses.
      if (tid == 0) sh.num_keys = 0;
      __syncthreads();
      ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
        if (!InBin(in, lv, t, l, found)) return;
        const int slot = atomicAdd(&sh.num_keys, 1);
        if (slot < kGatherCapacity) {
          sh.keys[slot] = (static_cast<u64>(DescendingKey(l)) << 32) | static_cast<unsigned>(t);
        }
      });
      __syncthreads();
      const int n = min(sh.num_keys, kGatherCapacity);
      BitonicSort(sh.keys, n);
      U128 m[2] = {0, 0};
      int ids[2] = {-1, -1};
      for (int e = 0; e < 2; ++e) {
        const int index = 2 * tid + e;
        if (index >= n) continue;
        ids[e] = static_cast<int>(sh.keys[index] & 0xffffffffu);
        m[e] = ToU128(CandidateMass(in, lv, ids[e], view.Logit(ids[e])));
      }
      U128 unused;
      U128 running = ahead + BlockExclusiveScan(m[0] + m[1], &unused, sh.reduce);
      for (int e = 0; e < 2; ++e) {
        if (ids[e] >= 0 && m[e] != 0 && running < limit && limit <= running + m[e]) {
          sh.cut_l = view.Logit(ids[e]);
          sh.cut_id = ids[e];
        }
        running += m[e];
      }
      __syncthreads();
      return;
    }

    // Narrow to the bin's range.
    float l_min = kInf, l_max = -kInf;
    int id_min = INT_MAX, id_max = -1;
    ForEachToken(view.source, view.zero_row, vocab, [&](int t, float l) {
      if (!InBin(in, lv, t, l, found)) return;
      l_min = fminf(l_min, l);
      l_max = fmaxf(l_max, l);
      id_min = min(id_min, t);
      id_max = max(id_max, t);
    });
    l_min = BlockReduce(l_min, [](float a, float b) { return fminf(a, b); }, sh.reduce);
    l_max = BlockReduce(l_max, [](float a, float b) { return fmaxf(a, b); }, sh.reduce);
    id_min = BlockReduce(id_min, [](int a, int b) { return min(a, b); }, sh.reduce);
    id_max = BlockReduce(id_max, [](int a, int b) { return max(a, b); }, sh.reduce);
    if (tid == 0) {
      SelectLevel& next = sh.level;
      next.ahead = ahead;
      if (lv.mode == kByLogit && l_min < l_max) {
        next.l_lo = l_min;
        next.l_hi = l_max;
        next.v_lo = -static_cast<double>(l_max);
        next.v_scale = Scale(-static_cast<double>(l_max), -static_cast<double>(l_min));
      } else if (lv.mode == kByLogit && !in.need_id) {
        sh.cut_l = l_min;  // one logit value: the threshold
        sh.cut_id = id_min;
        sh.done = true;
      } else if (lv.mode == kByLogit) {
        // Ties: the r-th (0-based) of the group in id order has ahead + r * w before it; the
        // cut is the q-th smallest id, q = the smallest q >= 1 with ahead + q * w >= limit.
        const U128 w = lv.count_mode ? static_cast<U128>(1)
                                     : ToU128(ToMass(in.weigh(l_min)));
        const U128 needed = limit - ahead;
        unsigned lo = 1, hi = count;
        while (lo < hi) {
          const unsigned mid = lo + (hi - lo) / 2;
          if (static_cast<U128>(mid) * w >= needed) {
            hi = mid;
          } else {
            lo = mid + 1;
          }
        }
        next.mode = kById;
        next.l_lo = l_min;
        next.l_hi = l_min;
        next.id_lo = id_min;
        next.id_hi = id_max;
        next.v_lo = static_cast<double>(id_min);
        next.v_scale = Scale(static_cast<double>(id_min), static_cast<double>(id_max));
        next.count_mode = true;
        next.ahead = 0;
        next.limit = lo;
      } else {
        next.id_lo = id_min;
        next.id_hi = id_max;
        next.v_lo = static_cast<double>(id_min);
        next.v_scale = Scale(static_cast<double>(id_min), static_cast<double>(id_max));
      }
    }
    __syncthreads();
    if (sh.done) return;
  }
}

}  // namespace
}  // namespace specd::kernels
