// SamplingParams::Validate (see sampling_params.h). Pure: runs on whichever thread validates the
// request (the server's), before the request reaches the engine.
//
// Every range check is written as `!(in range)`, so that NaN, which fails every comparison, is
// rejected by the same test that rejects an out-of-range number.
#include "engine/sampling/sampling_params.h"

#include <cmath>
#include <sstream>

namespace specd {
namespace {

constexpr float kMaxAbsPenalty = 2.0f;     // presence / frequency penalty, OpenAI's range
constexpr float kMaxAbsLogitBias = 100.0f;  // OpenAI's range

// Formats a number the way the messages quote it: "-1", "0.5", "nan", "inf".
template <typename T>
std::string Quote(T value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// "<field> must be <range>, got <value>".
template <typename T>
Status RangeError(const std::string& field, const std::string& range, T value) {
  return InvalidArgumentError(field + " must be " + range + ", got " + Quote(value));
}

Status ValidateTemperature(float temperature) {
  if (!(temperature >= 0.0f)) return RangeError("temperature", ">= 0", temperature);
  if (std::isinf(temperature)) return RangeError("temperature", "finite", temperature);
  return OkStatus();
}

Status ValidateFilters(const SamplingParams& params) {
  if (!(params.top_k >= 0)) return RangeError("top_k", ">= 0 (0: off)", params.top_k);
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return RangeError("top_p", "in (0, 1]", params.top_p);
  }
  if (!(params.min_p >= 0.0f && params.min_p <= 1.0f)) {
    return RangeError("min_p", "in [0, 1]", params.min_p);
  }
  return OkStatus();
}

Status ValidatePenalties(const SamplingParams& params) {
  const float repetition = params.repetition_penalty;
  if (!(repetition > 0.0f)) return RangeError("repetition_penalty", "> 0", repetition);
  if (std::isinf(repetition)) return RangeError("repetition_penalty", "finite", repetition);
  const auto in_penalty_range = [](float value) {
    return value >= -kMaxAbsPenalty && value <= kMaxAbsPenalty;
  };
  if (!in_penalty_range(params.presence_penalty)) {
    return RangeError("presence_penalty", "in [-2, 2]", params.presence_penalty);
  }
  if (!in_penalty_range(params.frequency_penalty)) {
    return RangeError("frequency_penalty", "in [-2, 2]", params.frequency_penalty);
  }
  return OkStatus();
}

std::string VocabRange(int64_t vocab_size) { return "in [0, " + Quote(vocab_size) + ")"; }

Status ValidateLogitBias(const SamplingParams& params, int64_t vocab_size) {
  for (const auto& [token, bias] : params.logit_bias) {
    if (!(token >= 0 && token < vocab_size)) {
      return RangeError("logit_bias token id", VocabRange(vocab_size), token);
    }
    if (!(bias >= -kMaxAbsLogitBias && bias <= kMaxAbsLogitBias)) {
      return RangeError("logit_bias[" + Quote(token) + "]", "in [-100, 100]", bias);
    }
  }
  return OkStatus();
}

Status ValidateLengths(const SamplingParams& params) {
  if (!(params.max_tokens >= 1)) return RangeError("max_tokens", ">= 1", params.max_tokens);
  if (!(params.min_tokens >= 0 && params.min_tokens <= params.max_tokens)) {
    return RangeError("min_tokens", "in [0, max_tokens] = [0, " + Quote(params.max_tokens) + "]",
                      params.min_tokens);
  }
  return OkStatus();
}

Status ValidateStops(const SamplingParams& params, int64_t vocab_size) {
  for (size_t i = 0; i < params.stop_token_ids.size(); ++i) {
    const int32_t token = params.stop_token_ids[i];
    if (!(token >= 0 && token < vocab_size)) {
      return RangeError("stop_token_ids[" + Quote(i) + "]", VocabRange(vocab_size), token);
    }
  }
  if (params.stop.size() > static_cast<size_t>(kMaxStopStrings)) {
    return RangeError("stop", "at most " + Quote(kMaxStopStrings) + " strings",
                      params.stop.size());
  }
  for (size_t i = 0; i < params.stop.size(); ++i) {
    if (params.stop[i].empty()) {
      return InvalidArgumentError("stop[" + Quote(i) + "] must be a non-empty string");
    }
    if (params.stop[i].size() > static_cast<size_t>(kMaxStopStringBytes)) {
      return InvalidArgumentError("stop[" + Quote(i) + "] must be at most " +
                                  Quote(kMaxStopStringBytes) + " bytes, got " +
                                  Quote(params.stop[i].size()));
    }
  }
  return OkStatus();
}

}  // namespace

Status SamplingParams::Validate(int64_t vocab_size) const {
  SPECD_CHECK(vocab_size > 0) << "vocab_size " << vocab_size;
  SPECD_RETURN_IF_ERROR(ValidateTemperature(temperature));
  SPECD_RETURN_IF_ERROR(ValidateFilters(*this));
  SPECD_RETURN_IF_ERROR(ValidatePenalties(*this));
  SPECD_RETURN_IF_ERROR(ValidateLogitBias(*this, vocab_size));
  SPECD_RETURN_IF_ERROR(ValidateLengths(*this));
  SPECD_RETURN_IF_ERROR(ValidateStops(*this, vocab_size));
  if (!(top_logprobs >= 0 && top_logprobs <= kMaxTopLogprobs)) {
    return RangeError("top_logprobs", "in [0, " + Quote(kMaxTopLogprobs) + "]", top_logprobs);
  }
  return OkStatus();
}

}  // namespace specd
