// Proposer: proposes draft tokens for running requests, once per engine step after the
// target's tokens are in (engine thread only).
//
// Each proposal is for one request: at most `max_tokens` draft tokens continuing
// all_token_ids. A proposer that samples (the draft model on a sampled request) also returns
// its distribution for each draft, which the rejection sampler needs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/request.h"

namespace specd {

struct DraftRequest {
  Request* request = nullptr;
  int32_t max_tokens = 0;                // > 0
  std::span<const int32_t> block_table;  // covers num_tokens() - 1 + max_tokens positions
};

struct Draft {
  std::vector<int32_t> tokens;  // 0..max_tokens
  std::vector<float> probs;     // [tokens.size(), vocab], or empty: deterministic (one-hot q)
};

class Proposer {
 public:
  virtual ~Proposer() = default;
  // One Draft per DraftRequest, in order. Per-request state a proposer needs (the draft model's
  // KV progress) lives in the Request, so nothing is kept between calls.
  virtual std::vector<Draft> Propose(std::span<const DraftRequest> requests) = 0;
};

}  // namespace specd
