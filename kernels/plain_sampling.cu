// Plain-sampling fast path (plain_sampling.h). A row is cut into spans of kSpanChunks of the draw's
// id chunks (sampling_state.cuh, ChunkSize: 512 ids up to vocab 524288), one block a span and one
// warp a chunk, so the chunk masses are LaunchSampling's (ChunkSums) and its draw code runs on them
// unchanged:
//
//   row r:     | span 0: chunks 0..7 | span 1: chunks 8..15 | ... | span s-1 (partial) |
//   stats:       block r*s + 0         r*s + 1                    -> RowPart [rows, s]: sanitized
//                                                                    max (lowest id), finite count
//   masses:      block r*s + 0         r*s + 1                    -> per chunk: exact mass (draw
//                (each reduces the row's RowParts first)             rows), log-normalizer terms
//   draw:      block r (1024 threads): the chunk masses into LaunchSampling's shared state,
//              DrawFromChunks, then the rank of the token (one sweep) and the logprob
//
// Greedy rows skip the masses' weights and the draw: their token is the argmax.
#include "kernels/plain_sampling.h"

#include "kernels/pdl.cuh"
#include "kernels/sampling_draw.cuh"

namespace specd::kernels {
namespace {

constexpr int kSpanChunks = 8;                     // draw chunks a stats / masses block covers
constexpr int kSpanThreads = kSpanChunks * kWarpSize;  // a warp a chunk

// A span's stats, or the whole row's.
struct RowPart {
  ArgMax best;  // sanitized max and its lowest id; value -inf: nothing finite
  int finite;   // tokens with a finite (sanitized) logit
};

// The workspace: [rows, chunks] chunk masses (hi, lo limbs), then [rows, chunks] log-normalizer
// partial sums, then [rows, spans] RowParts (8-byte members first).
struct Workspace {
  Mass* masses;
  double* log_normalizer;
  RowPart* parts;
};

__host__ __device__ int NumSpans(int vocab) { return (NumChunks(vocab) + kSpanChunks - 1) / kSpanChunks; }

__host__ __device__ size_t WorkspaceBytes(int num_rows, int vocab) {
  const size_t rows = static_cast<size_t>(num_rows);
  return rows * NumChunks(vocab) * (sizeof(Mass) + sizeof(double)) + rows * NumSpans(vocab) * sizeof(RowPart);
}

__device__ Workspace Layout(const SamplingKernelParams& p) {
  auto* bytes = static_cast<char*>(p.workspace);
  const size_t rows = static_cast<size_t>(p.num_rows);
  Workspace w;
  w.masses = reinterpret_cast<Mass*>(bytes);
  bytes += rows * NumChunks(p.vocab) * sizeof(Mass);
  w.log_normalizer = reinterpret_cast<double*>(bytes);
  bytes += rows * NumChunks(p.vocab) * sizeof(double);
  w.parts = reinterpret_cast<RowPart*>(bytes);
  return w;
}

__device__ RowPart Better(RowPart a, RowPart b) { return {BetterArgMax(a.best, b.best), a.finite + b.finite}; }

__device__ RowPart ShflXor(RowPart v, int o) { return {ShflXor(v.best, o), ShflXor(v.finite, o)}; }

// The row's stats from its spans' parts (every lane of the warp gets them; the result does not
// depend on the order: max with lowest id, integer count).
__device__ RowPart ReduceRowParts(const Workspace& w, int row, int spans) {
  const RowPart* parts = w.parts + static_cast<size_t>(row) * spans;  // [spans]
  RowPart whole{{-kInf, INT_MAX}, 0};
  for (int s = Lane(); s < spans; s += kWarpSize) whole = Better(whole, parts[s]);
  for (int o = kWarpSize / 2; o > 0; o /= 2) whole = Better(whole, ShflXor(whole, o));
  return whole;
}

// What a row's stats say, as RowStats leaves them for an unprocessed row: nothing finite makes
// every logit 0 (a uniform draw, token 0 when greedy).
struct RowFacts {
  bool zero_row;
  float l_max;
  int argmax;
};

__device__ RowFacts Facts(const RowPart& whole) {
  if (whole.finite == 0) return {true, 0.0f, 0};
  return {false, whole.best.value, whole.best.index};
}

// The draw's final weights of a plain row: temperature and min-p only.
__device__ FinalWeights PlainWeights(const SamplingKernelParams& p, int row, float l_max, const double* table) {
  const double temperature = p.temperature[row];
  const Weigher weigh{l_max, temperature, __drcp_rn(temperature), table,
                      __double2float_rd(l_max + kSkipExponent * temperature)};
  const double min_p = p.min_p != nullptr ? p.min_p[row] : 0.0f;
  return FinalWeights{weigh, -kInf, false, 0.0f, 0, min_p};
}

__device__ void LoadExpTable(double* table /* [2 * kExpTableSize] */) {
  for (int i = threadIdx.x; i < kExpTableSize; i += blockDim.x) {
    table[i] = kExp2TableHi[i];
    table[kExpTableSize + i] = kExp2TableLo[i];
  }
}

// Block b = row * spans + span: the span's RowPart.
__global__ void __launch_bounds__(kSpanThreads) PlainStatsKernel(SamplingKernelParams p, int spans) {
  __shared__ RowPart reduce[kSpanChunks];
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / spans;
  const int chunk = static_cast<int>(blockIdx.x) % spans * kSpanChunks + Warp();
  const RowView raw{p.logits + static_cast<size_t>(row) * p.vocab, false};  // [vocab]
  WaitForPrerequisites();
  RowPart part{{-kInf, INT_MAX}, 0};
  if (chunk < NumChunks(p.vocab)) {
    ForEachInChunk(raw, chunk, ChunkSize(p.vocab), p.vocab, [&](int t, float l) {
      if (l > part.best.value) part.best = {l, t};  // ids come in increasing order: the lowest wins
      part.finite += l > -kInf ? 1 : 0;
    });
  }
  part = BlockReduce<kSpanChunks>(part, [](RowPart a, RowPart b) { return Better(a, b); }, reduce);
  if (threadIdx.x == 0) Layout(p).parts[blockIdx.x] = part;
}

// Block b = row * spans + span, warp = one chunk: the chunk's exact mass (draw rows) and its terms
// of the raw row's log-normalizer sum exp(x - x_max), x_max = l_max (the row is unprocessed).
__global__ void __launch_bounds__(kSpanThreads) PlainMassKernel(SamplingKernelParams p, int spans) {
  __shared__ double table[2 * kExpTableSize];
  LoadExpTable(table);
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x) / spans;
  const int chunk = static_cast<int>(blockIdx.x) % spans * kSpanChunks + Warp();
  const bool draw = p.temperature[row] != 0.0f;  // the step's upload: no need to wait for it
  __syncthreads();
  WaitForPrerequisites();
  const Workspace w = Layout(p);
  const RowFacts facts = Facts(ReduceRowParts(w, row, spans));
  if (chunk >= NumChunks(p.vocab)) return;
  const RowView view{p.logits + static_cast<size_t>(row) * p.vocab, facts.zero_row};
  const double x_max = facts.l_max;
  u64 hi = 0, lo = 0;
  double log_normalizer = 0.0;
  if (draw) {
    const FinalWeights weights = PlainWeights(p, row, facts.l_max, table);
    ForEachInChunk(view, chunk, ChunkSize(p.vocab), p.vocab, [&](int t, float l) {
      const Mass m = weights(t, l);
      hi += m.hi;
      lo += m.lo;
      log_normalizer += LogNormalizerTerm(l, x_max);
    });
  } else {
    ForEachInChunk(view, chunk, ChunkSize(p.vocab), p.vocab,
                   [&](int, float l) { log_normalizer += LogNormalizerTerm(l, x_max); });
  }
  hi = WarpSum(hi);
  lo = WarpSum(lo);
  log_normalizer = WarpSum(log_normalizer);
  if (Lane() != 0) return;
  const size_t at = static_cast<size_t>(row) * NumChunks(p.vocab) + chunk;
  w.masses[at] = {hi, lo};
  w.log_normalizer[at] = log_normalizer;
}

// Block r, kThreads threads (DrawFromChunks' one thread a chunk): row r's token, rank and logprob.
__global__ void __launch_bounds__(kThreads, 1) PlainDrawKernel(SamplingKernelParams p, int spans) {
  __shared__ Shared sh;
  LoadExpTable(sh.exp_table);
  AllowDependentLaunch();
  const int row = static_cast<int>(blockIdx.x);
  const int chunks = NumChunks(p.vocab);
  const float temperature = p.temperature[row];
  const uint64_t seed = p.seed[row];
  const int n = p.output_offsets != nullptr ? p.output_offsets[row + 1] - p.output_offsets[row] : 0;
  __syncthreads();
  WaitForPrerequisites();
  const Workspace w = Layout(p);
  const RowFacts facts = Facts(ReduceRowParts(w, row, spans));
  const float* raw = p.logits + static_cast<size_t>(row) * p.vocab;  // [vocab]
  const RowView view{raw, facts.zero_row};
  const size_t first_chunk = static_cast<size_t>(row) * chunks;
  int token = facts.argmax;
  if (temperature != 0.0f) {
    if (threadIdx.x < chunks) sh.bins.chunk.hi[threadIdx.x] = w.masses[first_chunk + threadIdx.x].hi;
    if (threadIdx.x < chunks) sh.bins.chunk.lo[threadIdx.x] = w.masses[first_chunk + threadIdx.x].lo;
    __syncthreads();
    const U128 target = ScaleByUniform(ChunkTotal(sh, p.vocab), UniformBits(seed, static_cast<uint64_t>(n), kSampleStream));
    token = DrawFromChunks(sh, view, p.vocab, PlainWeights(p, row, facts.l_max, sh.exp_table), target, facts.argmax);
  }
  // Rank and logprob under the raw row, as LaunchSampling's last pass.
  const float x_token = view.Logit(token);
  int greater = 0;
  ForEachToken(raw, facts.zero_row, p.vocab, [&](int, float x) { greater += x > x_token ? 1 : 0; });
  greater = BlockReduce(greater, [](int a, int b) { return a + b; }, sh.reduce);
  double sum = threadIdx.x < chunks ? w.log_normalizer[first_chunk + threadIdx.x] : 0.0;
  sum = BlockReduce(sum, [](double a, double b) { return a + b; }, sh.reduce);
  if (threadIdx.x != 0) return;
  p.sampled_token_ids[row] = token;
  if (p.sampled_logprobs != nullptr) {
    const double x_max = facts.l_max;
    p.sampled_logprobs[row] = static_cast<float>(static_cast<double>(x_token) - (x_max + log(sum)));
  }
  if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 1 + greater;
  if (p.draft_accepted != nullptr) p.draft_accepted[row] = 0;
}

}  // namespace

