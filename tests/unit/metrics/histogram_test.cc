// Histogram: which bucket an observation falls in (le is inclusive), the +Inf bucket, sum and
// count, and the cumulative exposition.
#include "server/metrics/histogram.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

namespace specd::metrics {
namespace {

using Counts = std::vector<uint64_t>;

TEST_CASE("an observation lands in the first bucket whose bound is >= it", "[cpu]") {
  Histogram histogram({0.1, 0.5, 1.0});
  CHECK(histogram.BucketCounts() == Counts{0, 0, 0, 0});
  histogram.Observe(0.0);   // (-inf, 0.1]
  histogram.Observe(0.1);   // le is inclusive
  histogram.Observe(0.25);  // (0.1, 0.5]
  histogram.Observe(1.0);   // (0.5, 1]
  histogram.Observe(7.0);   // +Inf
  histogram.Observe(-3.0);  // below every bound: first bucket
  CHECK(histogram.BucketCounts() == Counts{3, 1, 1, 1});
  CHECK(histogram.Count() == 6);
  CHECK(histogram.Sum() == Approx(5.35));
}

TEST_CASE("a histogram without bounds has only the +Inf bucket", "[cpu]") {
  Histogram histogram({});
  histogram.Observe(1.5);
  histogram.Observe(2.5);
  CHECK(histogram.BucketCounts() == Counts{2});
  std::string out;
  histogram.AppendSamples("h", "", &out);
  CHECK(out == "h_bucket{le=\"+Inf\"} 2\nh_sum 4\nh_count 2\n");
}

TEST_CASE("NaN is counted in the +Inf bucket", "[cpu]") {
  Histogram histogram({1.0});
  histogram.Observe(std::nan(""));
  CHECK(histogram.BucketCounts() == Counts{0, 1});
  CHECK(std::isnan(histogram.Sum()));
}

TEST_CASE("histogram exposition is cumulative and ends with +Inf, _sum, _count", "[cpu]") {
  Histogram histogram({0.005, 0.1, 2.5});
  // Binary fractions, so that the sum is exact.
  for (const double value : {0.00390625, 0.0625, 0.078125, 3.0}) histogram.Observe(value);
  std::string out;
  histogram.AppendSamples("lat_seconds", "route=\"a\"", &out);
  CHECK(out ==
        "lat_seconds_bucket{route=\"a\",le=\"0.005\"} 1\n"
        "lat_seconds_bucket{route=\"a\",le=\"0.1\"} 3\n"
        "lat_seconds_bucket{route=\"a\",le=\"2.5\"} 3\n"
        "lat_seconds_bucket{route=\"a\",le=\"+Inf\"} 4\n"
        "lat_seconds_sum{route=\"a\"} 3.14453125\n"
        "lat_seconds_count{route=\"a\"} 4\n");
}

}  // namespace
}  // namespace specd::metrics
