// What the engine tells the outside world about a request, one RequestDelta per step in which
// something happened to it, through the request's OutputSink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/request.h"
#include "engine/sampling/sampler.h"

namespace specd {

struct TokenOutput {
  int32_t token = 0;
  float logprob = 0.0f;
  int32_t rank = 0;
  std::vector<TokenLogprob> top_logprobs;
};

struct RequestDelta {
  std::string request_id;
  std::vector<TokenOutput> tokens;  // generated this step, in order
  int64_t num_prompt_tokens = 0;
  int64_t num_cached_tokens = 0;    // prompt tokens served by the prefix cache
  int64_t num_output_tokens = 0;    // so far, these included
  int32_t num_preemptions = 0;      // times the request was preempted so far
  int64_t num_drafted_tokens = 0;   // speculative decoding, so far: draft tokens verified
  int64_t num_accepted_tokens = 0;  // and accepted
  std::vector<int64_t> accepted_per_position;  // on the final delta: [i] accepted at draft index i
  std::optional<FinishReason> finish_reason;  // set on the request's last delta only
  std::string error_message;                  // with FinishReason::kError
  RequestTimings timings;
};

// Receives a request's deltas. Called on the engine thread: must not block (a server sink
// queues or merges deltas and writes from its own thread). Exactly one delta carries a
// finish_reason, and it is the last.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void OnDelta(const RequestDelta& delta) = 0;
};

}  // namespace specd
