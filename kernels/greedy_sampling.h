// The plain-greedy fast path of GPU sampling (sampling.h): a batch whose every row is greedy with
// nothing to apply gets the same tokens, ranks and logprobs as LaunchSampling gives it, from
// several thread blocks per row instead of one. Batch-1 greedy decode at vocab 128256 (the
// Llama-3.2-1B shape) spent 45 us a step, 3.6% of the 1.24 ms step on an H100 (ncu), in
// LaunchSampling's one block sweeping the row twice.
//
// "Plain greedy" is the caller's promise (the host knows each row's parameters): temperature 0,
// no logit bias, repetition penalty 1, presence and frequency penalties 0, no min_tokens masking
// in effect, and top_k / top_p / min_p within SamplingParams::Validate's ranges. Drafts are not
// read: at temperature 0 a row's draft is accepted exactly when it is the row's token, which the
// caller compares (GpuSampler does, on the host). Such a row's token is the argmax of the
// sanitized raw row (lowest id on ties; nothing finite: token 0), its rank is 1 (nothing is
// larger than the max) and its logprob the raw log_softmax of that token, the same fp32-exp /
// fp64-sum log-normalizer as LaunchSampling's, summed in another (fixed) order: equal to it
// within ~1e-7.
//
// Deterministic (fixed reduction orders, no atomics) and stateless: the workspace needs no
// contents, so the launches replay in CUDA graphs as they are.
#pragma once

#include <cuda_runtime.h>

#include "kernels/sampling.h"

namespace specd::kernels {

// Reads only logits, num_rows, vocab and workspace (SamplingWorkspaceBytes(num_rows, vocab) is
// more than it needs) and writes the outputs: sampled_token_ids; sampled_logprobs,
// sampled_ranks and draft_accepted (0: see above) when given. The per-row parameter arrays are not read:
// every row must be plain greedy (above). Refusals as LaunchSampling's for the arrays it reads;
// num_rows == 0 launches nothing. Launches with programmatic dependent launch (pdl.cuh).
cudaError_t LaunchGreedySampling(const SamplingKernelParams& params, cudaStream_t stream);

}  // namespace specd::kernels
