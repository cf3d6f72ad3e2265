// Per-request sampling and stopping parameters, as the API takes them, with their validation.
// Plain data: copied into the Request at Submit and read by the engine thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

inline constexpr int32_t kMaxTopLogprobs = 20;
inline constexpr int32_t kMaxStopStrings = 16;  // stop strings per request
inline constexpr int32_t kMaxStopStringBytes = 256;

struct SamplingParams {
  // Sampling. temperature 0 means greedy (argmax); the other knobs are then ignored.
  float temperature = 1.0f;
  int32_t top_k = 0;        // 0: off
  float top_p = 1.0f;       // 1: off
  float min_p = 0.0f;       // 0: off
  float repetition_penalty = 1.0f;  // over prompt and output tokens; 1: off
  float presence_penalty = 0.0f;    // over output tokens; 0: off
  float frequency_penalty = 0.0f;   // over output tokens; 0: off
  std::map<int32_t, float> logit_bias;  // token id -> added to its logit
  // Same seed, same prompt, same parameters: same tokens, whatever else is in the batch.
  // Unseeded requests get a random seed at Submit.
  std::optional<uint64_t> seed;

  // Stopping.
  int32_t max_tokens = 16;
  int32_t min_tokens = 0;   // eos and stop_token_ids are masked until this many tokens exist
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
  std::vector<std::string> stop;  // stop strings, matched on the detokenized output
  bool include_stop_str_in_output = false;

  // Output.
  int32_t top_logprobs = 0;  // 0..kMaxTopLogprobs alternatives per token (the sampled token's
                             // own logprob is always reported)

  bool greedy() const { return temperature == 0.0f; }

  // INVALID_ARGUMENT naming the field and the accepted range ("top_p must be in (0, 1], got 0").
  Status Validate(int64_t vocab_size) const;
};

}  // namespace specd
