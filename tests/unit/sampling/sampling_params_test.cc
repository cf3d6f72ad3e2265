// SamplingParams::Validate: every accepted boundary and every error message, word for word.
#include "engine/sampling/sampling_params.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

namespace specd {
namespace {

constexpr int64_t kVocab = 100;
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The message of Validate, or "OK".
template <typename Mutator>
std::string Error(Mutator mutate) {
  SamplingParams params;
  mutate(params);
  const Status status = params.Validate(kVocab);
  if (status.ok()) return "OK";
  CHECK(status.code() == StatusCode::kInvalidArgument);
  return status.message();
}

TEST_CASE("Validate accepts the defaults and every boundary value", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams&) {}) == "OK");
  CHECK(Error([](SamplingParams& p) {
          p.temperature = 0.0f;
          p.top_k = 1000;  // larger than the vocabulary: simply off
          p.top_p = 1.0f;
          p.min_p = 1.0f;
          p.repetition_penalty = 1e-3f;
          p.presence_penalty = -2.0f;
          p.frequency_penalty = 2.0f;
          p.logit_bias = {{0, -100.0f}, {kVocab - 1, 100.0f}};
          p.max_tokens = 1;
          p.min_tokens = 1;
          p.stop_token_ids = {0, kVocab - 1};
          p.stop = std::vector<std::string>(kMaxStopStrings, "x");
          p.top_logprobs = kMaxTopLogprobs;
        }) == "OK");
  CHECK(Error([](SamplingParams& p) {
          p.top_p = 1e-6f;
          p.min_p = 0.0f;
          p.presence_penalty = 2.0f;
          p.frequency_penalty = -2.0f;
          p.min_tokens = p.max_tokens;
        }) == "OK");
}

TEST_CASE("Validate names temperature", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.temperature = -1.0f; }) ==
        "temperature must be >= 0, got -1");
  CHECK(Error([](SamplingParams& p) { p.temperature = kNan; }) ==
        "temperature must be >= 0, got nan");
  CHECK(Error([](SamplingParams& p) { p.temperature = kInf; }) ==
        "temperature must be finite, got inf");
}

TEST_CASE("Validate names top_k, top_p and min_p", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.top_k = -1; }) == "top_k must be >= 0 (0: off), got -1");
  CHECK(Error([](SamplingParams& p) { p.top_p = 0.0f; }) == "top_p must be in (0, 1], got 0");
  CHECK(Error([](SamplingParams& p) { p.top_p = 1.5f; }) == "top_p must be in (0, 1], got 1.5");
  CHECK(Error([](SamplingParams& p) { p.top_p = kNan; }) == "top_p must be in (0, 1], got nan");
  CHECK(Error([](SamplingParams& p) { p.min_p = -0.5f; }) ==
        "min_p must be in [0, 1], got -0.5");
  CHECK(Error([](SamplingParams& p) { p.min_p = 1.25f; }) ==
        "min_p must be in [0, 1], got 1.25");
  CHECK(Error([](SamplingParams& p) { p.min_p = kNan; }) == "min_p must be in [0, 1], got nan");
}

TEST_CASE("Validate names the penalties", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.repetition_penalty = 0.0f; }) ==
        "repetition_penalty must be > 0, got 0");
  CHECK(Error([](SamplingParams& p) { p.repetition_penalty = -1.5f; }) ==
        "repetition_penalty must be > 0, got -1.5");
  CHECK(Error([](SamplingParams& p) { p.repetition_penalty = kNan; }) ==
        "repetition_penalty must be > 0, got nan");
  CHECK(Error([](SamplingParams& p) { p.repetition_penalty = kInf; }) ==
        "repetition_penalty must be finite, got inf");
  CHECK(Error([](SamplingParams& p) { p.presence_penalty = 2.5f; }) ==
        "presence_penalty must be in [-2, 2], got 2.5");
  CHECK(Error([](SamplingParams& p) { p.presence_penalty = kNan; }) ==
        "presence_penalty must be in [-2, 2], got nan");
  CHECK(Error([](SamplingParams& p) { p.frequency_penalty = -3.0f; }) ==
        "frequency_penalty must be in [-2, 2], got -3");
  CHECK(Error([](SamplingParams& p) { p.frequency_penalty = -kInf; }) ==
        "frequency_penalty must be in [-2, 2], got -inf");
}

TEST_CASE("Validate names logit_bias ids and values", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.logit_bias = {{kVocab, 1.0f}}; }) ==
        "logit_bias token id must be in [0, 100), got 100");
  CHECK(Error([](SamplingParams& p) { p.logit_bias = {{-1, 1.0f}}; }) ==
        "logit_bias token id must be in [0, 100), got -1");
  CHECK(Error([](SamplingParams& p) { p.logit_bias = {{5, 150.0f}}; }) ==
        "logit_bias[5] must be in [-100, 100], got 150");
  CHECK(Error([](SamplingParams& p) { p.logit_bias = {{7, -100.5f}}; }) ==
        "logit_bias[7] must be in [-100, 100], got -100.5");
  CHECK(Error([](SamplingParams& p) { p.logit_bias = {{3, kNan}}; }) ==
        "logit_bias[3] must be in [-100, 100], got nan");
}

TEST_CASE("Validate names max_tokens and min_tokens", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.max_tokens = 0; }) == "max_tokens must be >= 1, got 0");
  CHECK(Error([](SamplingParams& p) { p.min_tokens = -1; }) ==
        "min_tokens must be in [0, max_tokens] = [0, 16], got -1");
  CHECK(Error([](SamplingParams& p) {
          p.max_tokens = 4;
          p.min_tokens = 5;
        }) == "min_tokens must be in [0, max_tokens] = [0, 4], got 5");
}

TEST_CASE("Validate names stop_token_ids and stop strings", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.stop_token_ids = {1, kVocab}; }) ==
        "stop_token_ids[1] must be in [0, 100), got 100");
  CHECK(Error([](SamplingParams& p) { p.stop_token_ids = {-2}; }) ==
        "stop_token_ids[0] must be in [0, 100), got -2");
  CHECK(Error([](SamplingParams& p) { p.stop = {"a", ""}; }) ==
        "stop[1] must be a non-empty string");
  CHECK(Error([](SamplingParams& p) {
          p.stop = std::vector<std::string>(kMaxStopStrings + 1, "x");
        }) == "stop must be at most 16 strings, got 17");
}

TEST_CASE("Validate names top_logprobs", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) { p.top_logprobs = 21; }) ==
        "top_logprobs must be in [0, 20], got 21");
  CHECK(Error([](SamplingParams& p) { p.top_logprobs = -1; }) ==
        "top_logprobs must be in [0, 20], got -1");
}

TEST_CASE("Validate reports the first bad field in declaration order", "[cpu][sampling]") {
  CHECK(Error([](SamplingParams& p) {
          p.top_logprobs = 99;
          p.top_p = 0.0f;
          p.max_tokens = 0;
        }) == "top_p must be in (0, 1], got 0");
}

}  // namespace
}  // namespace specd
