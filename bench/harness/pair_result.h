// PairResult: what the harness measured for one pair: each variant's p50/p75 over its timed
// iterations, memory and tokens/s, the output check, or why the pair did not run. Value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bench/harness/benchmark_pair.h"
#include "bench/harness/expectations.h"
#include "bench/harness/output_check.h"

namespace specd::bench {

struct VariantSummary {
  int64_t count = 0;  // timed iterations
  double p50_ms = 0;  // percentiles interpolated as numpy's (distribution_summary.h)
  double p75_ms = 0;
  std::optional<int64_t> memory_bytes = std::nullopt;
  std::optional<double> tokens_per_s = std::nullopt;  // tokens per iteration / p50

  // Precondition: run.samples_ms is not empty.
  static VariantSummary Of(const VariantRun& run);
};

struct PairResult {
  std::string name;
  std::optional<VariantSummary> baseline;   // both set when the pair ran
  std::optional<VariantSummary> optimized;
  OutputCheck outputs;
  std::string skipped;  // non-empty: did not run, and why (no GPU, not built, missing kernel)
  std::string error;    // non-empty: a variant failed, and how

  bool ran() const { return baseline.has_value() && optimized.has_value(); }
  // baseline p50 / optimized p50; 0 unless the pair ran.
  double speedup() const;
};

// What --update-expectations stores for a pair that ran.
ExpectedFigures FiguresOf(const PairResult& result, const std::string& commit, const std::string& date);

}  // namespace specd::bench
