// Greedy sampling fast path (greedy_sampling.h): LaunchSampling's one 1024-thread block per row
// took 45 us at vocab 128256 (H100, batch-1 decode); here a row is split over many blocks and
// read once.
//
//   row r:   | chunk 0: kChunkSize logits | chunk 1 | ... | chunk c-1 (partial) |
//   pass 1:    block r*c + 0                r*c + 1        r*c + c-1   -> partials [rows, c]
//   finish:  warp r, lane i: partials i, i + 32, ...  -> token, logprob, rank of row r
//
// A chunk's partial: its sanitized max m_c with the lowest id holding it, and
// s_c = sum of exp(x - m_c) over its tokens (LogNormalizerTerm, fp64 sum; only when logprobs are
// asked for). The row's normalizer is S = sum_c s_c * exp(m_c - M), M = max_c m_c: the same
// terms as LaunchSampling's exp(x - M) up to fp32 rounding (~1e-7 relative). Every reduction has
// a fixed order: deterministic. A row of one chunk (vocab <= kChunkSize) is finished by its block.
// Both kernels launch with PDL; neither keeps state between launches.
#include "kernels/greedy_sampling.h"

#include "kernels/pdl.cuh"
#include "kernels/sampling_state.cuh"

namespace specd::kernels {
namespace {

constexpr int kGreedyThreads = 256;
constexpr int kGreedyWarps = kGreedyThreads / kWarpSize;
constexpr int kLoadsPerThread = 4;                             // float4 loads in flight
constexpr int kValuesPerThread = 4 * kLoadsPerThread;
constexpr int kChunkSize = kGreedyThreads * kValuesPerThread;  // 4096 logits per block

// Of a chunk, or of a whole row.
struct Partial {
  ArgMax best;  // sanitized max and its lowest id; value -inf: nothing finite
  double sum;   // sum of exp(x - best.value); 0 when nothing is finite or no logprob is asked for
};

// The workspace as the chunks' partials: [num_rows, num_chunks], used only with 2+ chunks: 16
// bytes per kChunkSize tokens, far less than SamplingWorkspaceBytes (8 bytes a token).
__device__ __forceinline__ Partial* Partials(const SamplingKernelParams& p) {
  return static_cast<Partial*>(p.workspace);
}

// Token of this thread's value j in the chunk starting at first: vectorized, the j / 4-th float4
// of the thread; else one value per kGreedyThreads.
__device__ __forceinline__ int ChunkToken(int first, int j, bool vectors) {
  return vectors ? first + 4 * (static_cast<int>(threadIdx.x) + j / 4 * kGreedyThreads) + j % 4
                 : first + static_cast<int>(threadIdx.x) + j * kGreedyThreads;
}

// The thread's sanitized values of the chunk; -inf past the row's end. All loads issued first.
__device__ __forceinline__ void LoadChunk(const float* row, int vocab, int first, bool vectors,
                                          float (&x)[kValuesPerThread]) {
  if (vectors) {
    float4 v[kLoadsPerThread];
#pragma unroll
    for (int u = 0; u < kLoadsPerThread; ++u) {
      const int t = ChunkToken(first, 4 * u, true);
      v[u] = t < vocab ? *reinterpret_cast<const float4*>(row + t) : make_float4(-kInf, -kInf, -kInf, -kInf);
    }
#pragma unroll
    for (int u = 0; u < kLoadsPerThread; ++u) {
      x[4 * u] = Sanitize(v[u].x);
      x[4 * u + 1] = Sanitize(v[u].y);
      x[4 * u + 2] = Sanitize(v[u].z);
      x[4 * u + 3] = Sanitize(v[u].w);
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < kValuesPerThread; ++j) {
    const int t = ChunkToken(first, j, false);
    x[j] = t < vocab ? row[t] : -kInf;
  }
#pragma unroll
  for (int j = 0; j < kValuesPerThread; ++j) x[j] = Sanitize(x[j]);
}

// Row r's outputs from its whole-row partial, as LaunchSampling defines them for a greedy row.
__device__ void WriteRow(const SamplingKernelParams& p, int row, Partial whole) {
  const bool raw_zero = !(whole.best.value > -kInf);  // nothing finite: every x is 0, token 0
  p.sampled_token_ids[row] = raw_zero ? 0 : whole.best.index;
  if (p.sampled_logprobs != nullptr) {
    const double x_max = raw_zero ? 0.0 : static_cast<double>(whole.best.value);
    const double sum = raw_zero ? static_cast<double>(p.vocab) : whole.sum;
    p.sampled_logprobs[row] = static_cast<float>(x_max - (x_max + log(sum)));
  }
  if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 1;  // nothing beats the max
  if (p.draft_accepted != nullptr) p.draft_accepted[row] = 0;
}

// Block b = row * num_chunks + chunk: the chunk's partial.
__global__ void __launch_bounds__(kGreedyThreads) GreedyChunkKernel(SamplingKernelParams p, int num_chunks) {
  __shared__ double reduce[kGreedyWarps];  // BlockReduce's scratch (ArgMax or double)
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / num_chunks;
  const int first = (static_cast<int>(blockIdx.x) % num_chunks) * kChunkSize;
  const float* logits = p.logits + static_cast<size_t>(row) * p.vocab;  // [vocab]
  const bool vectors = Vectorizable(logits, p.vocab);
  WaitForPrerequisites();
  float x[kValuesPerThread];
  LoadChunk(logits, p.vocab, first, vectors, x);
  ArgMax best{-kInf, INT_MAX};
#pragma unroll
  for (int j = 0; j < kValuesPerThread; ++j) best = BetterArgMax(best, ArgMax{x[j], ChunkToken(first, j, vectors)});
  best = BlockReduce<kGreedyWarps>(best, [](ArgMax a, ArgMax b) { return BetterArgMax(a, b); }, reduce);
  double sum = 0.0;
  if (p.sampled_logprobs != nullptr && best.value > -kInf) {
    const double x_max = best.value;
#pragma unroll
    for (int j = 0; j < kValuesPerThread; ++j) sum += LogNormalizerTerm(x[j], x_max);
    sum = BlockReduce<kGreedyWarps>(sum, [](double a, double b) { return a + b; }, reduce);
  }
  if (threadIdx.x != 0) return;
  if (num_chunks == 1) {
    WriteRow(p, row, {best, sum});
  } else {
    Partials(p)[blockIdx.x] = {best, sum};
  }
}

// One warp per row: the row's partials combined, lane i taking chunks i, i + 32, ...
__global__ void __launch_bounds__(kWarpSize) GreedyFinishKernel(SamplingKernelParams p, int num_chunks) {
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x);
  const Partial* partials = Partials(p) + static_cast<size_t>(row) * num_chunks;  // [num_chunks]
  WaitForPrerequisites();
  ArgMax best{-kInf, INT_MAX};
  for (int c = Lane(); c < num_chunks; c += kWarpSize) best = BetterArgMax(best, partials[c].best);
  for (int o = kWarpSize / 2; o > 0; o /= 2) best = BetterArgMax(best, ShflXor(best, o));
  double sum = 0.0;
  if (p.sampled_logprobs != nullptr && best.value > -kInf) {
    const double x_max = best.value;
    for (int c = Lane(); c < num_chunks; c += kWarpSize) {
      const Partial part = partials[c];
      if (part.best.value > -kInf) sum += part.sum * exp(__dsub_rn(part.best.value, x_max));
    }
    sum = WarpSum(sum);
  }
  if (Lane() == 0) WriteRow(p, row, {best, sum});
}

}  // namespace

cudaError_t LaunchGreedySampling(const SamplingKernelParams& p, cudaStream_t stream) {
  if (p.num_rows < 0 || p.vocab < 1 || p.vocab > kMaxSamplingVocab) return cudaErrorInvalidValue;
  if (p.num_rows == 0) return cudaSuccess;
  if (p.logits == nullptr || p.workspace == nullptr || p.sampled_token_ids == nullptr) return cudaErrorInvalidValue;
  const int num_chunks = (p.vocab + kChunkSize - 1) / kChunkSize;
  const dim3 blocks(static_cast<unsigned>(p.num_rows) * static_cast<unsigned>(num_chunks));
  const cudaError_t chunks = LaunchWithPdl(GreedyChunkKernel, blocks, kGreedyThreads, 0, stream, p, num_chunks);
  if (chunks != cudaSuccess || num_chunks == 1) return chunks;
  return LaunchWithPdl(GreedyFinishKernel, p.num_rows, kWarpSize, 0, stream, p, num_chunks);
}

}  // namespace specd::kernels
