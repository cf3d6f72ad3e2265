// The one contract that touches model math (DESIGN.md, "Two runners, one contract").
//
// The engine thread owns the runner and launches its steps (Launch, then Collect for the output;
// Execute does both). A step is a batch of sequences; each brings the tokens to compute now, at
// consecutive positions starting at its num_computed_tokens, and the block table that places
// every position in the paged KV cache:
//
//   positions  0 ........ start_position-1 | start_position ... start_position+n-1
//              (KV already in the cache)     (token_ids: computed now, KV written now)
//   slot(p) = block_table[p / block_size] * block_size + p % block_size
//
// One rule covers whole prompts, prompt chunks, single decode tokens and k+1 verify tokens:
// for speculative decoding the last num_draft_tokens of token_ids are drafts, the logits of the
// last num_draft_tokens + 1 positions are asked for, and the runner verifies the drafts.
//
// Overlapped steps: Launch queues a step and Collect returns its output, in launch order, so the
// engine can launch step n + 1 before it has step n's output. A sequence of step n + 1 that
// continues one of step n then takes its single token from what step n samples for it
// (fed_from_sequence): the runner fills it in, on the device where step n sampled there.
//
//   engine:  Launch(n) ─ Collect(n-1) ─ Update ─ Launch(n+1) ─ Collect(n) ─ Update ─ ...
//   GPU:     [ step n-1 ][ step n ][ step n+1 ] ...   (no idle time waiting for the host)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/sampling/sampler.h"

namespace specd {

// Views into the engine's requests and KV tables: valid for the duration of Launch.
struct ScheduledSequence {
  std::span<const int32_t> token_ids;  // the new tokens, at positions start_position, start_position+1, ...
  int64_t start_position = 0;          // tokens before it are already in the KV cache
  std::span<const int32_t> block_table;  // physical block ids covering positions [0, start_position + n);
                                         // kFreedBlock where a sliding window freed them
  std::vector<int32_t> logits_indices;  // indices into token_ids whose next-token logits are wanted
  // When set, the runner samples the next token from the last logits row, or, with drafts,
  // verifies them against the last num_draft_tokens + 1 rows (row.logits is filled by the
  // runner; the spans point into the engine's Request, valid during Launch).
  std::optional<SamplingRow> sampling;
  int32_t num_draft_tokens = 0;
  std::span<const float> draft_probs;  // [num_draft_tokens, vocab], or empty: one-hot drafts
  // >= 0: the sequence brings one token, not known yet when it was scheduled: the one the
  // previously launched step sampled for its sequence at this index (which sampled exactly one
  // token, no drafts). token_ids holds a placeholder, any id in the vocabulary, and so does the
  // end of its SamplingRow's output_token_ids: its sampling may not use repetition, presence or
  // frequency penalties.
  int32_t fed_from_sequence = -1;
};

struct SchedulerOutput {
  std::vector<ScheduledSequence> sequences;
};

struct ModelOutput {
  int64_t vocab_size = 0;
  // [num_rows, vocab_size], one row per logits index: sequences in order, each in the order of
  // its logits_indices. A runner that samples on the device may leave it empty when every
  // sequence with logits indices has a SamplingRow (nothing on the host reads them then).
  std::vector<float> logits;
  // One entry per sequence: empty without sampling; the sampled token; or, with drafts, the
  // accepted drafts followed by the corrected or bonus token.
  std::vector<std::vector<SampledToken>> sampled;

  int64_t num_rows() const { return vocab_size == 0 ? 0 : static_cast<int64_t>(logits.size()) / vocab_size; }
  const float* row(int64_t index) const { return logits.data() + index * vocab_size; }
};

// The paged KV cache a runner holds: the KV cache manager allocates block ids in [0, num_blocks).
struct KvCacheShape {
  int64_t num_blocks = 0;
  int64_t block_size = 0;
};

class ModelRunner {
 public:
  // Steps launched and not yet collected, at most.
  static constexpr int kMaxStepsInFlight = 2;

  virtual ~ModelRunner() = default;

  // Queues one step; the batch's views need to live only through the call. An error means the
  // step did not run (nothing to collect for it): INVALID_ARGUMENT (naming the sequence and the
  // problem) for a batch that does not fit the model or cache (token id outside the vocabulary,
  // position past the context length, block table too short or naming a block outside the
  // cache, bad logits index, a fed sequence the previous step did not sample one token for);
  // FAILED_PRECONDITION with kMaxStepsInFlight steps in flight.
  virtual Status Launch(const SchedulerOutput& batch) = 0;
  // The output of the oldest step launched and not collected; FAILED_PRECONDITION when none is.
  virtual StatusOr<ModelOutput> Collect() = 0;

  // One step, start to end: Launch then Collect. Precondition: no step in flight.
  StatusOr<ModelOutput> Execute(const SchedulerOutput& batch) {
    SPECD_RETURN_IF_ERROR(Launch(batch));
    return Collect();
  }

  virtual KvCacheShape kv_cache_shape() const = 0;
};

// Launch's refusal with `in_flight` steps launched and not collected, or OK.
inline Status CheckRoomForLaunch(size_t in_flight) {
  if (in_flight < ModelRunner::kMaxStepsInFlight) return OkStatus();
  return FailedPreconditionError("a step was launched with " + std::to_string(in_flight) +
                                 " steps in flight, the most a runner takes");
}

// Collect's refusal with no step in flight.
inline Status NothingToCollect() { return FailedPreconditionError("Collect without a step in flight"); }

}  // namespace specd
