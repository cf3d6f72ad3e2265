// GpuSampler: the CUDA runner's sampling on the GPU (kernels/sampling.h), the twin of
// SampleRequestedRows on the host: each sequence with a SamplingRow gets its last logits row
// sampled, or its k drafts verified on its last k + 1 rows, with the CPU Sampler's processing
// order and RNG (rejection_sampler.h for drafts). A batch whose every row is plain greedy takes
// the greedy fast path (kernels/greedy_sampling.h; nothing uploaded), greedy drafts included: such
// a draft is accepted exactly when it is the argmax, compared on the host. A batch whose rows are
// plain greedy or plain draws (temperature, top-p and min-p only, no draft) takes the plain fast
// path (kernels/plain_sampling.h). Batches asking for top_logprobs alternatives stay on the host.
// Engine thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"
#include "engine/runner/model_runner.h"
#include "kernels/sampling.h"

namespace specd {

class GpuSampler {
 public:
  static StatusOr<std::unique_ptr<GpuSampler>> Create(int64_t max_rows, int64_t vocab);
  ~GpuSampler();
  GpuSampler(const GpuSampler&) = delete;
  GpuSampler& operator=(const GpuSampler&) = delete;

  // True when every sampling request of the batch can be served here.
  static bool Supports(const SchedulerOutput& batch);

  // logits: [rows, vocab] on the device, the batch's logits rows in ModelOutput order. Fills
  // output.sampled; waits for the stream. before_wait (when given) runs once the sampling and the
  // copy back are queued, before the wait: the runner's step timer records the step's end there.
  Status Sample(const SchedulerOutput& batch, const float* logits, cudaStream_t stream, ModelOutput& output,
                const std::function<Status()>& before_wait = {});

 private:
  struct Rows;        // the kernel's per-row parameters and token lists, on the host
  struct DeviceRows;  // the rows' upload, the workspace and the results on the device

  GpuSampler(int64_t max_rows, int64_t vocab);
  Status Upload(const Rows& rows, cudaStream_t stream, kernels::SamplingKernelParams& p);
  kernels::SamplingKernelParams KernelParams(const Rows& rows, const float* logits) const;
  Status Collect(const SchedulerOutput& batch, const Rows& rows, cudaStream_t stream, ModelOutput& output,
                 const std::function<Status()>& before_wait);

  int64_t max_rows_;
  int64_t vocab_;
  std::unique_ptr<DeviceRows> device_;
};

}  // namespace specd
