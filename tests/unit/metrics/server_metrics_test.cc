// ServerMetrics: every specd_* metric is registered with its type, the engine snapshot is
// taken once per scrape and feeds the callback gauges and counters, and the helpers count
// finished and rejected requests under the right labels.
#include "server/metrics/server_metrics.h"

#include <catch2/catch.hpp>

#include "tests/unit/metrics/prometheus_text_parser.h"

namespace specd::metrics {
namespace {

metrics_test::ParsedMetrics Scrape(const MetricsRegistry& registry) {
  auto parsed = metrics_test::ParsePrometheusText(registry.RenderText());
  INFO(parsed.status().ToString());
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

TEST_CASE("ServerMetrics registers every specd_ metric with its type", "[cpu]") {
  MetricsRegistry registry;
  ServerMetrics metrics(&registry, nullptr);
  const std::map<std::string, std::string> expected = {
      {"specd_time_to_first_token_seconds", "histogram"},
      {"specd_inter_token_latency_seconds", "histogram"},
      {"specd_e2e_request_latency_seconds", "histogram"},
      {"specd_request_queue_time_seconds", "histogram"},
      {"specd_prompt_tokens_total", "counter"},
      {"specd_generation_tokens_total", "counter"},
      {"specd_spec_decode_num_drafts_total", "counter"},
      {"specd_spec_decode_draft_tokens_total", "counter"},
      {"specd_spec_decode_accepted_tokens_total", "counter"},
      {"specd_spec_decode_acceptance_rate", "gauge"},
      {"specd_spec_decode_mean_accepted_length", "gauge"},
      {"specd_spec_decode_accepted_per_position_total", "counter"},
      {"specd_requests_finished_total", "counter"},
      {"specd_requests_rejected_total", "counter"},
      {"specd_num_requests_running", "gauge"},
      {"specd_num_requests_waiting", "gauge"},
      {"specd_kv_cache_usage_ratio", "gauge"},
      {"specd_prefix_cache_queries_tokens_total", "counter"},
      {"specd_prefix_cache_hits_tokens_total", "counter"},
      {"specd_num_preemptions_total", "counter"},
  };
  const metrics_test::ParsedMetrics parsed = Scrape(registry);
  CHECK(parsed.types == expected);
  for (const auto& [name, type] : expected) {
    CHECK_FALSE(parsed.help.at(name).empty());
  }
  // No engine: zeros.
  CHECK(parsed.Find("specd_num_requests_running") == 0);
  CHECK(parsed.Find("specd_prefix_cache_hits_tokens_total") == 0);
}

TEST_CASE("latency histograms span 1 ms to 60 s", "[cpu]") {
  MetricsRegistry registry;
  ServerMetrics metrics(&registry, nullptr);
  for (const Histogram* histogram :
       {&metrics.time_to_first_token_seconds, &metrics.inter_token_latency_seconds,
        &metrics.e2e_request_latency_seconds, &metrics.request_queue_time_seconds}) {
    CHECK(histogram->bounds().front() == 0.001);
    CHECK(histogram->bounds().back() == 60.0);
  }
  metrics.time_to_first_token_seconds.Observe(0.042);
  metrics.time_to_first_token_seconds.Observe(120);
  const metrics_test::ParsedMetrics parsed = Scrape(registry);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_bucket{le=\"0.025\"}") == 0);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_bucket{le=\"0.05\"}") == 1);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_bucket{le=\"60\"}") == 1);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_bucket{le=\"+Inf\"}") == 2);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_count") == 2);
  CHECK(parsed.Find("specd_time_to_first_token_seconds_sum") == Approx(120.042));
}

TEST_CASE("engine stats are snapshotted once per scrape", "[cpu]") {
  MetricsRegistry registry;
  int calls = 0;
  ServerMetrics metrics(&registry, [&calls] {
    ++calls;
    EngineStatsSnapshot snapshot;
    snapshot.running = 3 * calls;
    snapshot.waiting = 5;
    snapshot.kv_usage = 0.375;
    snapshot.prefix_queried_tokens = 1024;
    snapshot.prefix_hit_tokens = 512;
    snapshot.preemptions = 2;
    snapshot.spec_drafts = 4;
    snapshot.spec_draft_tokens = 16;
    snapshot.spec_accepted_tokens = 10;
    return snapshot;
  });
  metrics_test::ParsedMetrics parsed = Scrape(registry);
  CHECK(calls == 1);
  CHECK(parsed.Find("specd_num_requests_running") == 3);
  CHECK(parsed.Find("specd_num_requests_waiting") == 5);
  CHECK(parsed.Find("specd_kv_cache_usage_ratio") == 0.375);
  CHECK(parsed.Find("specd_prefix_cache_queries_tokens_total") == 1024);
  CHECK(parsed.Find("specd_prefix_cache_hits_tokens_total") == 512);
  CHECK(parsed.Find("specd_num_preemptions_total") == 2);
  CHECK(parsed.Find("specd_spec_decode_num_drafts_total") == 4);
  CHECK(parsed.Find("specd_spec_decode_draft_tokens_total") == 16);
  CHECK(parsed.Find("specd_spec_decode_accepted_tokens_total") == 10);
  CHECK(parsed.Find("specd_spec_decode_acceptance_rate") == 0.625);
  CHECK(parsed.Find("specd_spec_decode_mean_accepted_length") == 2.5);
  parsed = Scrape(registry);
  CHECK(calls == 2);
  CHECK(parsed.Find("specd_num_requests_running") == 6);
}

TEST_CASE("finished and rejected requests are counted by label", "[cpu]") {
  MetricsRegistry registry;
  ServerMetrics metrics(&registry, nullptr);
  metrics.CountFinished("stop", "standard");
  metrics.CountFinished("stop", "standard");
  metrics.CountFinished("length", "batch");
  metrics.CountRejected(StatusCode::kResourceExhausted);
  metrics.CountRejected(StatusCode::kUnavailable);
  metrics.CountRejected(StatusCode::kResourceExhausted);
  metrics.prompt_tokens_total.Increment(17);
  metrics.generation_tokens_total.Increment(5);
  metrics.CountAcceptedPerPosition({5, 3, 1});
  const metrics_test::ParsedMetrics parsed = Scrape(registry);
  using metrics_test::Labels;
  CHECK(parsed.Find("specd_requests_finished_total",
                    Labels{{"reason", "stop"}, {"qos_class", "standard"}}) == 2);
  CHECK(parsed.Find("specd_requests_finished_total",
                    Labels{{"reason", "length"}, {"qos_class", "batch"}}) == 1);
  CHECK(parsed.Find("specd_requests_rejected_total{code=\"RESOURCE_EXHAUSTED\"}") == 2);
  CHECK(parsed.Find("specd_requests_rejected_total{code=\"UNAVAILABLE\"}") == 1);
  CHECK(parsed.Find("specd_prompt_tokens_total") == 17);
  CHECK(parsed.Find("specd_generation_tokens_total") == 5);
  CHECK(parsed.Find("specd_spec_decode_accepted_per_position_total{position=\"0\"}") == 5);
  CHECK(parsed.Find("specd_spec_decode_accepted_per_position_total{position=\"2\"}") == 1);
}

}  // namespace
}  // namespace specd::metrics
