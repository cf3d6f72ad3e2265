// CudaRunner: the ModelRunner contract on the GPU. bf16 weights (fused QKV and gate/up), cuBLASLt
// for the dense products, our kernels (kernels/) for everything else, a paged bf16 KV cache sized
// from free GPU memory. One stream; a step's metadata goes up in one copy from pinned memory
// (step_inputs.h); logits are sampled on the GPU (gpu_sampler.h) or, for batches asking for
// top_logprobs, on the host. They come back to the host (ModelOutput::logits) unless every row
// was sampled on the GPU. A batch of more tokens than max_num_tokens runs in pieces (a draft
// model catching up on many sequences at once). Owned and called by the engine thread only.
//
// Launch returns as soon as a step sampled on the GPU is queued (its sampled tokens come back to
// pinned memory; Collect waits for them), so the engine can launch the next step while it runs.
// Other steps (logits wanted on the host, several pieces) run to their end in Launch. A fed
// sequence (model_runner.h) reads its token on the device from the previous step's sampled
// tokens (the embedding kernel's fed rows) where that step was sampled on the GPU, else from its
// output on the host.
//
// Decode and verify steps (every sequence under kTensorCoreQueryTokens new tokens, the batch
// within the largest bucket) are padded to a token bucket and a power-of-two block-table stride,
// and replay a CUDA graph captured for that shape (cuda_graph_cache.h) after running it eagerly
// once; with cuda_graphs off they run the same padded shapes eagerly, so the outputs are the same
// bit for bit. Steps with prompt chunks run eagerly in their exact shape.
//
// A step, for T new tokens of S sequences (R of them asking for logits):
//   embed [T, hidden] → per layer: norm → qkv GEMM → bias + RoPE + KV cache write → paged
//   attention (prompt chunks on tensor cores, decode/verify tokens split-KV) → o GEMM → add +
//   norm → gate/up GEMM → SiLU·mul → down GEMM → add + norm (next layer's) → gather R rows →
//   lm_head GEMM [R, vocab] fp32 → sampling on the GPU, or to the host.
// Steps of up to 8 tokens fuse a layer into qkv GEMM (input norm in its prologue for one token,
// a norm kernel before it otherwise) → RoPE + cache write → attention → o GEMM (+ residual) →
// gate/up GEMM (norm in as for qkv, SiLU·mul out) → down GEMM (+ residual); the final norm
// before the gather.
// The decode path's kernels are chained by programmatic dependent launch (kernels/pdl.cuh).
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "engine/model/model_config.h"
#include "engine/runner/cuda/cuda_graph_cache.h"
#include "engine/runner/cuda/cuda_weights.h"
#include "engine/runner/cuda/device_buffer.h"
#include "engine/runner/cuda/gpu_sampler.h"
#include "engine/runner/cuda/lt_gemm.h"
#include "engine/runner/cuda/step_inputs.h"
#include "engine/runner/cuda/step_timer.h"
#include "engine/runner/model_runner.h"
#include "kernels/skinny_gemm.h"

namespace specd {

struct CudaRunnerOptions {
  int64_t block_size = 16;
  int64_t num_blocks = 0;               // 0: as many as gpu_memory_utilization leaves room for
  // With num_blocks 0: GPU memory to leave per KV block for another cache indexed by the same
  // block ids (a draft model's, made after this runner).
  int64_t reserved_bytes_per_block = 0;
  double gpu_memory_utilization = 0.9;  // fraction of the GPU's memory the runner may use
  int64_t max_num_tokens = 2048;        // tokens per step at most (the engine's token budget)
  // Each token's logits independent of the rest of the batch (GEMMs: lt_gemm.h; attention
  // without split-KV), at some cost in speed: greedy output is then the same whether a token is
  // computed alone, in a prefill chunk or in a speculative verify step.
  bool batch_invariant = false;
  bool fast_small_gemms = true;  // our skinny kernel and timed cuBLASLt candidates (lt_gemm.h)
  bool gpu_sampling = true;      // sample on the GPU where GpuSampler supports the batch
  bool cuda_graphs = true;       // replay captured graphs for decode and verify steps
  // Token counts decode and verify steps are padded to (each at most max_num_tokens; others are
  // dropped). Empty: no padding, every step eager.
  std::vector<int64_t> graph_token_buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  bool time_steps = false;  // GPU time of each step and the GPU's idle time before it (step_timer.h)
  // Steps of at most kSkinnyGemmMaxRows tokens run each layer as four skinny products with the
  // norms, residual adds and SiLU fused in (kernels/skinny_gemm.h): the same bits as separate
  // kernels, in fewer launches. Needs fast_small_gemms, not batch_invariant, no o_proj / MLP bias.
  bool fused_decode_layers = true;
};

class CudaRunner : public ModelRunner {
 public:
  // Loads and uploads the model; errors name the file (loading) or the allocation (memory).
  static StatusOr<std::unique_ptr<CudaRunner>> Create(const std::string& model_dir,
                                                      const CudaRunnerOptions& options);
  // A runner over random weights in the config's shapes, made on the GPU (benchmarks).
  static StatusOr<std::unique_ptr<CudaRunner>> CreateWithRandomWeights(const ModelConfig& config,
                                                                       const CudaRunnerOptions& options,
                                                                       uint64_t seed);
  ~CudaRunner() override;

  Status Launch(const SchedulerOutput& batch) override;
  StatusOr<ModelOutput> Collect() override;
  KvCacheShape kv_cache_shape() const override { return shape_; }
  const ModelConfig& config() const { return config_; }
  size_t weight_bytes() const { return weights_.bytes(); }
  size_t num_cuda_graphs() const { return graphs_.size(); }
  // The last step's timing with time_steps; nullptr without.
  const StepTiming* last_step_timing() const { return step_timer_ ? &step_timer_->last() : nullptr; }
  // Bytes of one KV cache block of `block_size` tokens for a model (K and V, every layer, bf16).
  static int64_t KvCacheBytesPerBlock(const ModelConfig& config, int64_t block_size);

