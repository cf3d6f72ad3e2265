// The plain-sampling fast path of GPU sampling (sampling.h): a batch whose every row is plain gets
// the tokens and ranks LaunchSampling gives it, from several thread blocks per row instead of one.
// At temperature 1 and vocab 128256 (the Llama-3.2-1B shape) LaunchSampling's one block per row
// cost ~120 us of a 1.2 ms decode step on an H100 (~210 us with top-p, ~140 with top-k),
// issue-bound on the double-precision weights.
//
// A plain row is either plain greedy (greedy_sampling.h's promise) or a plain draw: temperature
// T > 0 (finite), top_p in (0, 1] and top_k >= 0 (either or both), min_p in [0, 1],
// and nothing else applied: no logit bias, repetition penalty 1, presence and frequency penalties
// 0, no min_tokens masking in effect, no draft to verify. That is the caller's promise (the host
// knows each row's parameters). A draw row's token is sampler.cc's: top-k's floor or top-p's cut,
// then the inverse-CDF draw with Sampler::Uniform(seed, n, 0) over the exact 80-bit masses of
// w = exp((l - l_max) / T) (kept when inside the cut and w >= min_p), which do not depend on how
// the row is split; a greedy row's is the argmax. Rank and logprob are of the raw row, as LaunchSampling's; the logprob's
// log-normalizer is summed in another fixed order (within ~1e-7). draft_accepted is written 0:
// greedy rows' drafts are compared on the host (GpuSampler).
//
// Deterministic outputs (fixed reduction orders; integer sums; top-p's fp32 histogram only guides
// which tokens are sorted exactly; top-k's histogram counts exactly), stateless between launches (graph replays need no reset).
// Launches with programmatic dependent launch (pdl.cuh).
#pragma once

#include <cuda_runtime.h>

#include "kernels/sampling.h"

namespace specd::kernels {

// Reads logits, num_rows, vocab, temperature, seed, top_p, top_k and min_p (or null: 1, 0 and 0;
// with top_p and top_k both null the cut pass is skipped), output_offsets (or null: every row at n = 0) and the workspace
// (SamplingWorkspaceBytes(num_rows, vocab)); writes the outputs as LaunchGreedySampling does. The
// other parameter arrays are not read: every row must be plain (above). Refusals as
// LaunchSampling's for the arrays it reads; num_rows == 0 launches nothing.
cudaError_t LaunchPlainSampling(const SamplingKernelParams& params, cudaStream_t stream);

// The workspace LaunchPlainSampling uses (SamplingWorkspaceBytes covers it).
size_t PlainSamplingWorkspaceBytes(int num_rows, int vocab);

}  // namespace specd::kernels
