#include "bench/pairs/gpu_iteration_timer.h"

#include <cuda_runtime.h>

#include "engine/runner/cuda/cuda_status.h"

namespace specd::bench {
namespace {

// Two CUDA events, destroyed with the object.
class EventPair {
 public:
  EventPair() {
    cudaEventCreate(&start_);
    cudaEventCreate(&stop_);
  }
  ~EventPair() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;

  cudaEvent_t start() const { return start_; }
  cudaEvent_t stop() const { return stop_; }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

}  // namespace

StatusOr<std::vector<double>> TimeGpuIterations(int repeats, const std::function<Status()>& iteration) {
  SPECD_RETURN_IF_ERROR(iteration());  // warm-up
  SPECD_RETURN_IF_ERROR(CudaStatus(cudaDeviceSynchronize(), "warm-up iteration"));
  const EventPair events;
  std::vector<double> samples_ms;
  for (int i = 0; i < repeats; ++i) {
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(events.start(), nullptr), "recording an event"));
    SPECD_RETURN_IF_ERROR(iteration());
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventRecord(events.stop(), nullptr), "recording an event"));
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventSynchronize(events.stop()), "timed iteration"));
    float elapsed_ms = 0.0f;
    SPECD_RETURN_IF_ERROR(CudaStatus(cudaEventElapsedTime(&elapsed_ms, events.start(), events.stop()), "timing"));
    samples_ms.push_back(elapsed_ms);
  }
  return samples_ms;
}

}  // namespace specd::bench