 private:
  // A part of a batch that fits the runner, and the output row of each of its logits rows.
  struct Piece {
    SchedulerOutput batch;
    std::vector<int64_t> rows;
  };
  // A launched step: its output when it ran to its end in Launch, or its sampling in flight.
  struct LaunchedStep {
    std::optional<ModelOutput> output;
    std::optional<GpuSampler::Launched> sampling;
  };
  // Where the next step's fed sequences find the tokens the last launched step sampled.
  struct FeedSource {
    // Per sequence: its token's row of GpuSampler::sampled_tokens(), -1 for none; empty when the
    // tokens are not on the device.
    std::vector<int32_t> device_rows;
    std::vector<std::vector<SampledToken>> host;  // ModelOutput::sampled, when not on the device
  };

  CudaRunner(ModelConfig config, CudaWeights weights, const CudaRunnerOptions& options);
  static StatusOr<std::unique_ptr<CudaRunner>> CreateWithWeights(ModelConfig config, CudaWeights weights,
                                                                 const CudaRunnerOptions& options);
  Status AllocateWorkspace();
  Status AllocateKvCache(const CudaRunnerOptions& options);
  std::optional<StepInputs::Shape> GraphShape(const SchedulerOutput& batch, const StepInputs::Shape& exact) const;
  bool FusesLayers(int64_t tokens) const;
  Status RunLayer(int64_t layer, int64_t tokens);
  Status RunFusedLayer(int64_t layer, int64_t tokens);
  kernels::RopeCacheWriteParams RopeParams(int64_t layer, int64_t tokens) const;
  kernels::SkinnyGemmParams QkvProduct(int64_t layer, int64_t tokens) const;
  Status RunRopeAndAttention(int64_t layer, int64_t tokens);
  Status RunSkinny(const kernels::SkinnyGemmParams& params, const char* what);
  Status RunNormedProduct(const DeviceBuffer<__nv_bfloat16>& norm_weight, kernels::SkinnyGemmParams product,
                          const char* what);
  Status RunAttention(const __nv_bfloat16* k_cache, const __nv_bfloat16* v_cache);
  Status RunNorm(const __nv_bfloat16* branch, const DeviceBuffer<__nv_bfloat16>& weight, int64_t tokens);
  std::vector<Piece> SplitBatch(const SchedulerOutput& batch) const;
  // The batch with its fed sequences' tokens resolved (fed_rows: their device rows), queued.
  StatusOr<LaunchedStep> LaunchStep(const SchedulerOutput& batch, std::span<const int32_t> fed_rows);
  // fed_rows: StepInputs::Pack's fed_rows_by_sequence. wait: return with the stream idle.
  Status Forward(const Piece& piece, std::span<const int32_t> fed_rows, bool logits_to_host, bool wait,
                 ModelOutput& output);
  // The forward pass over the packed inputs' shape, up to `logit_rows` rows of logits_. Enqueued
  // on stream_ only: what CUDA graphs capture.
  Status EnqueueForward(int64_t logit_rows);
  Status RunGraphShaped(int64_t logit_rows);
  Status CopyLogits(const std::vector<int64_t>& rows, bool logits_to_host, bool wait, ModelOutput& output);

  ModelConfig config_;
  CudaWeights weights_;
  int64_t max_num_tokens_;
  bool batch_invariant_;
  KvCacheShape shape_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<LtGemm> gemm_;
  std::unique_ptr<GpuSampler> gpu_sampler_;  // null: sampling on the host
  std::unique_ptr<StepInputs> inputs_;
  bool cuda_graphs_;
  bool fused_decode_layers_;  // the option, where the model and the GEMM options allow it
  std::vector<int64_t> graph_buckets_;  // ascending
  CudaGraphCache graphs_;
  std::unique_ptr<StepTimer> step_timer_;  // null unless time_steps
  DeviceBuffer<float> inv_freq_;              // [head_dim / 2]
  DeviceBuffer<__nv_bfloat16> kv_cache_;      // [layers, 2, num_blocks * block_size, kv_heads, head_dim]
  // Activations.
  DeviceBuffer<__nv_bfloat16> residual_;      // [max_tokens, hidden]
  DeviceBuffer<__nv_bfloat16> normed_;        // [max_tokens, hidden]
  DeviceBuffer<__nv_bfloat16> branch_out_;    // [max_tokens, hidden]: o_proj or down_proj output
  DeviceBuffer<__nv_bfloat16> qkv_;           // [max_tokens, q_size + 2 * kv_size]
  DeviceBuffer<__nv_bfloat16> attention_;     // [max_tokens, q_size]
  DeviceBuffer<uint8_t> attention_workspace_; // split-KV partials, PagedAttentionWorkspaceBytes(max_tokens, ...)
  DeviceBuffer<__nv_bfloat16> gate_up_;       // [max_tokens, 2 * intermediate]
  DeviceBuffer<__nv_bfloat16> activation_;    // [max_tokens, intermediate]
  DeviceBuffer<__nv_bfloat16> logit_inputs_;  // [max_tokens, hidden]
  DeviceBuffer<float> logits_;                // [max_tokens, vocab]
  int64_t max_blocks_per_seq_ = 0;
  std::deque<LaunchedStep> launched_;  // not collected yet, oldest first
  FeedSource feed_source_;             // the last launched step's sampled tokens
};

}  // namespace specd
