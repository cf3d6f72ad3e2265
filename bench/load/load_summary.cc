// Aggregating a run's records (see load_summary.h).
#include "bench/load/load_summary.h"

namespace specd::bench {
namespace {

constexpr double kMillisecondsPerSecond = 1000.0;

bool Within(std::optional<double> seconds, std::optional<double> limit_ms) {
  // A request with one token has no TPOT: it meets any TPOT objective.
  return !limit_ms || !seconds || *seconds * kMillisecondsPerSecond <= *limit_ms;
}

// Counts, tokens and the speculative-decoding totals.
void CountRequests(const std::vector<RequestRecord>& records, LoadSummary& summary) {
  for (const RequestRecord& record : records) {
    ++summary.sent;
    if (!record.finished()) {
      ++summary.errors;
      ++summary.errors_by_code[record.outcome];
      continue;
    }
    ++summary.finished;
    summary.prompt_tokens += record.prompt_tokens;
    summary.cached_prompt_tokens += record.cached_tokens;
    summary.output_tokens += record.OutputTokens();
    summary.draft_tokens += record.draft_tokens;
    summary.accepted_tokens += record.accepted_tokens;
    if (record.completion_tokens != record.OutputTokens()) ++summary.usage_mismatches;
  }
  if (summary.draft_tokens > 0) {
    summary.acceptance_rate = static_cast<double>(summary.accepted_tokens) / static_cast<double>(summary.draft_tokens);
  }
}

void SummarizeLatencies(const std::vector<RequestRecord>& records, LoadSummary& summary) {
  std::vector<double> ttft, tpot, itl, e2e, lag;
  for (const RequestRecord& record : records) {
    lag.push_back(record.LagS());
    if (record.LagS() > kLateThresholdS) ++summary.late_requests;
    if (!record.finished()) continue;
    if (const auto first = record.TtftS()) ttft.push_back(*first);
    if (const auto per_token = record.TpotS()) tpot.push_back(*per_token);
    record.AppendItlS(itl);
    e2e.push_back(record.E2eS());
  }
  summary.ttft_ms = DistributionSummary::Of(std::move(ttft), kMillisecondsPerSecond);
  summary.tpot_ms = DistributionSummary::Of(std::move(tpot), kMillisecondsPerSecond);
  summary.itl_ms = DistributionSummary::Of(std::move(itl), kMillisecondsPerSecond);
  summary.e2e_ms = DistributionSummary::Of(std::move(e2e), kMillisecondsPerSecond);
  summary.lag_ms = DistributionSummary::Of(std::move(lag), kMillisecondsPerSecond);
}

}  // namespace

bool MeetsSlo(const RequestRecord& record, const SloSpec& slo) {
  return record.finished() && Within(record.TtftS(), slo.ttft_ms) && Within(record.TpotS(), slo.tpot_ms) &&
         Within(record.E2eS(), slo.e2e_ms);
}

LoadSummary LoadSummary::Of(const std::vector<RequestRecord>& records, double duration_s, const SloSpec& slo) {
  LoadSummary summary;
  summary.duration_s = duration_s;
  CountRequests(records, summary);
  SummarizeLatencies(records, summary);
  if (duration_s <= 0) return summary;
  summary.request_throughput = static_cast<double>(summary.finished) / duration_s;
  summary.output_token_throughput = static_cast<double>(summary.output_tokens) / duration_s;
  summary.total_token_throughput = static_cast<double>(summary.prompt_tokens + summary.output_tokens) / duration_s;
  if (!slo.empty()) {
    Goodput goodput;
    for (const RequestRecord& record : records) goodput.requests += MeetsSlo(record, slo) ? 1 : 0;
    goodput.requests_per_second = static_cast<double>(goodput.requests) / duration_s;
    summary.goodput = goodput;
  }
  return summary;
}

}  // namespace specd::bench
