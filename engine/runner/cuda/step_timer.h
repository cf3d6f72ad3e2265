// StepTimer: the GPU's view of consecutive runner steps, from CUDA events on the runner's stream:
// how long a step kept the GPU (first upload to last copy back) and how long the GPU sat idle
// before it, since the previous step's end (the host's share between steps: returning to the
// engine, its bookkeeping, the next step's validation and packing). A step launched while the
// one before it runs (model_runner.h, overlapped steps) starts when that one ends: no idle time.
//
//   GPU:  ...step n-1 ][ idle before step n ][ step n ]...
//                      end(n-1)              start(n)  end(n)
//
// Off unless the runner is asked to time steps (benchmarks): two event records a step. Steps are
// marked as they are launched and resolved in the same order as they are collected, at most
// kSlots - 1 of them marked and not resolved. Engine thread only.
#pragma once

#include <array>
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

  // A step's start, before its first upload. A start without its end is overwritten by the next.
  Status MarkStart(cudaStream_t stream);
  // The step's end: queue it behind the step's last copy back, before the host waits for that
  // copy, so that Resolve then finds it done instead of adding a round trip of its own.
  Status MarkEnd(cudaStream_t stream);
  // Waits for the oldest marked step's end; then last() describes it. FAILED_PRECONDITION when
  // no step is marked.
  Status Resolve();
  const StepTiming& last() const { return last_; }

 private:
  // Three steps' events: two in flight and the last resolved one, whose end the next one's idle
  // time is measured from; one more so that a start may be recorded before that.
  static constexpr int kSlots = 4;
  struct Marks {
    cudaEvent_t start = nullptr;
    cudaEvent_t end = nullptr;
  };

  StepTimer() = default;

  std::array<Marks, kSlots> slots_;
  int next_ = 0;       // the slot the next MarkStart / MarkEnd record into
  int unresolved_ = 0;  // marked steps not resolved yet: the slots before next_
  bool has_previous_ = false;  // the slot before the oldest unresolved one holds a resolved step
  StepTiming last_;
};

}  // namespace specd
