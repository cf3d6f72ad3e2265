// CpuRunner: the plain fp32 reference implementation of the ModelRunner contract.
//
// Llama family (Llama, Mistral, Qwen2): RMSNorm, GQA attention over the paged KV cache, RoPE with
// linear/llama3 scaling, SwiGLU, optional q/k/v/o/mlp biases, tied embeddings, Mistral's sliding
// window. Slow and obviously correct: every token is computed with the same arithmetic in the
// same order whatever the batch, so logits do not depend on how the work is cut.
// Owned and called by the engine thread only.
#pragma once

#include <memory>
#include <string>

#include "engine/model/model_config.h"
#include "engine/runner/cpu_kv_cache.h"
#include "engine/runner/cpu_weights.h"
#include "engine/runner/model_runner.h"
#include "engine/runner/rope_table.h"
#include "engine/runner/synchronous_steps.h"
#include "kernels/attention_modifier.h"

namespace specd {

struct CpuRunnerOptions {
  int64_t block_size = 16;
  int64_t num_blocks = 256;
};

class CpuRunner : public ModelRunner {
 public:
  // Loads config.json and the weights of `model_dir`; errors as LoadModelConfig and
  // ModelWeights::Load report them.
  static StatusOr<std::unique_ptr<CpuRunner>> Create(const std::string& model_dir,
                                                     const CpuRunnerOptions& options);

  // Each step runs to its end in Launch (synchronous_steps.h).
  Status Launch(const SchedulerOutput& batch) override;
  StatusOr<ModelOutput> Collect() override { return steps_.Collect(); }
  KvCacheShape kv_cache_shape() const override { return cache_.shape(); }
  const ModelConfig& config() const { return config_; }

 private:
  struct TokenRef;  // one new token of the batch: its sequence and position

  CpuRunner(ModelConfig config, CpuWeights weights, const CpuRunnerOptions& options);
  StatusOr<ModelOutput> Run(const SchedulerOutput& batch);
  void RunLayer(int64_t layer, const std::vector<TokenRef>& tokens, std::vector<float>& hidden);
  void Attend(int64_t layer, const TokenRef& token, const float* query, float* out);
  ModelOutput ComputeLogits(const SchedulerOutput& batch, const std::vector<float>& hidden);

  ModelConfig config_;
  CpuWeights weights_;
  RopeTable rope_;
  kernels::AttentionModifier modifier_;  // from the model config
  CpuKvCache cache_;
  SynchronousSteps steps_;
};

}  // namespace specd
