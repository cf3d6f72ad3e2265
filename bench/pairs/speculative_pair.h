// speculative: the engine on the bundled pair (models/specd-code-target), greedy, one request
// at a time over the held-out code prompts: plain decoding (baseline) against draft-and-verify
// with models/specd-code-draft as spec_configs/draft_and_verify.json sets it up (optimized).
// Same outputs: the generated tokens, identical (DESIGN.md: greedy speculation gives exactly the
// tokens decoding without it gives). Runs on the CUDA runner when the build has it and a GPU is
// there (batch-invariant mode, which that identity needs on the GPU), else on the CPU runner.
// Memory: GPU memory the variant's engine holds (nothing measured on the CPU).
#pragma once

#include <string>

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class SpeculativePair : public BenchmarkPair {
 public:
  explicit SpeculativePair(std::string runner_kind) : runner_kind_(std::move(runner_kind)) {}
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kTokensExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;

 private:
  std::string runner_kind_;  // "cpu" or "cuda"
};

}  // namespace specd::bench
