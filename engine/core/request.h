// One generation request as the engine thread sees it: the V1 view of a sequence,
//
//   all_token_ids = prompt_token_ids ++ output_token_ids
//   [0, num_computed_tokens)             KV already in the cache
//   [num_computed_tokens, num_tokens())   still to compute (prompt chunk, or the last sampled token)
//   draft_token_ids                      proposed, to verify in the next step (spec decoding)
//
// Owned by the engine thread (Scheduler). Other threads only see RequestDeltas.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampling/sampling_params.h"

namespace specd {

using Clock = std::chrono::steady_clock;

enum class RequestState { kWaiting, kRunning, kFinished };

enum class FinishReason {
  kStop,     // eos, a stop token id, or a stop string (matched on the output side)
  kLength,   // max_tokens or the context length
  kAbort,    // client cancel or disconnect, Admin.Abort
  kDeadline, // the request's deadline passed
  kError,    // the engine could not run it (a runner error); the message says why
  kShutdown, // the server stopped before the request could finish (drain timeout, Stop)
};
const char* FinishReasonName(FinishReason reason);  // "stop", "length", "abort", ...

class OutputSink;     // engine/core/output_sink.h
struct QosClass;     // engine/core/engine_config.h

struct RequestTimings {
  Clock::time_point arrival;
  std::optional<Clock::time_point> first_scheduled;
  std::optional<Clock::time_point> first_token;
  std::optional<Clock::time_point> last_token;
  std::optional<Clock::time_point> finished;
};

struct Request {
  std::string request_id;
  uint64_t arrival_index = 0;  // Submit order; breaks priority ties (earlier first)
  std::vector<int32_t> prompt_token_ids;
  std::vector<int32_t> output_token_ids;
  std::vector<int32_t> all_token_ids;
  std::vector<int32_t> draft_token_ids;
  int64_t num_computed_tokens = 0;
  int64_t num_cached_tokens = 0;  // prompt tokens served by the prefix cache at first schedule

  SamplingParams sampling;
  uint64_t seed = 0;  // sampling.seed, or one drawn at Submit
  int32_t priority = 0;  // lower value runs first, as in vLLM
  const QosClass* qos = nullptr;  // resolved at Submit; the config outlives every request
  std::string cache_salt;
  std::optional<Clock::time_point> deadline;

  // Speculative decoding (engine/spec/). draft_token_ids continue all_token_ids; they occupy KV
  // slots (look-ahead) but count as tokens only once the target accepts them.
  bool spec_enabled = true;
  int32_t spec_max_draft_tokens = 0;  // the request's cap; 0: the server's
  int32_t spec_length = 0;            // the current adaptive draft length; 0: not chosen yet
  double spec_acceptance = 1.0;       // running acceptance rate (moving average)
  std::vector<float> draft_probs;     // [draft_token_ids.size(), vocab], or empty: one-hot
  int64_t draft_num_computed = 0;     // the draft model's KV holds positions [0, this)
  int32_t last_drafted = 0;           // drafts verified in the last step, and of those
  int32_t last_accepted = 0;          // accepted
  int64_t num_drafted_tokens = 0;     // over the request's life
  int64_t num_accepted_tokens = 0;
  std::vector<int64_t> accepted_per_position;  // [i]: drafts accepted at draft index i

  RequestState state = RequestState::kWaiting;
  std::optional<FinishReason> finish_reason;
  int32_t num_preemptions = 0;
  RequestTimings timings;
  std::shared_ptr<OutputSink> sink;

  int64_t num_tokens() const { return static_cast<int64_t>(all_token_ids.size()); }
  int64_t num_prompt_tokens() const { return static_cast<int64_t>(prompt_token_ids.size()); }
  int64_t num_output_tokens() const { return static_cast<int64_t>(output_token_ids.size()); }
  bool finished() const { return state == RequestState::kFinished; }

  void AppendOutputToken(int32_t token) {
    output_token_ids.push_back(token);
    all_token_ids.push_back(token);
  }
};

}  // namespace specd
