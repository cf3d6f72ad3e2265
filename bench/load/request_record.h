// RequestRecord: what the load generator saw of one request, on the run's clock (seconds since
// the run started), and the per-request latencies derived from it:
//
//   scheduled   sent        first token      later deltas ...        finish
//   |--- lag ---|---- TTFT ----|----------- decode -----------------|
//               |---------------------- E2E ---------------------------|
//   TPOT = (E2E - TTFT) / (output tokens - 1)       (requests with more than one token)
//   ITL  = the gap before each later delta, split evenly over its tokens (a speculative step
//          delivers several tokens at once; the server's /metrics histogram counts the same way)
//
// Written by one stream's reactor while the request runs, read by the runner after it ended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace specd::bench {

struct TokenArrival {
  double time_s = 0;
  int64_t tokens = 0;
};

struct RequestRecord {
  static constexpr char kOk[] = "OK";

  int64_t index = 0;
  double scheduled_s = 0;   // when the plan said to send it (closed loop: when a client was free)
  double sent_s = 0;
  double done_s = 0;        // the stream's final status arrived
  std::optional<double> finish_s;       // the Finish message arrived
  std::vector<TokenArrival> arrivals;   // each delta that carried token ids
  // "OK" (finished), a gRPC code name ("RESOURCE_EXHAUSTED"), or "INCOMPLETE_STREAM" (status OK
  // but no Finish message).
  std::string outcome = kOk;
  std::string error_message;
  int64_t requested_prompt_tokens = 0;
  int64_t max_tokens = 0;
  // From the Finish message's usage.
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t draft_tokens = 0;
  int64_t accepted_tokens = 0;

  bool finished() const { return outcome == kOk; }
  int64_t OutputTokens() const;   // token ids received
  double LagS() const { return sent_s - scheduled_s; }
  std::optional<double> TtftS() const;
  double E2eS() const;            // to the Finish message, or to the status without one
  std::optional<double> TpotS() const;
  void AppendItlS(std::vector<double>& out) const;
};

}  // namespace specd::bench
