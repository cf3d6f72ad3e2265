// Fed tokens (ScheduledSequence::fed_from_sequence) resolved on the host: a runner whose previous
// step's sampled tokens are on the host (it sampled there, or it runs on the CPU) fills each fed
// sequence's token in from them before running the step.
#pragma once

#include <deque>
#include <vector>

#include "engine/base/status.h"
#include "engine/runner/model_runner.h"

namespace specd {

// INVALID_ARGUMENT unless every fed sequence brings exactly one token, no drafts, samples
// without penalties (they would read the placeholder the sequence's output history ends in) and
// names a sequence of a previous step of `previous_sequences` sequences.
Status CheckFedSequences(const SchedulerOutput& batch, size_t previous_sequences);

// Whether some sequence of the batch is fed.
bool HasFedSequences(const SchedulerOutput& batch);

class HostFedBatch {
 public:
  HostFedBatch() = default;
  // `previous`: ModelOutput::sampled of the step launched before `batch`. INVALID_ARGUMENT as
  // CheckFedSequences, or when the sequence a token is fed from did not sample exactly one token.
  // The batch's views must outlive the result.
  static StatusOr<HostFedBatch> Resolve(const SchedulerOutput& batch,
                                        const std::vector<std::vector<SampledToken>>& previous);

  HostFedBatch(HostFedBatch&&) = default;  // moving keeps the deque's elements in place
  HostFedBatch(const HostFedBatch&) = delete;

  // The batch with every fed token in place and no sequence fed.
  const SchedulerOutput& batch() const { return batch_; }

 private:
  SchedulerOutput batch_;
  std::deque<int32_t> tokens_;  // the fed tokens the batch's spans point to; a deque keeps them in place
};

}  // namespace specd
