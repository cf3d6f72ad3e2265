// The engine pairs on the CUDA runner: EngineCore over random weights in Llama-3.2-1B's shapes
// (bench/shapes/llama-3.2-1b), greedy requests of random prompts (engine_workload.h).
//   kDecodeGraphs (decode_graphs): 8 requests at once, 32-token prompts, 64 new tokens each;
//       eager (cuda_graphs off) vs CUDA graph replay. Prefix caching off in both.
//   kGraphsAndPrefixCaching (v1_integration): 8 requests at once sharing a 512-token prefix (16
//       own tokens each), 32 new tokens; eager without prefix caching vs graphs with prefix
//       caching. Both batch-invariant (cuda_runner.h): a prompt served partly from the cache must
//       give the tokens computing it whole gives, bit for bit.
//   kGpuSampling (eos_sync_polling): 4 requests one at a time, 32-token prompts, 64 new tokens;
//       gpu_sampling off vs on. What is compared, honestly: both variants synchronize with the GPU
//       once per step (the scheduler needs the step's tokens; stop checks then run on the host at
//       no further cost). The baseline copies the step's [rows, vocab] fp32 logits to the host
//       and samples and checks stops there, the chapter's "poll the GPU for the stop condition
//       with the logits"; the optimized variant samples on the GPU and brings back only the
//       token ids (engine/runner/cuda/gpu_sampler.h).
// Same outputs: every request's tokens, identical. Memory: GPU memory the engine's runner holds.
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class EngineCudaPair : public BenchmarkPair {
 public:
  enum class Setup { kDecodeGraphs, kGraphsAndPrefixCaching, kGpuSampling };

  explicit EngineCudaPair(Setup setup) : setup_(setup) {}
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kTokensExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;

 private:
  Setup setup_;
};

}  // namespace specd::bench
