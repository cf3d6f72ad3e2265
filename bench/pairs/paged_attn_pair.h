// paged_attn: decode attention over a paged, scattered KV cache (random block tables), Llama-3.1-8B
// heads (32 query, 8 KV, head dim 128), 16-slot blocks, batch 8 then 32 at 4096 cached positions
// (--quick: batch 8 only).
//   baseline:  gather each sequence's K/V blocks into a contiguous buffer (pair_kernels.h), then
//              kernels::LaunchPagedAttention over an identity block table on that copy: what an
//              attention kernel without a block table needs.
//   optimized: kernels::LaunchPagedAttention straight on the paged cache.
// Same outputs: bit-exact. The same kernel reads the same values in the same order (its split
// plan depends on the token count and the blocks per sequence only), just from other slots.
// Time: the whole step, the gather included. Memory: the cache (and the baseline's copy).
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class PagedAttnPair : public BenchmarkPair {
 public:
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kBitExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;
};

}  // namespace specd::bench
