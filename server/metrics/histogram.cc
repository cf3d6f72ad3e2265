#include "server/metrics/histogram.h"

#include <algorithm>
#include <cmath>

#include "engine/base/check.h"
#include "server/metrics/text_format.h"

namespace specd::metrics {
namespace {

void CheckBounds(const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    SPECD_CHECK(std::isfinite(bounds[i])) << "histogram bound " << i << " is not finite";
    SPECD_CHECK(i == 0 || bounds[i - 1] < bounds[i])
        << "histogram bounds not strictly increasing at " << i;
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  CheckBounds(bounds_);
}

void Histogram::Observe(double value) {
  counts_[BucketIndex(value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

size_t Histogram::BucketIndex(double value) const {
  if (std::isnan(value)) return bounds_.size();
  // The first bound >= value is the bucket whose `le` holds it; past the last, +Inf.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  return static_cast<size_t>(it - bounds_.begin());
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return counts;
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (const uint64_t count : BucketCounts()) total += count;
  return total;
}

void Histogram::AppendSamples(std::string_view name, std::string_view labels,
                              std::string* out) const {
  const std::string bucket_name = std::string(name) + "_bucket";
  const std::string label_prefix = labels.empty() ? "" : std::string(labels) + ",";
  const std::vector<uint64_t> counts = BucketCounts();
  uint64_t cumulative = 0;
  std::string bucket_labels;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
    bucket_labels.assign(label_prefix).append("le=\"").append(le).append("\"");
    AppendSample(bucket_name, bucket_labels, static_cast<double>(cumulative), out);
  }
  AppendSample(std::string(name) + "_sum", labels, Sum(), out);
  AppendSample(std::string(name) + "_count", labels, static_cast<double>(cumulative), out);
}

}  // namespace specd::metrics
