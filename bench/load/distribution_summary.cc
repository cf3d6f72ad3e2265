// Percentiles and summaries (see distribution_summary.h).
#include "bench/load/distribution_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/base/check.h"

namespace specd::bench {

double Percentile(const std::vector<double>& sorted, double percent) {
  SPECD_CHECK(!sorted.empty() && percent >= 0 && percent <= 100) << "percentile " << percent << " of " << sorted.size();
  const double rank = percent / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (rank - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

DistributionSummary DistributionSummary::Of(std::vector<double> samples, double scale) {
  DistributionSummary summary;
  if (samples.empty()) return summary;
  for (double& sample : samples) sample *= scale;
  std::sort(samples.begin(), samples.end());
  summary.count = static_cast<int64_t>(samples.size());
  summary.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  summary.p50 = Percentile(samples, 50);
  summary.p90 = Percentile(samples, 90);
  summary.p99 = Percentile(samples, 99);
  summary.max = samples.back();
  return summary;
}

nlohmann::json DistributionSummary::ToJson() const {
  if (count == 0) {
    return {{"count", 0}, {"mean", nullptr}, {"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  }
  return {{"count", count}, {"mean", mean}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}};
}

}  // namespace specd::bench
