// Sampling kernels (see sampling.h): one block of kThreads per row, all state in shared memory.
// Launched on the caller's stream by LaunchSampling; no host synchronization.
//
// Per row, in order (every stage is block-uniform; "pass" = one sweep over the vocabulary):
//   1. steps 1-4 into the workspace copy of the row (only when the row has something to apply);
//      dedup / counting of history tokens through the row's int workspace and global atomics
//   2. stats pass: max + argmax (lowest id), min finite, #finite; step 5's fallbacks
//   3. greedy: argmax. Else
//      top-k: Select (count mode, limit k) -> the threshold logit (exact float compares);
//      top-p: TopPFastPath (below), else Select (mass mode, limit ceil(p * S)) -> cut (l, id);
//      min-p and the draw: mass of id-ordered chunks, a scan over chunks, a block scan of the
//      chosen chunk
//   4. raw pass: rank and log-normalizer of the chosen token
//
// Masses are w = exp((l - l_max) / T) (double, ExpNonPositive) truncated to 80 fractional bits,
// w in [0, 1]:
//   mass = hi * 2^40 + lo,  hi <= 2^40, lo < 2^40   (two 64-bit limbs; sums of up to 2^20
//   tokens fit each limb), combined in unsigned __int128. Integer sums: exact, order-free.
//
// Select finds the cut element e of the order (l descending, id ascending) over candidates with
// mass m: ahead(e) < limit <= ahead(e) + m(e), ahead = mass of the candidates before e.
//   level:  histogram of mass over kNumBins bins, linear in the logit over [lo, hi] (clamped, so
//           monotone in the order) -> the bin b* holding the cut (exclusive scan over bins)
//           b* small enough: gather (key, id) into shared memory, bitonic sort, scan -> e
//           else: next level over [min, max] logit of b*'s candidates; one logit value (ties):
//           the cut is the q-th smallest id of the tie group (q from the arithmetic), found by
//           the same levels binning ids (count mode)
// TopPFastPath does the usual top-p row in one exact pass: an fp32 histogram picks the few bins
// around p * S, the exact pass sums S, the mass ahead of those bins and the draw's chunk sums,
// and gathers the bins' tokens; an exact check of the pick, else Select.
//
// Cost: one SM per row, bound by instruction issue (~100 instructions per token for the exact
// double weights); rows run in parallel on the other SMs.
//
// The kernel's pieces, in dependency order: sampling_math.cuh (constants, scalars),
// sampling_collectives.cuh, sampling_state.cuh (shared state, row sweeps), sampling_select.cuh,
// sampling_draw.cuh, sampling_top_p.cuh, sampling_stages.cuh; this file holds the kernel and
// its launcher.
#include "kernels/sampling.h"

#include <algorithm>

#include "kernels/pdl.cuh"
#include "kernels/plain_sampling.h"
#include "kernels/sampling_draw.cuh"
#include "kernels/sampling_select.cuh"
#include "kernels/sampling_stages.cuh"
#include "kernels/sampling_top_p.cuh"

