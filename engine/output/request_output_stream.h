// RequestOutputStream: the output side of one request (DESIGN.md: an OutputSink per stream).
//
//   engine thread:   OnDelta(delta)  — queues and returns at once, never blocks
//   consumer thread: Next()          — merges everything queued since the last call into one
//                                      StreamOutput: incremental detokenization, stop strings
//                                      matched with hold-back, output cut exactly at a stop
//
// When a stop string matches, the stream finishes with FinishReason::kStop and the matched
// string, and calls `end_request` so the engine frees the request within a step; whatever the
// engine still sends for it is dropped. Detokenizing never runs on the engine thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/output_sink.h"
#include "engine/output/stop_string_matcher.h"
#include "engine/sampling/sampling_params.h"
#include "engine/tokenizer/incremental_detokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd {

struct StreamOutput {
  std::vector<TokenOutput> tokens;  // new tokens (cut after the one that completed a stop string)
  std::string text;                 // new text; empty when the stream does not detokenize
  std::optional<FinishReason> finish_reason;
  std::optional<std::string> matched_stop;      // the stop string that ended the request
  std::optional<int32_t> matched_stop_token;    // or the stop token id
  std::string error_message;
  RequestDelta last;  // the newest engine delta: usage counts and timings
};

class RequestOutputStream : public OutputSink {
 public:
  // `tokenizer` null: ids only (no text, no stop strings). `end_request` is called at most once,
  // from the consumer thread.
  RequestOutputStream(const Tokenizer* tokenizer, const SamplingParams& sampling,
                      std::function<void()> end_request);

  void OnDelta(const RequestDelta& delta) override;

  // Waits up to `timeout` for news. nullopt when there is none, and after the final output.
  std::optional<StreamOutput> Next(std::chrono::milliseconds timeout);
  bool finished() const { return finished_; }  // consumer thread only

 private:
  void Absorb(const RequestDelta& delta, StreamOutput& output);
  // Feeds one token's text; true when a stop string matched (the stream is then finished).
  bool AppendText(const std::string& piece, StreamOutput& output);
  void Finish(FinishReason reason, StreamOutput& output);

  const SamplingParams sampling_;
  std::function<void()> end_request_;
  std::optional<IncrementalDetokenizer> detokenizer_;
  StopStringMatcher stop_matcher_;
  bool finished_ = false;

  std::mutex mutex_;  // guards queue_
  std::condition_variable ready_;
  std::deque<RequestDelta> queue_;
};

}  // namespace specd
