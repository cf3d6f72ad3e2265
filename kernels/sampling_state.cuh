// Sampling kernel internals, part 3 of 7 (included by sampling.cu and greedy_sampling.cu): the
// block's shared-memory state (row parameters, Select level, histograms, chunk sums) and the row
// sweeps (ForEachToken over the whole row, ForEachInChunk over one id chunk of the draw).
#pragma once

#include "kernels/sampling_collectives.cuh"

namespace specd::kernels {
namespace {

struct RowState {
  float temperature, top_p, min_p, repetition, presence, frequency;
  int top_k, min_tokens, draft;
  bool ignore_eos;
  uint64_t seed;
  int prompt_begin, prompt_end, output_begin, output_end;
  int bias_begin, bias_end, stop_begin, stop_end;
  bool invalid;
  // The processed row: l[t] = zero_row ? 0 : Sanitize(source[t]).
  const float* source;
  bool zero_row;
  float l_max, l_min_finite;
  int l_argmax, num_finite;
  // The raw row for logprobs: x[t] = raw_zero ? 0 : Sanitize(raw[t]).
  bool raw_zero;
  float x_max;
};

struct SelectLevel {
  int mode;              // kByLogit: candidates have l in [l_lo, l_hi];
  float l_lo, l_hi;      // kById: l == l_lo and id in [id_lo, id_hi]
  int id_lo, id_hi;
  double v_lo, v_scale;  // bin = clamp((v - v_lo) * v_scale), v = -l (kByLogit) or id (kById)
  bool count_mode;       // mass 1 per candidate (else the weight's mass)
  bool limit_from_total; // limit = ceil(top_p * total), from the first level's total
  U128 ahead;            // mass of the candidates before the level's range
  U128 limit;
};

struct Histogram {  // exact, of a Select level
  unsigned count[kNumBins];
  u64 hi[kNumBins];
  u64 lo[kNumBins];
};

struct ApproxHistogram {  // fp32, of top-p's fast path
  unsigned count[kNumBins];
  float mass[kNumBins];
};

struct ChunkSumsLimbs {  // mass of id chunk c = hi[c] * 2^40 + lo[c]
  u64 hi[kNumChunks];
  u64 lo[kNumChunks];
};

struct Shared {
  RowState row;
  SelectLevel level;
  union {  // one user at a time: Select, then top-p's approximate pass, then the chunks
    Histogram hist;
    ApproxHistogram approx;
    ChunkSumsLimbs chunk;
  } bins;
  u64 keys[kGatherCapacity];
  double exp_table[2 * kExpTableSize];  // kExp2TableHi, kExp2TableLo
  alignas(16) unsigned char reduce[kWarps * sizeof(U128)];
  int found;      // the bin (or chunk) holding the cut (or the draw); -1: none
  unsigned found_count;
  U128 found_ahead;
  int num_keys;
  bool done;
  float cut_l;
  int cut_id;
  int cut_index;
  int token;
};

// What the per-token functions read, in registers.
struct RowView {
  const float* source;
  bool zero_row;
  __device__ float Logit(int t) const { return zero_row ? 0.0f : Sanitize(source[t]); }
};

__device__ __forceinline__ bool Vectorizable(const float* row, int vocab) {
  return vocab % 4 == 0 && reinterpret_cast<uintptr_t>(row) % sizeof(float4) == 0;
}

// f(t, l) for every token t of the row, l = Sanitize(source[t]) (0 for a zero row). A thread takes
// 4 consecutive tokens (one 16-byte load) from each of kUnroll places per step, the loads issued
// together; its tokens come in increasing t.
template <typename F>
__device__ __forceinline__ void ForEachToken(const float* source, bool zero_row, int vocab, F&& f) {
  constexpr int kUnroll = 4;
  if (zero_row) {
    for (int t = threadIdx.x; t < vocab; t += kThreads) f(t, 0.0f);
    return;
  }
  if (Vectorizable(source, vocab)) {
    const float4* vectors = reinterpret_cast<const float4*>(source);
    const int num_vectors = vocab / 4;
    for (int base = threadIdx.x; base < num_vectors; base += kUnroll * kThreads) {
      float4 x[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        x[u] = i < num_vectors ? vectors[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int i = base + u * kThreads;
        if (i >= num_vectors) break;
        f(4 * i, Sanitize(x[u].x));
        f(4 * i + 1, Sanitize(x[u].y));
        f(4 * i + 2, Sanitize(x[u].z));
        f(4 * i + 3, Sanitize(x[u].w));
      }
    }
    return;
  }
  for (int base = threadIdx.x; base < vocab; base += kUnroll * kThreads) {
    float x[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int t = base + u * kThreads;
      x[u] = t < vocab ? source[t] : 0.0f;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int t = base + u * kThreads;
      if (t >= vocab) break;
      f(t, Sanitize(x[u]));
    }
  }
}

// Chunks of the draw: chunk c holds ids [c * size, (c + 1) * size); size a multiple of
// kChunkGranule, at most kThreads (the draw scans a chunk with the whole block); <= kNumChunks.
//   chunk c:  | lane 0: 16 ids | lane 1: 16 ids | ... | lane 31 |  (x size / kChunkGranule)
constexpr int kLaneRun = 16;                          // consecutive ids per lane and step
constexpr int kChunkGranule = kLaneRun * kWarpSize;   // 512
__host__ __device__ __forceinline__ int ChunkSize(int vocab) {
  const int per_chunk = (vocab + kNumChunks - 1) / kNumChunks;
  return max(kChunkGranule, (per_chunk + kChunkGranule - 1) / kChunkGranule * kChunkGranule);
}

// Warp-wide: f(t, l) for the tokens of chunk c; lane i takes kLaneRun consecutive ids per step
// (four 16-byte loads, issued together).
template <typename F>
__device__ __forceinline__ void ForEachInChunk(const RowView& view, int c, int chunk_size,
                                               int vocab, F&& f) {
  const bool vectors = !view.zero_row && Vectorizable(view.source, vocab);
  for (int j = 0; j < chunk_size; j += kChunkGranule) {
    const int first = c * chunk_size + j + Lane() * kLaneRun;
    float l[kLaneRun];
    if (vectors && first + kLaneRun <= vocab) {
      const float4* v = reinterpret_cast<const float4*>(view.source + first);
#pragma unroll
      for (int u = 0; u < kLaneRun / 4; ++u) {
        const float4 x = v[u];
        l[4 * u] = Sanitize(x.x);
        l[4 * u + 1] = Sanitize(x.y);
        l[4 * u + 2] = Sanitize(x.z);
        l[4 * u + 3] = Sanitize(x.w);
      }
    } else {
#pragma unroll
      for (int u = 0; u < kLaneRun; ++u) l[u] = first + u < vocab ? view.Logit(first + u) : -kInf;
    }
#pragma unroll
    for (int u = 0; u < kLaneRun; ++u) {
      if (first + u < vocab) f(first + u, l[u]);
    }
  }
}

}  // namespace
}  // namespace specd::kernels
