// SpecDecoder: after each step, decides each decoding request's draft length, makes room for
// the drafts in the KV cache and asks the proposer for them. Engine thread only.
//
// Draft length per request: starts at chunk_size; after each verification the request's running
// acceptance (a moving average of accepted / drafted) below acceptance_target drops it to
// fallback_chunk_size, at or above it the length climbs by one toward max_spec_tokens. It is
// capped by the request's own cap, by what max_tokens and the context leave (the bonus token
// comes on top), and is 0 for requests with speculation off and while more than
// max_batch_size requests run (large batches are compute-bound: drafts stop paying).
#pragma once

#include <memory>

#include "engine/core/scheduler.h"
#include "engine/spec/proposer.h"
#include "engine/spec/spec_config.h"

namespace specd {

class SpecDecoder {
 public:
  SpecDecoder(const SpecConfig& config, std::unique_ptr<Proposer> proposer, int64_t max_model_len);

  // Sets draft_token_ids (and draft_probs) of the scheduler's decoding requests that have none
  // pending.
  void ProposeDrafts(Scheduler& scheduler);

  // Whether ProposeDrafts may draft for anyone now: at most max_batch_size requests run and one
  // of them has speculation on. False lets the engine run steps ahead (engine_core.h).
  bool MayDraft(const Scheduler& scheduler) const;

  // The draft length the request would get now (for tests); updates its adaptive length from
  // its last verification.
  int32_t DraftLength(Request& request, size_t num_running) const;

 private:
  void AdaptLength(Request& request) const;

  const SpecConfig config_;
  const std::unique_ptr<Proposer> proposer_;
  const int64_t max_model_len_;
};

}  // namespace specd
