// ServerMetrics: every specd_* metric, registered in one place, and the handles that the
// server and engine update. Counters and histograms are lock-free and may be updated from any
// thread (engine thread, gRPC threads); the engine-derived gauges and counters are read from
// an EngineStatsSource once per scrape, on the scrape thread.
//
// The families live in the registry (which must outlive this struct); the snapshot source is
// kept by the registry's callbacks, so it must stay callable for the registry's lifetime.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "server/metrics/engine_stats_snapshot.h"
#include "server/metrics/metrics_registry.h"

namespace specd::metrics {

// Bucket upper bounds in seconds (the +Inf bucket is implicit).
// Time to first token, queue time, end-to-end latency: 1 ms to 60 s.
inline constexpr std::array<double, 21> kRequestLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2, 0.3,
    0.5,   0.75,   1.0,   2.5,  5.0,   7.5,  10.0,  20.0, 30.0, 60.0};
// Inter-token latency: finer from 1 ms to 100 ms where decode steps fall, up to 60 s.
inline constexpr std::array<double, 24> kTokenLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
    0.1,   0.15,   0.2,   0.3,    0.5,  0.75,  1.0,  2.5,   5.0,  10.0, 30.0, 60.0};

struct ServerMetrics {
  // Registers every specd_* metric in `registry`. An empty `engine_stats` exports zeros.
  ServerMetrics(MetricsRegistry* registry, EngineStatsSource engine_stats);

  // requests_finished_total{reason, qos_class} += 1.
  void CountFinished(std::string_view reason, std::string_view qos_class);
  // spec_decode_accepted_per_position_total{position} += accepted[position].
  void CountAcceptedPerPosition(const std::vector<int64_t>& accepted);
  // requests_rejected_total{code} += 1, code spelled as gRPC does ("RESOURCE_EXHAUSTED").
  void CountRejected(StatusCode code);

  Histogram& time_to_first_token_seconds;
  Histogram& inter_token_latency_seconds;
  Histogram& e2e_request_latency_seconds;
  Histogram& request_queue_time_seconds;
  Counter& prompt_tokens_total;
  Counter& generation_tokens_total;
  MetricFamily<Counter>& spec_decode_accepted_per_position_total;  // labels: position
  MetricFamily<Counter>& requests_finished_total;  // labels: reason, qos_class
  MetricFamily<Counter>& requests_rejected_total;  // labels: code
};

}  // namespace specd::metrics
