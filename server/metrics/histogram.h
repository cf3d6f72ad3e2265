// Histogram: counts observations into fixed buckets chosen at creation, plus their sum.
// Observe is lock-free (a binary search and two relaxed atomic adds) and may be called from any
// thread; the scrape thread reads a snapshot.
//
// Bucket i counts observations in (bounds[i-1], bounds[i]]; the last, implicit bucket is
// (bounds.back(), +Inf]. Exported cumulatively, as Prometheus wants:
//
//   bounds      0.1   0.5   +Inf          name_bucket{le="0.1"}  1
//   counts       1     2     1      ->    name_bucket{le="0.5"}  3
//                                         name_bucket{le="+Inf"} 4   == name_count
//
// _count is the sum of the bucket counts read in one pass, so it always equals the +Inf
// bucket; _sum may lag or lead a concurrent observation by that one value.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace specd::metrics {

class Histogram {
 public:
  static constexpr const char* kTypeName = "histogram";
  static constexpr std::string_view kReservedLabel = "le";

  // Precondition (CHECKed): `bounds` finite and strictly increasing (may be empty: +Inf only).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // A NaN is counted in the +Inf bucket (and makes the sum NaN).
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts, the +Inf bucket last: bounds().size() + 1 entries.
  std::vector<uint64_t> BucketCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t Count() const;

  // Appends name_bucket{labels,le="..."} (cumulative) for every bucket, name_sum, name_count.
  void AppendSamples(std::string_view name, std::string_view labels, std::string* out) const;

 private:
  size_t BucketIndex(double value) const;

  const std::vector<double> bounds_;
  // One per bucket, +Inf last.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

}  // namespace specd::metrics
