// StepTimer: the GPU's view of consecutive runner steps, from CUDA events on the runner's stream:
// how long a step kept the GPU (first upload to last copy back) and how long the GPU sat idle
// before it, since the previous step's end (the host's share between steps: returning to the
// engine, its bookkeeping, the next step's validation and packing).
//
//   GPU:  ...step n-1 ][ idle before step n ][ step n ]...
//                      end(n-1)              start(n)  end(n)
//
// Off unless the runner is asked to time steps (benchmarks): two event records a step. Engine
// thread only.
#pragma once

#include <memory>
#include <optional>

#include <cuda_runtime.h>

#include "engine/base/status.h"

namespace specd {

struct StepTiming {
  double gpu_ms = 0;   // start to end of the step
  std::optional<double> idle_before_ms;  // since the previous step's end; none for the first step
};

class StepTimer {
 public:
  static StatusOr<std::unique_ptr<StepTimer>> Create();
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  Status MarkStart(cudaStream_t stream);
  // Records the end: queue it behind the step's last copy back, before the host waits for that
  // copy, so that Resolve then finds it done instead of adding a round trip of its own.
  Status MarkEnd(cudaStream_t stream);
  // Waits for the recorded end; then last() describes this step.
  Status Resolve();
  const StepTiming& last() const { return last_; }

 private:
  StepTimer() = default;

  cudaEvent_t start_ = nullptr;
  cudaEvent_t end_ = nullptr;
  cudaEvent_t previous_end_ = nullptr;
  bool has_previous_ = false;
  StepTiming last_;
};

}  // namespace specd
