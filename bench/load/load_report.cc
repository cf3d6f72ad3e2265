// JSON and tables of finished runs (see load_report.h).
#include "bench/load/load_report.h"

#include <fmt/format.h>

namespace specd::bench {
namespace {

using Json = nlohmann::json;

constexpr double kMs = 1000.0;

Json OptionalMs(const std::optional<double>& seconds) { return seconds ? Json(*seconds * kMs) : Json(nullptr); }

Json RecordJson(const RequestRecord& r) {
  Json json = {{"index", r.index}, {"scheduled_s", r.scheduled_s}, {"sent_s", r.sent_s}, {"outcome", r.outcome},
               {"requested_prompt_tokens", r.requested_prompt_tokens}, {"max_tokens", r.max_tokens},
               {"prompt_tokens", r.prompt_tokens}, {"cached_tokens", r.cached_tokens},
               {"output_tokens", r.OutputTokens()}, {"draft_tokens", r.draft_tokens},
               {"accepted_tokens", r.accepted_tokens}, {"ttft_ms", OptionalMs(r.TtftS())},
               {"tpot_ms", OptionalMs(r.TpotS())}, {"e2e_ms", r.E2eS() * kMs}};
  if (!r.error_message.empty()) json["error"] = r.error_message;
  return json;
}

Json SpeculationJson(const LoadSummary& s) {
  return {{"draft_tokens", s.draft_tokens}, {"accepted_tokens", s.accepted_tokens},
          {"acceptance_rate", s.acceptance_rate ? Json(*s.acceptance_rate) : Json(nullptr)}};
}

std::string SloText(const SloSpec& slo) {
  std::string text;
  const auto add = [&](const char* name, const std::optional<double>& ms) {
    if (ms) text += (text.empty() ? "" : ", ") + fmt::format("{} <= {:g} ms", name, *ms);
  };
  add("TTFT", slo.ttft_ms);
  add("TPOT", slo.tpot_ms);
  add("E2E", slo.e2e_ms);
  return text;
}

std::string ErrorsText(const LoadSummary& s) {
  std::string text;
  for (const auto& [code, count] : s.errors_by_code) text += fmt::format("{}{} {}", text.empty() ? "" : ", ", code, count);
  return text.empty() ? "none" : text;
}

std::string LatencyRow(const char* name, const DistributionSummary& d) {
  if (d.count == 0) return fmt::format("{:<6}{:>10}\n", name, "-");
  return fmt::format("{:<6}{:>10.2f}{:>10.2f}{:>10.2f}{:>10.2f}{:>10.2f}\n", name, d.mean, d.p50, d.p90, d.p99, d.max);
}

std::string Line(const char* label, const std::string& value) { return fmt::format("{:<36}{}\n", label, value); }

std::string SpeculationText(const LoadSummary& s) {
  if (!s.acceptance_rate) return "- (no draft tokens)";
  return fmt::format("{:.3f} ({} of {} draft tokens accepted)", *s.acceptance_rate, s.accepted_tokens, s.draft_tokens);
}

}  // namespace

Json RunJson(const RunResult& run) {
  const LoadSummary& s = run.summary;
  Json json = {
      {"arrival", run.arrival.ToJson()},
      {"requests", {{"sent", s.sent}, {"finished", s.finished}, {"errors", s.errors}, {"errors_by_code", s.errors_by_code}}},
      {"duration_s", s.duration_s},
      {"tokens", {{"prompt", s.prompt_tokens}, {"cached_prompt", s.cached_prompt_tokens}, {"output", s.output_tokens},
                  {"usage_mismatches", s.usage_mismatches}}},
      {"throughput", {{"requests_per_s", s.request_throughput}, {"output_tokens_per_s", s.output_token_throughput},
                      {"total_tokens_per_s", s.total_token_throughput}}},
      {"latency_ms", {{"ttft", s.ttft_ms.ToJson()}, {"tpot", s.tpot_ms.ToJson()}, {"itl", s.itl_ms.ToJson()},
                      {"e2e", s.e2e_ms.ToJson()}}},
      {"goodput", s.goodput ? Json{{"requests", s.goodput->requests}, {"requests_per_s", s.goodput->requests_per_second}}
                            : Json(nullptr)},
      {"speculation", SpeculationJson(s)},
      {"schedule", {{"lag_ms", s.lag_ms.ToJson()}, {"late_requests", s.late_requests},
                    {"late_threshold_ms", kLateThresholdS * kMs}}},
      {"per_request", Json::array()}};
  for (const RequestRecord& record : run.records) json["per_request"].push_back(RecordJson(record));
  return json;
}

std::string FormatRunTable(const std::string& title, const RunResult& run, const SloSpec& slo) {
  const LoadSummary& s = run.summary;
  std::string out = fmt::format("{:=^66}\n", " " + title + " ");
  out += Line("Arrivals", run.arrival.Describe());
  out += Line("Requests sent / finished / errors", fmt::format("{} / {} / {}", s.sent, s.finished, s.errors));
  out += Line("Errors by code", ErrorsText(s));
  out += Line("Duration (s)", fmt::format("{:.3f}", s.duration_s));
  out += Line("Prompt tokens (from prefix cache)", fmt::format("{} ({})", s.prompt_tokens, s.cached_prompt_tokens));
  out += Line("Output tokens", std::to_string(s.output_tokens));
  out += Line("Request throughput (req/s)", fmt::format("{:.3f}", s.request_throughput));
  out += Line("Output token throughput (tok/s)", fmt::format("{:.1f}", s.output_token_throughput));
  out += Line("Total token throughput (tok/s)", fmt::format("{:.1f}", s.total_token_throughput));
  if (s.goodput) {
    out += Line("Goodput (req/s)", fmt::format("{:.3f} ({} of {} met {})", s.goodput->requests_per_second,
                                               s.goodput->requests, s.sent, SloText(slo)));
  }
  out += Line("Acceptance rate", SpeculationText(s));
  out += Line("Send lag mean / max (ms)", fmt::format("{:.2f} / {:.2f} ({} late by > {:g} ms)", s.lag_ms.mean,
                                                      s.lag_ms.max, s.late_requests, kLateThresholdS * kMs));
  out += fmt::format("{:-^66}\n", "");
  out += fmt::format("{:<6}{:>10}{:>10}{:>10}{:>10}{:>10}\n", "ms", "mean", "p50", "p90", "p99", "max");
  out += LatencyRow("TTFT", s.ttft_ms) + LatencyRow("TPOT", s.tpot_ms) + LatencyRow("ITL", s.itl_ms) +
         LatencyRow("E2E", s.e2e_ms);
  return out + fmt::format("{:=^66}\n", "");
}

std::string FormatSweepTable(const std::vector<RunResult>& runs) {
  std::string out = fmt::format("{:<24}{:>9}{:>11}{:>10}{:>10}{:>10}{:>10}{:>10}{:>8}\n", "arrivals", "req/s",
                                "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99", "goodput", "errors");
  for (const RunResult& run : runs) {
    const LoadSummary& s = run.summary;
    const std::string goodput = s.goodput ? fmt::format("{:.3f}", s.goodput->requests_per_second) : "-";
    out += fmt::format("{:<24}{:>9.3f}{:>11.1f}{:>10.2f}{:>10.2f}{:>10.2f}{:>10.2f}{:>10}{:>8}\n",
                       run.arrival.Describe(), s.request_throughput, s.output_token_throughput, s.ttft_ms.p50,
                       s.ttft_ms.p99, s.tpot_ms.p50, s.tpot_ms.p99, goodput, s.errors);
  }
  return out;
}

}  // namespace specd::bench
