// Percentiles (linear interpolation, as numpy.percentile) and summaries for known inputs.
#include <catch2/catch.hpp>

#include "bench/load/distribution_summary.h"

namespace specd::bench {

TEST_CASE("percentiles: 1..10 interpolate between ranks", "[cpu]") {
  const std::vector<double> sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(Percentile(sorted, 0) == 1.0);
  CHECK(Percentile(sorted, 50) == Approx(5.5));
  CHECK(Percentile(sorted, 90) == Approx(9.1));
  CHECK(Percentile(sorted, 99) == Approx(9.91));
  CHECK(Percentile(sorted, 100) == 10.0);
  CHECK(Percentile({4.0}, 99) == 4.0);
}

TEST_CASE("summary: unsorted samples, scaled to milliseconds", "[cpu]") {
  const DistributionSummary summary = DistributionSummary::Of({0.003, 0.001, 0.002, 0.010}, 1000.0);
  CHECK(summary.count == 4);
  CHECK(summary.mean == Approx(4.0));
  CHECK(summary.p50 == Approx(2.5));
  CHECK(summary.p90 == Approx(7.9));   // rank 2.7: 3 + 0.7 * (10 - 3)
  CHECK(summary.p99 == Approx(9.79));  // rank 2.97
  CHECK(summary.max == Approx(10.0));
  CHECK(summary.ToJson()["p50"].get<double>() == Approx(2.5));
}

TEST_CASE("summary: no samples gives count 0 and null statistics", "[cpu]") {
  const DistributionSummary summary = DistributionSummary::Of({});
  CHECK(summary.count == 0);
  const nlohmann::json json = summary.ToJson();
  CHECK(json["count"] == 0);
  CHECK(json["p99"].is_null());
  CHECK(json["mean"].is_null());
}

}  // namespace specd::bench
