// RequestTelemetry: the server's RequestObserver. Writes one info line per finished request (id,
// class, tokens, timings, finish reason; never the prompt text) and feeds the Prometheus
// metrics (latency histograms, token and finish counters, refusals by code). Thread-safe: the
// metrics are lock-free, spdlog is thread-safe.
#pragma once

#include "server/metrics/server_metrics.h"
#include "server/request_observer.h"

namespace specd {

class RequestTelemetry : public RequestObserver {
 public:
  explicit RequestTelemetry(metrics::ServerMetrics& metrics) : metrics_(metrics) {}

  void OnRejected(const Status& status) override;
  void OnTokens(int num_tokens, double seconds_since_previous) override;
  void OnFinished(const FinishedRequest& finished) override;

 private:
  metrics::ServerMetrics& metrics_;
};

}  // namespace specd
