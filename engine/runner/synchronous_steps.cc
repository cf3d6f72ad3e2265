#include "engine/runner/synchronous_steps.h"

#include "engine/runner/fed_tokens.h"

namespace specd {

Status SynchronousSteps::Launch(const SchedulerOutput& batch, const RunStep& run) {
  SPECD_RETURN_IF_ERROR(CheckRoomForLaunch(outputs_.size()));
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
  if (outputs_.empty()) return NothingToCollect();
  ModelOutput output = std::move(outputs_.front());
  outputs_.pop_front();
  return output;
}

}  // namespace specd
