// Sampling on the GPU: the twin of the CPU Sampler (engine/sampling/sampler.h) and of the draft
// verification of the CPU rejection sampler (engine/spec/rejection_sampler.h), for a batch of
// logits rows. One thread block per row; no host synchronization.
//
// What each row computes is sampler.cc's exact definition, steps 1-12, in its order: logit bias,
// min_tokens masking, repetition penalty (distinct prompt + output tokens), frequency then
// presence penalty (output tokens), sanitize (NaN -> -inf, +inf -> FLT_MAX, with the raw / uniform
// fallbacks), greedy argmax (lowest id on ties) or top-k, temperature (weights in double), top-p,
// min-p, and an inverse-CDF draw with Sampler::Uniform(seed, n, stream), n = the row's number of
// output tokens (the same SplitMix64 function, bit for bit). Steps 1-4 use the same fp32
// operations as the CPU (no contraction); top-k selects the exact k-th largest logit; the
// weights exp((l - l_max) / T) are doubles within an ulp of the CPU's (the quotient as the CPU
// rounds it, exp to about half an ulp like glibc's: equal bits for 99.8% of arguments).
//
// Sums are exact: each weight w in [0, 1] is truncated to a multiple of 2^-80 and summed in 128-bit
// integers, so top-p's cut, the normalizer and the draw do not depend on summation order (the
// result is deterministic, whatever the batch). The CPU sums doubles left to right, with its own
// rounding (~1e-13 of S for 128k terms); the two can differ only where u * S, or top-p's limit
// p * S, lies that close to a cumulative-sum boundary, or a weight within an ulp of min-p's
// threshold: about one draw in 1e12 for the draw, about vocab * 1e-13 rows for a top-p cut
// (~1e-8 at 128k). Tokens with w < 2^-80 (probability < 1e-24) are never drawn.
//
// Logprob and rank of the chosen token are of the raw row (sanitized), as SampledToken reports
// them: the rank exactly; the logprob from an fp32-exp / fp64-sum log-normalizer (|error| ~1e-6).
// top_logprobs alternatives are not computed here.
//
// Verification of drafts (Leviathan et al. 2023, rejection_sampler.cc) is a per-row mode: give a
// row a draft token d >= 0 and its row decides "accept d" (greedy: argmax == d; sampled: q(d) > 0
// and Uniform(seed, n, 1) < min(1, p(d) / q(d)), p = the processed distribution as float, q =
// draft_probs row or one-hot on d) or draws the corrected token from normalize(max(0, p - q))
// (p itself when that has no mass) with Uniform(seed, n, 2). A request with k drafts takes k + 1
// rows: row i (0..k) has output history = output so far + d_1..d_i, draft d_{i+1} for i < k and
// no draft (-1, plain sampling: the bonus token) for row k. Its emitted tokens are rows 0..j's
// tokens, j = the first row with accepted == 0, or k.
//
// Rows with invalid parameters (SamplingParams::Validate's ranges, token ids outside the
// vocabulary in a list the row uses, a draft id outside the vocabulary) get token -1 and
// logprob NaN; the rest of the batch is unaffected.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace specd::kernels {

inline constexpr int kMaxSamplingVocab = 1 << 20;

// Token lists are CSR: row r's list is ids[offsets[r] .. offsets[r + 1]). A null offsets array
// means every row's list is empty. Per-row parameter arrays marked "or null" default to "off".
struct SamplingKernelParams {
  const float* logits = nullptr;  // [num_rows, vocab], not modified
  int num_rows = 0;
  int vocab = 0;

  // Per row; ranges as SamplingParams::Validate accepts them.
  const float* temperature = nullptr;         // [num_rows]; 0: greedy
  const uint64_t* seed = nullptr;             // [num_rows]
  const int32_t* top_k = nullptr;             // [num_rows] or null; 0 or >= vocab: off
  const float* top_p = nullptr;               // [num_rows] or null; 1: off
  const float* min_p = nullptr;               // [num_rows] or null; 0: off
  const float* repetition_penalty = nullptr;  // [num_rows] or null; 1: off
  const float* presence_penalty = nullptr;    // [num_rows] or null; 0: off
  const float* frequency_penalty = nullptr;   // [num_rows] or null; 0: off
  const int32_t* min_tokens = nullptr;        // [num_rows] or null; 0: off
  const uint8_t* ignore_eos = nullptr;        // [num_rows] or null; 0: false

  // History. The number of output tokens n of a row is its RNG position and min_tokens count.
  const int32_t* prompt_offsets = nullptr;    // [num_rows + 1] or null
  const int32_t* prompt_token_ids = nullptr;  // [prompt_offsets[num_rows]]
  const int32_t* output_offsets = nullptr;    // [num_rows + 1] or null
  const int32_t* output_token_ids = nullptr;  // [output_offsets[num_rows]]

  // Logit bias, (token, bias) pairs; a row's tokens are distinct (a std::map's entries).
  const int32_t* logit_bias_offsets = nullptr;    // [num_rows + 1] or null
  const int32_t* logit_bias_token_ids = nullptr;  // [logit_bias_offsets[num_rows]]
  const float* logit_bias_values = nullptr;       // [logit_bias_offsets[num_rows]]

  // Masked while n < min_tokens: the row's stop token ids, and the model's eos ids unless the
  // row ignores eos.
  const int32_t* stop_token_offsets = nullptr;  // [num_rows + 1] or null
  const int32_t* stop_token_ids = nullptr;      // [stop_token_offsets[num_rows]]
  const int32_t* eos_token_ids = nullptr;       // [num_eos]
  int num_eos = 0;

  // Draft verification (see above); both null for plain sampling.
  const int32_t* draft_token_ids = nullptr;  // [num_rows] or null; -1: no draft
  const float* draft_probs = nullptr;        // [num_rows, vocab] or null (one-hot q); rows
                                             // without a draft are not read

  // Scratch of SamplingWorkspaceBytes(num_rows, vocab) bytes, 16-byte aligned; no contents needed.
  void* workspace = nullptr;

  // Outputs.
  int32_t* sampled_token_ids = nullptr;  // [num_rows]; -1 for a row with invalid parameters
  float* sampled_logprobs = nullptr;     // [num_rows] or null; raw log_softmax of the token
  int32_t* sampled_ranks = nullptr;      // [num_rows] or null; 1 + #tokens with a larger raw logit
  uint8_t* draft_accepted = nullptr;     // [num_rows] or null; 1 iff the row accepted its draft
};

size_t SamplingWorkspaceBytes(int num_rows, int vocab);

// cudaErrorInvalidValue for num_rows < 0, vocab outside [1, kMaxSamplingVocab], num_eos < 0, or
// (with rows to do) a missing required array (logits, temperature, seed, workspace,
// sampled_token_ids; eos ids when num_eos > 0; the ids of a list whose offsets are given; bias
// values with bias ids; draft ids with draft probs); num_rows == 0 launches nothing. Otherwise
// the launch's error.
cudaError_t LaunchSampling(const SamplingKernelParams& params, cudaStream_t stream);

}  // namespace specd::kernels