cudaError_t LaunchPlainSampling(const SamplingKernelParams& p, cudaStream_t stream) {
  if (p.num_rows < 0 || p.vocab < 1 || p.vocab > kMaxSamplingVocab) return cudaErrorInvalidValue;
  if (p.num_rows == 0) return cudaSuccess;
  if (p.logits == nullptr || p.temperature == nullptr || p.seed == nullptr || p.workspace == nullptr ||
      p.sampled_token_ids == nullptr) {
    return cudaErrorInvalidValue;
  }
  if (WorkspaceBytes(p.num_rows, p.vocab) > SamplingWorkspaceBytes(p.num_rows, p.vocab)) return cudaErrorInvalidValue;
  const int spans = NumSpans(p.vocab);
  const dim3 span_blocks(static_cast<unsigned>(p.num_rows) * static_cast<unsigned>(spans));
  cudaError_t error = LaunchWithPdl(PlainStatsKernel, span_blocks, kSpanThreads, 0, stream, p, spans);
  if (error == cudaSuccess) error = LaunchWithPdl(PlainMassKernel, span_blocks, kSpanThreads, 0, stream, p, spans);
  if (error == cudaSuccess) error = LaunchWithPdl(PlainDrawKernel, p.num_rows, kThreads, 0, stream, p, spans);
  return error;
}

}  // namespace specd::kernels
