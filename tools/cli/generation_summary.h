// GenerationSummary: what one Generate stream produced, gathered message by message, for
// `specd-cli generate --json`.
//
//   {"request_id": "req-0", "prompt_tokens": 3, "token_ids": [212, 362], "text": "...",
//    "finish_reason": "length", "stop_string": "...", (or "stop_token_id": 7, when one matched)
//    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "cached_tokens": 0,
//              "draft_tokens": 0, "accepted_tokens": 0},
//    "timings": {"queue_seconds": ..., "time_to_first_token_seconds": ...,
//                "decode_seconds": ..., "total_seconds": ...}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "specd/v1/generation.pb.h"

namespace specd::cli {

class GenerationSummary {
 public:
  // Takes the next message of the stream (prompt_info, delta or finish).
  void Add(const v1::GenerateResponse& response);

  const std::string& text() const { return text_; }
  bool finished() const { return finish_.has_value(); }

  // The summary above; "finish_reason", "usage" and "timings" only once finished.
  nlohmann::json ToJson() const;

 private:
  std::string request_id_;
  std::optional<uint32_t> prompt_tokens_;
  std::vector<int32_t> token_ids_;
  std::string text_;
  std::optional<v1::Finish> finish_;
};

// "stop", "length" or "unspecified".
std::string FinishReasonName(v1::FinishReason reason);

}  // namespace specd::cli
