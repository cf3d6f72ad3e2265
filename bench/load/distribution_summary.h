// DistributionSummary: count, mean, p50, p90, p99 and max of a set of samples (latencies in
// milliseconds, in reports). Percentiles interpolate linearly between the closest ranks, as
// numpy.percentile does by default (and vLLM's benchmark reports): for sorted x[0..n-1], the
// p-th percentile is at rank r = p/100 * (n-1), x[floor r] + (r - floor r) * (x[ceil r] - x[floor r]).
// Immutable values; pure functions; any thread.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace specd::bench {

// Precondition: `sorted` is non-empty and sorted ascending, 0 <= percent <= 100.
double Percentile(const std::vector<double>& sorted, double percent);

struct DistributionSummary {
  int64_t count = 0;  // 0: no samples, every statistic 0
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;

  // The summary of `samples`, each multiplied by `scale` (1000: seconds to milliseconds).
  static DistributionSummary Of(std::vector<double> samples, double scale = 1.0);

  // {"count", "mean", "p50", "p90", "p99", "max"}; the statistics are null without samples.
  nlohmann::json ToJson() const;
};

}  // namespace specd::bench
