#include "server/metrics/server_metrics.h"

#include <memory>
#include <mutex>
#include <utility>

namespace specd::metrics {
namespace {

template <size_t N>
Histogram& AddSecondsHistogram(MetricsRegistry* registry, std::string name, std::string help,
                               const std::array<double, N>& bounds) {
  return registry
      ->AddHistogram(std::move(name), std::move(help),
                     std::vector<double>(bounds.begin(), bounds.end()))
      .Get();
}

// One engine snapshot per scrape, taken by the pre-scrape hook and read by the callbacks.
class EngineStatsCache {
 public:
  explicit EngineStatsCache(EngineStatsSource source) : source_(std::move(source)) {}

  void Refresh() {
    const EngineStatsSnapshot snapshot = source_ ? source_() : EngineStatsSnapshot{};
    std::lock_guard<std::mutex> lock(mutex_);
    last_ = snapshot;
  }
  EngineStatsSnapshot Get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_;
  }

 private:
  const EngineStatsSource source_;
  mutable std::mutex mutex_;
  EngineStatsSnapshot last_;
};

// Speculative decoding: the engine's totals, and the two ratios people look at.
void RegisterSpecDecodeStats(MetricsRegistry* registry, std::shared_ptr<EngineStatsCache> cache) {
  auto read = [cache](auto field) {
    return [cache, field] { return static_cast<double>(cache->Get().*field); };
  };
  registry->AddCallbackCounter("specd_spec_decode_num_drafts_total",
                               "Request-steps that verified draft tokens.",
                               read(&EngineStatsSnapshot::spec_drafts));
  registry->AddCallbackCounter("specd_spec_decode_draft_tokens_total",
                               "Draft tokens proposed for verification by speculative decoding.",
                               read(&EngineStatsSnapshot::spec_draft_tokens));
  registry->AddCallbackCounter("specd_spec_decode_accepted_tokens_total",
                               "Draft tokens accepted by the target model's verification.",
                               read(&EngineStatsSnapshot::spec_accepted_tokens));
  const auto ratio = [cache](auto numerator, auto denominator) {
    return [cache, numerator, denominator] {
      const EngineStatsSnapshot s = cache->Get();
      return s.*denominator == 0 ? 0.0 : static_cast<double>(s.*numerator) / static_cast<double>(s.*denominator);
    };
  };
  registry->AddCallbackGauge("specd_spec_decode_acceptance_rate",
                             "Accepted draft tokens / draft tokens, since start.",
                             ratio(&EngineStatsSnapshot::spec_accepted_tokens, &EngineStatsSnapshot::spec_draft_tokens));
  registry->AddCallbackGauge("specd_spec_decode_mean_accepted_length",
                             "Accepted draft tokens per verification, since start.",
                             ratio(&EngineStatsSnapshot::spec_accepted_tokens, &EngineStatsSnapshot::spec_drafts));
}

void RegisterEngineStats(MetricsRegistry* registry, EngineStatsSource source) {
  auto cache = std::make_shared<EngineStatsCache>(std::move(source));
  registry->AddPreScrapeHook([cache] { cache->Refresh(); });
  auto read = [cache](auto field) {
    return [cache, field] { return static_cast<double>(cache->Get().*field); };
  };
  registry->AddCallbackGauge("specd_num_requests_running",
                             "Requests in the engine's running batch.",
                             read(&EngineStatsSnapshot::running));
  registry->AddCallbackGauge("specd_num_requests_waiting",
                             "Requests waiting in the engine's queue to be scheduled.",
                             read(&EngineStatsSnapshot::waiting));
  registry->AddCallbackGauge("specd_kv_cache_usage_ratio",
                             "Fraction of KV cache blocks in use, from 0 to 1.",
                             read(&EngineStatsSnapshot::kv_usage));
  registry->AddCallbackCounter("specd_prefix_cache_queries_tokens_total",
                               "Prompt tokens looked up in the prefix cache.",
                               read(&EngineStatsSnapshot::prefix_queried_tokens));
  registry->AddCallbackCounter("specd_prefix_cache_hits_tokens_total",
                               "Prompt tokens found in the prefix cache.",
                               read(&EngineStatsSnapshot::prefix_hit_tokens));
  registry->AddCallbackCounter("specd_num_preemptions_total",
                               "Requests preempted (KV blocks freed, recomputed later).",
                               read(&EngineStatsSnapshot::preemptions));
  RegisterSpecDecodeStats(registry, cache);
}

}  // namespace

ServerMetrics::ServerMetrics(MetricsRegistry* registry, EngineStatsSource engine_stats)
    : time_to_first_token_seconds(AddSecondsHistogram(
          registry, "specd_time_to_first_token_seconds",
          "Time from request arrival to its first generated token.", kRequestLatencyBuckets)),
      inter_token_latency_seconds(AddSecondsHistogram(
          registry, "specd_inter_token_latency_seconds",
          "Time between consecutive output tokens of a request.", kTokenLatencyBuckets)),
      e2e_request_latency_seconds(AddSecondsHistogram(
          registry, "specd_e2e_request_latency_seconds",
          "Time from request arrival to its last token.", kRequestLatencyBuckets)),
      request_queue_time_seconds(AddSecondsHistogram(
          registry, "specd_request_queue_time_seconds",
          "Time a request waited before it was first scheduled.", kRequestLatencyBuckets)),
      prompt_tokens_total(
          registry->AddCounter("specd_prompt_tokens_total", "Prompt tokens processed.").Get()),
      generation_tokens_total(
          registry->AddCounter("specd_generation_tokens_total", "Tokens generated.").Get()),
      spec_decode_accepted_per_position_total(registry->AddCounter(
          "specd_spec_decode_accepted_per_position_total",
          "Draft tokens accepted at each draft position (0 is the first draft), by finished requests.",
          {"position"})),
      requests_finished_total(registry->AddCounter("specd_requests_finished_total",
                                                   "Requests finished, by finish reason and QoS "
                                                   "class.",
                                                   {"reason", "qos_class"})),
      requests_rejected_total(
          registry->AddCounter("specd_requests_rejected_total",
                               "Requests refused at admission, by gRPC status code.", {"code"})) {
  RegisterEngineStats(registry, std::move(engine_stats));
}

void ServerMetrics::CountFinished(std::string_view reason, std::string_view qos_class) {
  requests_finished_total.WithLabels({reason, qos_class}).Increment();
}

void ServerMetrics::CountAcceptedPerPosition(const std::vector<int64_t>& accepted) {
  for (size_t position = 0; position < accepted.size(); ++position) {
    spec_decode_accepted_per_position_total.WithLabels({std::to_string(position)}).Increment(accepted[position]);
  }
}

void ServerMetrics::CountRejected(StatusCode code) {
  requests_rejected_total.WithLabels({StatusCodeName(code)}).Increment();
}

}  // namespace specd::metrics
