#include "server/request_log.h"

#include "engine/base/logging.h"

namespace specd {
namespace {

double Milliseconds(std::optional<Clock::time_point> from, std::optional<Clock::time_point> to) {
  if (!from || !to) return -1.0;
  return std::chrono::duration<double, std::milli>(*to - *from).count();
}

}  // namespace

void RequestLog::OnRejected(const Status& status) {
  GetLogger("server")->debug("refused a request: {}", status.ToString());
}

void RequestLog::OnFinished(const FinishedRequest& f) {
  const RequestTimings& t = f.last.timings;
  GetLogger("server")->info(
      "finished {} class={} reason={} prompt={} cached={} completion={} preemptions={} "
      "queue_ms={:.1f} ttft_ms={:.1f} total_ms={:.1f}",
      f.request_id, f.qos_class, FinishReasonName(f.reason),
      f.last.num_prompt_tokens, f.last.num_cached_tokens, f.last.num_output_tokens,
      f.last.num_preemptions, Milliseconds(t.arrival, t.first_scheduled),
      Milliseconds(t.arrival, t.first_token), Milliseconds(t.arrival, t.finished));
}

}  // namespace specd
