// GpuSampler: the CUDA runner's sampling on the GPU (kernels/sampling.h), the twin of
// SampleRequestedRows on the host: each sequence with a SamplingRow gets its last logits row
// sampled, or its k drafts verified on its last k + 1 rows, with the CPU Sampler's processing
// order and RNG (rejection_sampler.h for drafts). A batch whose every row is plain greedy takes
// the greedy fast path (kernels/greedy_sampling.h; nothing uploaded), greedy drafts included: such
// a draft is accepted exactly when it is the argmax, compared on the host. A batch whose rows are
// plain greedy or plain draws (temperature, top-p and min-p only, no draft) takes the plain fast
// path (kernels/plain_sampling.h). Batches asking for top_logprobs alternatives stay on the host.
//
// Launch queues the sampling and the copy of its results back to pinned memory; Collect waits for
// that copy. Two launches may be in flight (the runner's overlapped steps): they take turns in
// two sets of pinned buffers. The sampled tokens stay on the device (sampled_tokens()) until the
// next launch, for the next step's fed tokens. Engine thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/runner/cuda/device_buffer.h"
#include "engine/runner/cuda/packed_upload.h"
#include "engine/runner/model_runner.h"
#include "kernels/sampling.h"

namespace specd {

class GpuSampler {
 private:
  struct Rows;        // the kernel's per-row parameters and token lists, on the host

 public:
  // A launched sampling, for Collect.
  struct Launched {
    Launched();
    ~Launched();
    Launched(Launched&&) noexcept;
    Launched& operator=(Launched&&) noexcept;

    std::unique_ptr<Rows> rows;
    int slot = 0;  // its pinned buffers and copy event
    // Per sequence: the row of sampled_tokens() holding the one token it sampled; -1 where it
    // sampled none or verified drafts.
    std::vector<int32_t> token_rows;
  };

  static StatusOr<std::unique_ptr<GpuSampler>> Create(int64_t max_rows, int64_t vocab);
  ~GpuSampler();
  GpuSampler(const GpuSampler&) = delete;
  GpuSampler& operator=(const GpuSampler&) = delete;

  // True when every sampling request of the batch can be served here.
  static bool Supports(const SchedulerOutput& batch);

  // logits: [rows, vocab] on the device, the batch's logits rows in ModelOutput order. Queues the
  // sampling and the copy back of its results. The batch's views are read only here.
  StatusOr<Launched> Launch(const SchedulerOutput& batch, const float* logits, cudaStream_t stream);
  // Waits for the launch's results and fills output.sampled.
  Status Collect(const Launched& launched, ModelOutput& output);

  // [rows] on the device: the tokens of the last launch (Launched::token_rows).
  const int* sampled_tokens() const;

 private:
  struct DeviceRows;  // the rows' upload, the workspace and the results on the device
  static constexpr int kSlots = 2;  // launches in flight at most

  GpuSampler(int64_t max_rows, int64_t vocab);
  Status Upload(const Rows& rows, PackedUpload& upload, cudaStream_t stream, kernels::SamplingKernelParams& p);
  kernels::SamplingKernelParams KernelParams(const Rows& rows, const float* logits) const;
  Status LaunchKernels(const Rows& rows, int slot, const float* logits, cudaStream_t stream);

  int64_t max_rows_;
  int64_t vocab_;
  std::unique_ptr<DeviceRows> device_;
  int next_slot_ = 0;
};

}  // namespace specd
