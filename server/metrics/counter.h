// Counter: a monotonic total (requests, tokens). Increment and Add are lock-free and may be
// called from any thread (engine thread, gRPC threads); Value is read by the scrape thread.
//
// Integer increments go to an exact 64-bit integer; fractional ones (seconds) to a double. The
// exported value is their sum.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace specd::metrics {

class Counter {
 public:
  static constexpr const char* kTypeName = "counter";
  static constexpr std::string_view kReservedLabel = "";

  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Precondition: n >= 0.
  void Increment(int64_t n = 1);
  // Precondition: delta >= 0 (not NaN).
  void Add(double delta);
  double Value() const;

  // Appends this counter's sample line under `name` with pre-formatted `labels`.
  void AppendSamples(std::string_view name, std::string_view labels, std::string* out) const;

 private:
  std::atomic<uint64_t> integer_part_{0};
  std::atomic<double> fractional_part_{0.0};
};

}  // namespace specd::metrics
