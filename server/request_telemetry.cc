#include "server/request_telemetry.h"

#include "engine/base/logging.h"

namespace specd {
namespace {

std::optional<double> Seconds(const Clock::time_point& from, const std::optional<Clock::time_point>& to) {
  if (!to) return std::nullopt;
  return std::chrono::duration<double>(*to - from).count();
}

double Milliseconds(const std::optional<double>& seconds) { return seconds ? *seconds * 1000 : -1.0; }

}  // namespace

void RequestTelemetry::OnRejected(const Status& status) {
  metrics_.CountRejected(status.code());
  GetLogger("server")->debug("refused a request: {}", status.ToString());
}

void RequestTelemetry::OnTokens(int num_tokens, double seconds_since_previous) {
  // Several tokens in one step (speculative decoding) share the step's interval.
  for (int i = 0; i < num_tokens; ++i) {
    metrics_.inter_token_latency_seconds.Observe(seconds_since_previous / num_tokens);
  }
}

void RequestTelemetry::OnFinished(const FinishedRequest& f) {
  const RequestTimings& t = f.last.timings;
  const auto queue = Seconds(t.arrival, t.first_scheduled);
  const auto first_token = Seconds(t.arrival, t.first_token);
  const auto total = Seconds(t.arrival, t.finished);
  if (queue) metrics_.request_queue_time_seconds.Observe(*queue);
  if (first_token) metrics_.time_to_first_token_seconds.Observe(*first_token);
  if (total) metrics_.e2e_request_latency_seconds.Observe(*total);
  metrics_.prompt_tokens_total.Increment(f.last.num_prompt_tokens);
  metrics_.generation_tokens_total.Increment(f.last.num_output_tokens);
  metrics_.CountFinished(FinishReasonName(f.reason), f.qos_class);
  metrics_.CountAcceptedPerPosition(f.last.accepted_per_position);
  GetLogger("server")->info(
      "finished {} class={} reason={} prompt={} cached={} completion={} drafted={} accepted={} "
      "preemptions={} queue_ms={:.1f} ttft_ms={:.1f} total_ms={:.1f}",
      f.request_id, f.qos_class, FinishReasonName(f.reason), f.last.num_prompt_tokens,
      f.last.num_cached_tokens, f.last.num_output_tokens, f.last.num_drafted_tokens,
      f.last.num_accepted_tokens, f.last.num_preemptions,
      Milliseconds(queue), Milliseconds(first_token), Milliseconds(total));
}

}  // namespace specd
