// BenchmarkPair: one entry of `specd-bench run` (harness_command.h): a baseline and an optimized
// variant of the same work on specd's own code path, run one after the other by the harness,
// which times them, checks that their outputs agree (output_check.h) and compares the speedup
// with the stored expectation (pair_verdict.h).
//
// Adding a pair: a class implementing BenchmarkPair in bench/pairs/<name>_pair.cc (GPU pairs
// only under SPECD_WITH_CUDA_RUNNER) and one PairEntry in bench/pairs/pair_registry.cc.
// Pairs run on the harness's thread, one at a time; a variant owns whatever it sets up (runner,
// buffers) and frees it before Run returns, so the next variant starts on an idle device.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/harness/output_check.h"
#include "engine/base/status.h"

namespace specd::bench {

enum class Variant { kBaseline, kOptimized };

const char* VariantName(Variant variant);  // "baseline", "optimized"

struct RunSettings {
  int repeats = 10;    // timed iterations per variant (after the pair's untimed warm-up)
  bool quick = false;  // a smaller workload (smoke runs, CI): same code path, fewer tokens
};

struct VariantRun {
  std::vector<double> samples_ms;        // one per timed iteration
  std::optional<int64_t> memory_bytes;   // what the variant holds (the pair says what); none: not measured
  std::optional<double> tokens_per_iteration;  // tokens generated per iteration: tokens/s at p50
  PairOutputs outputs;
};

class BenchmarkPair {
 public:
  virtual ~BenchmarkPair() = default;
  virtual OutputRule output_rule() const = 0;
  // Sets the variant up, runs it once untimed, then settings.repeats timed iterations; errors
  // (no memory, a failed step) name what failed.
  virtual StatusOr<VariantRun> Run(Variant variant, const RunSettings& settings) = 0;
};

// One pair as `specd-bench list` shows it. make is empty when this build cannot run the pair;
// unavailable then says why (no CUDA in the build, a kernel that does not exist yet).
struct PairEntry {
  std::string name;
  std::string description;
  bool needs_gpu = false;
  std::function<std::unique_ptr<BenchmarkPair>()> make;
  std::string unavailable;
};

}  // namespace specd::bench
