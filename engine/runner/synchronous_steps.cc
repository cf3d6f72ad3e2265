#include "engine/runner/synchronous_steps.h"

#include <string>

#include "engine/runner/fed_tokens.h"

namespace specd {

Status SynchronousSteps::Launch(const SchedulerOutput& batch, const RunStep& run) {
  if (outputs_.size() >= ModelRunner::kMaxStepsInFlight) {
    return FailedPreconditionError("a step was launched with " + std::to_string(outputs_.size()) +
                                   " steps in flight, the most a runner takes");
  }
  StatusOr<ModelOutput> output = [&]() -> StatusOr<ModelOutput> {
    if (!HasFedSequences(batch)) return run(batch);
    SPECD_ASSIGN_OR_RETURN(const HostFedBatch fed, HostFedBatch::Resolve(batch, last_sampled_));
    return run(fed.batch());
  }();
  // A failed step leaves nothing to feed from: the next step's fed sequences are refused.
  last_sampled_.clear();
  SPECD_RETURN_IF_ERROR(output.status());
  last_sampled_ = output->sampled;
  outputs_.push_back(std::move(*output));
  return OkStatus();
}

StatusOr<ModelOutput> SynchronousSteps::Collect() {
  if (outputs_.empty()) return FailedPreconditionError("Collect without a step in flight");
  ModelOutput output = std::move(outputs_.front());
  outputs_.pop_front();
  return output;
}

}  // namespace specd
