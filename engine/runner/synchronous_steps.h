// SynchronousSteps: Launch and Collect (model_runner.h) for a runner that computes a step to the
// end when it is launched (the CPU runner, test runners): Launch runs the step at once, fed
// tokens filled in from the previous step's output, and queues the output for Collect.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "engine/base/status.h"
#include "engine/runner/model_runner.h"

namespace specd {

class SynchronousSteps {
 public:
  using RunStep = std::function<StatusOr<ModelOutput>(const SchedulerOutput& batch)>;

  // ModelRunner::Launch with `run` computing the step (its batch has no fed sequence).
  Status Launch(const SchedulerOutput& batch, const RunStep& run);
  // ModelRunner::Collect.
  StatusOr<ModelOutput> Collect();

 private:
  std::deque<ModelOutput> outputs_;  // launched, not collected
  // What the last launched step sampled, per sequence: the tokens the next step may be fed.
  std::vector<std::vector<SampledToken>> last_sampled_;
};

}  // namespace specd
