// Gauge: a value that goes up and down, set by its owner. Lock-free; any thread sets it, the
// scrape thread reads it. (A value computed at scrape time is a CallbackMetric instead.)
#pragma once

#include <atomic>
#include <string>
#include <string_view>

namespace specd::metrics {

class Gauge {
 public:
  static constexpr const char* kTypeName = "gauge";
  static constexpr std::string_view kReservedLabel = "";

  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  // `delta` may be negative.
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

  // Appends this gauge's sample line under `name` with pre-formatted `labels`.
  void AppendSamples(std::string_view name, std::string_view labels, std::string* out) const;

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace specd::metrics
