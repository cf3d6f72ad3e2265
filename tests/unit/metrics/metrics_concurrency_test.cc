// Concurrency: many threads updating counters, gauges, histograms and labeled children while
// scrapes run; the totals must be exact once the threads are joined.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "server/metrics/metrics_registry.h"
#include "tests/unit/metrics/prometheus_text_parser.h"

namespace specd::metrics {
namespace {

constexpr int kThreads = 8;
constexpr int kIterations = 20000;

TEST_CASE("concurrent updates and scrapes: exact totals, consistent histograms", "[cpu]") {
  MetricsRegistry registry;
  Counter& tokens = registry.AddCounter("tokens_total", "Tokens.").Get();
  Counter& seconds = registry.AddCounter("busy_seconds_total", "Busy time.").Get();
  Gauge& in_flight = registry.AddGauge("in_flight", "In flight.").Get();
  Histogram& latency = registry.AddHistogram("lat", "Latency.", {0.25, 0.5, 0.75}).Get();
  auto& finished = registry.AddCounter("fin_total", "Finished.", {"reason"});

  // Catch2 assertions are not thread-safe: the scraper counts what it sees instead.
  std::atomic<bool> done{false};
  int scrapes = 0;
  int bad_scrapes = 0;
  std::thread scraper([&] {
    do {
      const auto parsed = metrics_test::ParsePrometheusText(registry.RenderText());
      ++scrapes;
      // _count is the +Inf bucket even mid-update.
      if (!parsed.ok() || parsed->Find("lat_count") != parsed->Find("lat_bucket{le=\"+Inf\"}")) {
        ++bad_scrapes;
      }
    } while (!done);
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      const std::string reason = t % 2 == 0 ? "stop" : "length";
      for (int i = 0; i < kIterations; ++i) {
        tokens.Increment(3);
        seconds.Add(0.5);
        in_flight.Add(1);
        latency.Observe(static_cast<double>(i % 4) * 0.25 + 0.125);  // one per bucket
        finished.WithLabels({reason}).Increment();
        in_flight.Add(-1);
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  done = true;
  scraper.join();
  CHECK(scrapes > 0);
  CHECK(bad_scrapes == 0);

  constexpr int64_t kTotal = int64_t{kThreads} * kIterations;
  CHECK(tokens.Value() == 3.0 * kTotal);
  CHECK(seconds.Value() == 0.5 * kTotal);  // binary fractions: exact
  CHECK(in_flight.Value() == 0);
  CHECK(latency.Count() == static_cast<uint64_t>(kTotal));
  CHECK(latency.BucketCounts() == std::vector<uint64_t>(4, kTotal / 4));
  CHECK(latency.Sum() == 0.5 * kTotal);  // (0.125 + 0.375 + 0.625 + 0.875) / 4 each
  CHECK(finished.WithLabels({"stop"}).Value() == kTotal / 2);
  CHECK(finished.WithLabels({"length"}).Value() == kTotal / 2);
}

}  // namespace
}  // namespace specd::metrics
