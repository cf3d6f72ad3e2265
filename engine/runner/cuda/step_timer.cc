#include "engine/runner/cuda/step_timer.h"

#include <memory>
#include <utility>

#include "engine/runner/cuda/cuda_status.h"

namespace specd {

StatusOr<std::unique_ptr<StepTimer>> StepTimer::Create() {
  std::unique_ptr<StepTimer> timer(new StepTimer());
  for (cudaEvent_t* event : {&timer->start_, &timer->end_, &timer->previous_end_}) {
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventCreate(event), "creating a step timing event"));
  }
  return timer;
}

StepTimer::~StepTimer() {
  for (cudaEvent_t event : {start_, end_, previous_end_}) {
    if (event != nullptr) cudaEventDestroy(event);
  }
}

Status StepTimer::MarkStart(cudaStream_t stream) {
  return CudaStatus(cudaEventRecord(start_, stream), "recording a step's start");
}

Status StepTimer::MarkEnd(cudaStream_t stream) {
  return CudaStatus(cudaEventRecord(end_, stream), "recording a step's end");
}

Status StepTimer::Resolve() {
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(end_), "waiting for a step's end"));
  float gpu_ms = 0, idle_ms = 0;
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&gpu_ms, start_, end_), "timing a step"));
  last_.gpu_ms = gpu_ms;
  last_.idle_before_ms.reset();
  if (has_previous_) {
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&idle_ms, previous_end_, start_), "timing the gap before a step"));
    last_.idle_before_ms = idle_ms;
  }
  std::swap(end_, previous_end_);
  has_previous_ = true;
  return OkStatus();
}

}  // namespace specd
