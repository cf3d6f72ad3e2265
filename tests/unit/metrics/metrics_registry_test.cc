// MetricsRegistry: the exact exposition text of every metric type (HELP/TYPE, labels in order,
// escaping, children sorted by label values, histogram buckets), callbacks and pre-scrape hooks.
#include "server/metrics/metrics_registry.h"

#include <catch2/catch.hpp>

namespace specd::metrics {
namespace {

TEST_CASE("an unlabeled counter is exported as 0 before first use, then its total", "[cpu]") {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("req_total", "Requests.").Get();
  CHECK(registry.RenderText() ==
        "# HELP req_total Requests.\n"
        "# TYPE req_total counter\n"
        "req_total 0\n");
  counter.Increment();
  counter.Increment(4);
  counter.Add(0.25);
  CHECK(counter.Value() == 5.25);
  CHECK(registry.RenderText() ==
        "# HELP req_total Requests.\n"
        "# TYPE req_total counter\n"
        "req_total 5.25\n");
}

TEST_CASE("labeled children are created on first use, kept, and sorted by values", "[cpu]") {
  MetricsRegistry registry;
  auto& finished = registry.AddCounter("fin_total", "Finished.", {"reason", "qos_class"});
  CHECK(registry.RenderText() == "# HELP fin_total Finished.\n# TYPE fin_total counter\n");
  Counter& stop = finished.WithLabels({"stop", "standard"});
  stop.Increment(2);
  finished.WithLabels({"length", "standard"}).Increment();
  finished.WithLabels({"stop", "batch"}).Increment(7);
  CHECK(&finished.WithLabels({"stop", "standard"}) == &stop);
  const std::string reason = "stop";
  CHECK(&finished.WithLabels({reason, std::string_view("standard")}) == &stop);
  CHECK(registry.RenderText() ==
        "# HELP fin_total Finished.\n"
        "# TYPE fin_total counter\n"
        "fin_total{reason=\"length\",qos_class=\"standard\"} 1\n"
        "fin_total{reason=\"stop\",qos_class=\"batch\"} 7\n"
        "fin_total{reason=\"stop\",qos_class=\"standard\"} 2\n");
}

TEST_CASE("label values and HELP text are escaped", "[cpu]") {
  MetricsRegistry registry;
  auto& family = registry.AddGauge("g", "Says \"hi\"\nwith a \\ backslash.", {"path"});
  family.WithLabels({"C:\\dir\n\"quoted\""}).Set(-1.5);
  CHECK(registry.RenderText() ==
        "# HELP g Says \"hi\"\\nwith a \\\\ backslash.\n"
        "# TYPE g gauge\n"
        "g{path=\"C:\\\\dir\\n\\\"quoted\\\"\"} -1.5\n");
}

TEST_CASE("gauges set and add", "[cpu]") {
  MetricsRegistry registry;
  Gauge& gauge = registry.AddGauge("temp", "Temperature.").Get();
  gauge.Set(10);
  gauge.Add(-2.5);
  CHECK(gauge.Value() == 7.5);
  CHECK(registry.RenderText() == "# HELP temp Temperature.\n# TYPE temp gauge\ntemp 7.5\n");
}

TEST_CASE("labeled histograms put le last and keep one set of buckets per child", "[cpu]") {
  MetricsRegistry registry;
  auto& family = registry.AddHistogram("lat_seconds", "Latency.", {0.5, 1}, {"op"});
  family.WithLabels({"read"}).Observe(0.25);
  family.WithLabels({"read"}).Observe(0.75);
  family.WithLabels({"write"}).Observe(2);
  CHECK(registry.RenderText() ==
        "# HELP lat_seconds Latency.\n"
        "# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{op=\"read\",le=\"0.5\"} 1\n"
        "lat_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
        "lat_seconds_bucket{op=\"read\",le=\"+Inf\"} 2\n"
        "lat_seconds_sum{op=\"read\"} 1\n"
        "lat_seconds_count{op=\"read\"} 2\n"
        "lat_seconds_bucket{op=\"write\",le=\"0.5\"} 0\n"
        "lat_seconds_bucket{op=\"write\",le=\"1\"} 0\n"
        "lat_seconds_bucket{op=\"write\",le=\"+Inf\"} 1\n"
        "lat_seconds_sum{op=\"write\"} 2\n"
        "lat_seconds_count{op=\"write\"} 1\n");
}

TEST_CASE("an unlabeled histogram is exported empty before first use", "[cpu]") {
  MetricsRegistry registry;
  registry.AddHistogram("h", "H.", {1});
  CHECK(registry.RenderText() ==
        "# HELP h H.\n# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

TEST_CASE("callback metrics are evaluated at each scrape, after the pre-scrape hooks", "[cpu]") {
  MetricsRegistry registry;
  int snapshot = 0;
  int hook_calls = 0;
  registry.AddPreScrapeHook([&] { snapshot = ++hook_calls * 10; });
  registry.AddCallbackGauge("running", "Running.", [&] { return snapshot + 1.0; });
  registry.AddCallbackCounter("preempt_total", "Preemptions.", [&] { return snapshot * 2.0; });
  CHECK(registry.RenderText() ==
        "# HELP running Running.\n# TYPE running gauge\nrunning 11\n"
        "# HELP preempt_total Preemptions.\n# TYPE preempt_total counter\npreempt_total 20\n");
  CHECK(registry.RenderText() ==
        "# HELP running Running.\n# TYPE running gauge\nrunning 21\n"
        "# HELP preempt_total Preemptions.\n# TYPE preempt_total counter\npreempt_total 40\n");
  CHECK(hook_calls == 2);
}

TEST_CASE("families render in registration order", "[cpu]") {
  MetricsRegistry registry;
  registry.AddGauge("zeta", "Z.");
  registry.AddCounter("alpha_total", "A.");
  CHECK(registry.RenderText() ==
        "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 0\n"
        "# HELP alpha_total A.\n# TYPE alpha_total counter\nalpha_total 0\n");
}

TEST_CASE("an empty registry renders nothing", "[cpu]") {
  MetricsRegistry registry;
  CHECK(registry.RenderText().empty());
}

}  // namespace
}  // namespace specd::metrics
