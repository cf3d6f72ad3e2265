// NgramProposer: prompt lookup. For each request, find the most recent earlier occurrence of its
// last n tokens (n from max_n down to min_n; the longest match wins, the latest occurrence among
// equals) in its own all_token_ids, and propose the tokens that followed it (up to max_tokens,
// never past the end of the context). Deterministic: no draft probabilities. Engine thread.
#pragma once

#include "engine/spec/proposer.h"

namespace specd {

class NgramProposer : public Proposer {
 public:
  // Precondition: 1 <= min_n <= max_n.
  NgramProposer(int32_t min_n, int32_t max_n);

  std::vector<Draft> Propose(std::span<const DraftRequest> requests) override;

  // The proposal for one token sequence (exposed for tests).
  std::vector<int32_t> ProposeFor(std::span<const int32_t> tokens, int32_t max_tokens) const;

 private:
  int32_t min_n_;
  int32_t max_n_;
};

}  // namespace specd
