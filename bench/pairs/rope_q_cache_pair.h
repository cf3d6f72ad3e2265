// rope_q_cache: RoPE + KV cache write (kernels::LaunchRopeCacheWrite) for decode batches of 64
// then 256 tokens (--quick: 64 only) in Llama-3.1-8B's shapes (32 query, 8 KV heads, head dim 128,
// llama3-scaled frequencies), at random positions below 32768, one launch per layer (32) an
// iteration (q is rotated in place again each time, the cache slots rewritten; tokens/s counts
// each token once an iteration):
//   baseline:  cos/sin computed per block from inv_freq (fp32 angle, double sincos: what the
//              runner does);
//   optimized: read from a cos/sin table of max_position_embeddings rows
//              (kernels::LaunchRopeCosSinTable, built once at set-up, its 64 MiB counted).
// Same outputs: bit-exact (the table holds exactly the values the kernel computes): q in qkv, the
// K and V cache. Both variants make the same number of launches, so they end on the same values.
// A speedup below 1 is a finding: the double sincos may hide behind the loads.
#pragma once

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

class RopeQCachePair : public BenchmarkPair {
 public:
  OutputRule output_rule() const override { return {.kind = OutputRule::Kind::kBitExact}; }
  StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) override;
};

}  // namespace specd::bench