namespace specd::kernels {
namespace {

__global__ void __launch_bounds__(kThreads, 1) SamplingKernel(SamplingKernelParams p) {
  __shared__ Shared sh;
  RowState& s = sh.row;
  const int row = blockIdx.x;
  const int tid = threadIdx.x;
  const int vocab = p.vocab;
  const float* raw = p.logits + static_cast<size_t>(row) * vocab;
  char* workspace = static_cast<char*>(p.workspace) + static_cast<size_t>(row) * vocab * 8;
  float* ws = reinterpret_cast<float*>(workspace);
  int* counts = reinterpret_cast<int*>(workspace + static_cast<size_t>(vocab) * 4);

  if (tid < kExpTableSize) {
    sh.exp_table[tid] = kExp2TableHi[tid];
    sh.exp_table[kExpTableSize + tid] = kExp2TableLo[tid];
  }
  AllowDependentLaunch();
  WaitForPrerequisites();  // the logits, and the row's inputs, come from the kernels and copies before
  LoadRow(p, row, s);  // syncs
  const auto write_invalid = [&]() {
    if (tid != 0) return;
    p.sampled_token_ids[row] = -1;
    if (p.sampled_logprobs != nullptr) p.sampled_logprobs[row] = NAN;
    if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 0;
    if (p.draft_accepted != nullptr) p.draft_accepted[row] = 0;
  };
  if (s.invalid) {
    write_invalid();
    return;
  }

  // Steps 1-5.
  const int n = s.output_end - s.output_begin;
  const bool masking = n < s.min_tokens &&
                       (s.stop_end > s.stop_begin || (!s.ignore_eos && p.num_eos > 0));
  const bool modified =
      s.bias_end > s.bias_begin || masking ||
      (s.repetition != 1.0f && s.prompt_end - s.prompt_begin + n > 0) ||
      ((s.presence != 0.0f || s.frequency != 0.0f) && n > 0);
  if (modified) {
    ProcessLogits(p, sh, raw, ws, counts);
    if (s.invalid) {
      write_invalid();
      return;
    }
  }
  if (tid == 0) {
    s.source = modified ? ws : raw;
    s.zero_row = false;
  }
  __syncthreads();
  RowStats(sh, vocab, modified);
  if (s.num_finite == 0 && modified) {
    if (tid == 0) s.source = raw;  // nothing finite after processing: the raw row
    __syncthreads();
    RowStats(sh, vocab, false);
  }
  if (s.num_finite == 0) {
    __syncthreads();
    if (tid == 0) {  // nothing finite at all: uniform
      s.zero_row = true;
      s.l_max = 0.0f;
      s.l_argmax = 0;
      s.l_min_finite = 0.0f;
      s.num_finite = vocab;
    }
  }
  __syncthreads();
  const RowView view{s.source, s.zero_row};

  bool accepted = false;
  int token = s.l_argmax;
  if (s.temperature != 0.0f) {
    const double l_max = s.l_max;
    const double temperature = s.temperature;
    const Weigher weigh{l_max, temperature, __drcp_rn(temperature), sh.exp_table,
                        __double2float_rd(l_max + kSkipExponent * temperature)};
    const double min_p = s.min_p;
    float floor_l = -kInf;
    // 7. top-k: the k-th largest logit (counting ties); all kept if fewer are finite.
    if (s.top_k > 0 && s.top_k < vocab && s.top_k <= s.num_finite) {
      const SelectInput in{false, false, -kInf, 1.0f, s.top_k, s.l_min_finite, weigh};
      Select(sh, view, in, vocab);
      floor_l = sh.cut_l;
    }
    // 9. top-p: the cut of the kept order (fast path, else the general Select).
    bool has_cut = false;
    bool chunks_done = false;
    float cut_l = 0.0f;
    int cut_id = 0;
    if (s.top_p < 1.0f) {
      const double map_lo = fmax(fmax(static_cast<double>(s.l_min_finite), static_cast<double>(floor_l)),
                                 l_max - kMassRangeInTemperatures * temperature);
      chunks_done = TopPFastPath(sh, view, weigh, map_lo, floor_l, s.top_p, min_p, vocab);
      if (!chunks_done) {
        const SelectInput in{true, true, floor_l, s.top_p, 0, map_lo, weigh};
        Select(sh, view, in, vocab);
      }
      has_cut = true;
      cut_l = sh.cut_l;
      cut_id = sh.cut_id;
    }
    // 10-12.
    const FinalWeights weights{weigh, floor_l, has_cut, cut_l, cut_id, min_p};
    const U128 sum = chunks_done ? ChunkTotal(sh, vocab) : ChunkSums(sh, view, vocab, weights);
    const uint64_t position = static_cast<uint64_t>(n);
    if (s.draft < 0) {
      const U128 target = ScaleByUniform(sum, UniformBits(s.seed, position, kSampleStream));
      token = DrawFromChunks(sh, view, vocab, weights, target, s.l_argmax);
    } else {
      const double sum_d = U128ToDouble(sum) * kInvTwoPowMass;
      const float* q = p.draft_probs != nullptr
                           ? p.draft_probs + static_cast<size_t>(row) * vocab
                           : nullptr;
      ResidualWeights residual{weights, sum_d, q, s.draft, false};
      const double p_draft = residual.P(s.draft, view.Logit(s.draft));
      const double q_draft = q != nullptr ? static_cast<double>(q[s.draft]) : 1.0;
      const double u = static_cast<double>(UniformBits(s.seed, position, kAcceptStream)) *
                       kInvTwoPow53;
      accepted = q_draft > 0.0 && u < fmin(1.0, __ddiv_rn(p_draft, q_draft));
      if (accepted) {
        token = s.draft;
      } else {
        U128 residual_sum = ChunkSums(sh, view, vocab, residual);
        if (residual_sum == 0) {
          residual.use_p = true;
          residual_sum = ChunkSums(sh, view, vocab, residual);
        }
        const U128 target =
            ScaleByUniform(residual_sum, UniformBits(s.seed, position, kResidualStream));
        token = DrawFromChunks(sh, view, vocab, residual, target, s.l_argmax);
      }
    }
  } else {
    accepted = token == s.draft;
  }

  // Logprob and rank of the token under the raw row.
  const float x_token = s.raw_zero ? 0.0f : Sanitize(raw[token]);
  const double x_max = s.x_max;
  double sum = 0.0;
  int greater = 0;
  ForEachToken(raw, s.raw_zero, vocab, [&](int, float x) {
    greater += x > x_token ? 1 : 0;
    sum += LogNormalizerTerm(x, x_max);
  });
  sum = BlockReduce(sum, [](double a, double b) { return a + b; }, sh.reduce);
  greater = BlockReduce(greater, [](int a, int b) { return a + b; }, sh.reduce);
  if (tid == 0) {
    p.sampled_token_ids[row] = token;
    if (p.sampled_logprobs != nullptr) {
      p.sampled_logprobs[row] =
          static_cast<float>(static_cast<double>(x_token) - (x_max + log(sum)));
    }
    if (p.sampled_ranks != nullptr) p.sampled_ranks[row] = 1 + greater;
    if (p.draft_accepted != nullptr) p.draft_accepted[row] = accepted ? 1 : 0;
  }
}

}  // namespace

// 8 bytes a token (the processed row and its counts), or the plain-sampling fast path's when more.
size_t SamplingWorkspaceBytes(int num_rows, int vocab) {
  if (num_rows <= 0 || vocab <= 0) return 0;
  return std::max(static_cast<size_t>(num_rows) * static_cast<size_t>(vocab) * (sizeof(float) + sizeof(int)),
                  PlainSamplingWorkspaceBytes(num_rows, vocab));
}

cudaError_t LaunchSampling(const SamplingKernelParams& p, cudaStream_t stream) {
  if (p.num_rows < 0 || p.vocab < 1 || p.vocab > kMaxSamplingVocab || p.num_eos < 0) {
    return cudaErrorInvalidValue;
  }
  if (p.num_rows == 0) return cudaSuccess;
  const bool missing =
      p.logits == nullptr || p.temperature == nullptr || p.seed == nullptr ||
      p.workspace == nullptr || p.sampled_token_ids == nullptr ||
      (p.num_eos > 0 && p.eos_token_ids == nullptr) ||
      (p.prompt_offsets != nullptr && p.prompt_token_ids == nullptr) ||
      (p.output_offsets != nullptr && p.output_token_ids == nullptr) ||
      (p.logit_bias_offsets != nullptr &&
       (p.logit_bias_token_ids == nullptr || p.logit_bias_values == nullptr)) ||
      (p.stop_token_offsets != nullptr && p.stop_token_ids == nullptr) ||
      (p.draft_probs != nullptr && p.draft_token_ids == nullptr);
  if (missing) return cudaErrorInvalidValue;
  // A programmatic dependent of the lm_head (pdl.cuh): its blocks are scheduled while the lm_head drains.
  return LaunchWithPdl(SamplingKernel, p.num_rows, kThreads, 0, stream, p);
}

}  // namespace specd::kernels
