// tensor_cores: one Llama-3.1-8B layer's GEMMs (qkv 4096 -> 6144, o 4096 -> 4096, gate_up 4096 ->
// 28672, down 14336 -> 4096) at 512 rows, where compute matters (--quick: 128 rows), on random
// bf16 activations and weights (y = x * w^T, w in Hugging Face's [out, in] layout):
//   baseline:  cublasSgemm in pedantic math mode (no TF32) on fp32 copies of the bf16 operands
//              (exact), fp32 output;
//   optimized: our LtGemm (engine/runner/cuda/lt_gemm.h): bf16 tensor cores, fp32 accumulation,
//              bf16 output, as the CUDA runner runs them.
// Same outputs: on kSampledOutputs random entries of each product, max |y - ref| / max |ref|
// against an fp64 dot product of the same (exact) operands, at most kRelativeTolerance for the
// optimized variant: its bf16 output rounding alone is up to 2^-9 relative (the fp32 sums add
// little). Memory: operands and outputs (fp32 for the baseline, bf16 for the optimized).
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class TensorCoresPair : public BenchmarkPair {
 public:
  static constexpr double kRelativeTolerance = 4e-3;
  static constexpr int kSampledOutputs = 64;  // a product

  OutputRule output_rule() const override {
    return {.kind = OutputRule::Kind::kWithinTolerance, .relative_tolerance = kRelativeTolerance};
  }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;
};

}  // namespace specd::bench
