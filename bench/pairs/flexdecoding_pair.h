// flexdecoding: sliding-window decode attention (window 4096, Mistral's mask), Llama-3.1-8B heads
// (32 query, 8 KV, head dim 128), batch 8 at 8192 then 32768 cached positions (--quick: 8192 only),
// one query token a sequence at its last position, through kernels::LaunchPagedAttention:
//   baseline:  FlexAttention without a block mask (AttentionModifier::skip_masked_blocks off):
//              every key block up to the query is read and the window applied per element;
//   optimized: block skipping (the default): only the window's blocks are read.
// Same outputs: within kRelativeTolerance of an fp64 reference (DecodeAttentionBatch::Reference)
// on a sample of tokens, every head and dim (the split plans differ, so the fp32 sums are taken in
// another order; the attention tests' bound). Memory: the cache, identical in both.
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class FlexdecodingPair : public BenchmarkPair {
 public:
  // bf16 output rounding alone is at most 2^-9 of the largest value.
  static constexpr double kRelativeTolerance = 1e-2;

  OutputRule output_rule() const override {
    return {.kind = OutputRule::Kind::kWithinTolerance, .relative_tolerance = kRelativeTolerance};
  }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;
};

}  // namespace specd::bench
