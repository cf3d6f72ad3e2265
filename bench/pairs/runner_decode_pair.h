// cudagraph_bucketing and tiny_gemm_pdl: greedy decode straight through CudaRunner::Execute,
// random weights in Llama-3.2-1B's shapes (bench/shapes/llama-3.2-1b, made on the GPU), 8
// sequences with 128-token random prompts prefilled once. An iteration decodes kSteps tokens at
// batch 1, then kSteps at batch 8, each step sampling on the GPU and feeding the token back.
//   kCudaGraphs: eager (cuda_graphs off: the same padded shapes launched kernel by kernel)
//                vs replaying the graph captured for the step's token bucket.
//   kPdl:        graphs on; programmatic dependent launch off (kernels/pdl_switch.h) vs on: the
//                skinny GEMM chain and the small kernels between them.
// Same outputs: every sampled token, identical (both knobs leave the arithmetic unchanged).
// Memory: GPU memory the runner holds (weights, KV cache, activations, graphs).
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class RunnerDecodePair : public BenchmarkPair {
 public:
  enum class Knob { kCudaGraphs, kPdl };

  explicit RunnerDecodePair(Knob knob) : knob_(knob) {}
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kTokensExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;

 private:
  Knob knob_;
};

}  // namespace specd::bench
