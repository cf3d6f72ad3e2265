#include "bench/harness/pair_result.h"

#include <algorithm>
#include <vector>

#include "bench/load/distribution_summary.h"

namespace specd::bench {
namespace {

constexpr double kMedian = 50;
constexpr double kUpperQuartile = 75;
constexpr double kMsPerSecond = 1000;

}  // namespace

VariantSummary VariantSummary::Of(const VariantRun& run) {
  std::vector<double> sorted = run.samples_ms;
  std::sort(sorted.begin(), sorted.end());
  VariantSummary summary;
  summary.count = static_cast<int64_t>(sorted.size());
  summary.p50_ms = Percentile(sorted, kMedian);
  summary.p75_ms = Percentile(sorted, kUpperQuartile);
  summary.memory_bytes = run.memory_bytes;
  if (run.tokens_per_iteration.has_value() && summary.p50_ms > 0) {
    summary.tokens_per_s = *run.tokens_per_iteration / summary.p50_ms * kMsPerSecond;
  }
  return summary;
}

double PairResult::speedup() const {
  if (!ran() || optimized->p50_ms <= 0) return 0;
  return baseline->p50_ms / optimized->p50_ms;
}

ExpectedFigures FiguresOf(const PairResult& result, const std::string& commit, const std::string& date) {
  ExpectedFigures figures;
  figures.baseline_ms = result.baseline->p50_ms;
  figures.optimized_ms = result.optimized->p50_ms;
  figures.speedup = result.speedup();
  figures.memory_bytes = {result.baseline->memory_bytes, result.optimized->memory_bytes};
  figures.tokens_per_s = {result.baseline->tokens_per_s, result.optimized->tokens_per_s};
  figures.commit = commit;
  figures.date = date;
  return figures;
}

}  // namespace specd::bench
