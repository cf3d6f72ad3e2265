#include "engine/runner/cuda/step_timer.h"

#include <memory>

#include "engine/runner/cuda/cuda_status.h"

namespace specd {

StatusOr<std::unique_ptr<StepTimer>> StepTimer::Create() {
  std::unique_ptr<StepTimer> timer(new StepTimer());
  for (Marks& marks : timer->slots_) {
    for (cudaEvent_t* event : {&marks.start, &marks.end}) {
      SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(event), "creating a step timing event"));
    }
  }
  return timer;
}

StepTimer::~StepTimer() {
  for (const Marks& marks : slots_) {
    for (cudaEvent_t event : {marks.start, marks.end}) {
      if (event != nullptr) cudaEventDestroy(event);
    }
  }
}

Status StepTimer::MarkStart(cudaStream_t stream) {
  if (unresolved_ >= kSlots - 2) return FailedPreconditionError("StepTimer: too many steps marked and not resolved");
  return CudaStatus(cudaEventRecord(slots_[next_].start, stream), "recording a step's start");
}

Status StepTimer::MarkEnd(cudaStream_t stream) {
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(slots_[next_].end, stream), "recording a step's end"));
  next_ = (next_ + 1) % kSlots;
  ++unresolved_;
  return OkStatus();
}

Status StepTimer::Resolve() {
  if (unresolved_ == 0) return FailedPreconditionError("StepTimer: no step to resolve");
  const int oldest = (next_ - unresolved_ + kSlots) % kSlots;
  const Marks& step = slots_[oldest];
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(step.end), "waiting for a step's end"));
  float gpu_ms = 0, idle_ms = 0;
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&gpu_ms, step.start, step.end), "timing a step"));
  last_.gpu_ms = gpu_ms;
  last_.idle_before_ms.reset();
  if (has_previous_) {
    const Marks& previous = slots_[(oldest - 1 + kSlots) % kSlots];
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&idle_ms, previous.end, step.start), "timing the gap before a step"));
    last_.idle_before_ms = idle_ms;
  }
  --unresolved_;
  has_previous_ = true;
  return OkStatus();
}

}  // namespace specd
