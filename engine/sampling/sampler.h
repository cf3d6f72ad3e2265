// Sampler: turns one row of next-token logits into a token, on the CPU, for the CPU runner (the
// CUDA runner gets a GPU twin in the CUDA issue, which must draw the same tokens).
//
// Processing order (vLLM's): logit_bias; min_tokens masking (eos ids unless ignore_eos, and
// stop_token_ids, get -inf while fewer than min_tokens outputs exist); repetition penalty
// (prompt + output tokens: positive logits divided, negative multiplied); presence and frequency
// penalties (output tokens); temperature; top-k; top-p; min-p. Greedy (temperature 0) takes the
// argmax of the logits after bias, masking and penalties.
//
// Randomness is counter-based: the uniform for a request's n-th output token is a pure function
// of (seed, n), so a seeded request draws the same tokens whatever it is batched with, and after
// a preemption. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/sampling/sampling_params.h"

namespace specd {

struct SamplingRow {
  std::span<const float> logits;  // [vocab]
  const SamplingParams* params = nullptr;
  uint64_t seed = 0;
  std::span<const int32_t> prompt_token_ids;
  std::span<const int32_t> output_token_ids;  // so far; its size is n, the RNG counter
  std::span<const int32_t> eos_token_ids;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t token = 0;
  // Logprobs are of the model's raw distribution (log_softmax of the unprocessed logits), as
  // vLLM reports them by default.
  float logprob = 0.0f;
  int32_t rank = 0;  // 1 + the number of tokens with a larger raw logit
  std::vector<TokenLogprob> top_logprobs;  // params->top_logprobs entries, most likely first
};

class Sampler {
 public:
  static SampledToken Sample(const SamplingRow& row);

  // The distribution Sample draws from, after all processing: [vocab], sums to 1 (one-hot for
  // greedy). The rejection sampler of speculative decoding works on this.
  static std::vector<float> Probabilities(const SamplingRow& row);

  // What Sample reports when it draws `token`: the token, its logprob and rank under the raw row
  // and the row's params->top_logprobs alternatives. Precondition: 0 <= token < vocab.
  static SampledToken Score(const SamplingRow& row, int32_t token);

  // Step 12 of the draw on an explicit distribution `probs` [vocab] that sums to 1: the smallest
  // id t with probs[t] > 0 and u < probs[0] + ... + probs[t] (in double, id order); if rounding
  // leaves u past the total, the largest id with probs > 0. Precondition: some probs[t] > 0.
  static int32_t InverseCdf(std::span<const double> probs, double u);

  // Uniform in [0, 1) for output position `position` of a request with `seed`; `stream` keeps
  // independent draws for the same position apart (0: sampling, 1+: speculative decoding).
  static double Uniform(uint64_t seed, uint64_t position, uint64_t stream = 0);
};

}  // namespace specd
