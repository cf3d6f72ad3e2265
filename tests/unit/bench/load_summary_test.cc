// A run's summary from hand-made records with known times: counts (sent = finished + errors),
// tokens, throughput = tokens / duration, TTFT / TPOT / ITL / E2E, goodput, acceptance, lag.
#include <catch2/catch.hpp>

#include "bench/load/load_report.h"
#include "bench/load/load_summary.h"

namespace specd::bench {
namespace {

// Sent at `sent`, tokens at the given (time, count) deltas, finished 0.01 s after the last.
RequestRecord Finished(int64_t index, double scheduled, double sent, std::vector<TokenArrival> arrivals) {
  RequestRecord record;
  record.index = index;
  record.scheduled_s = scheduled;
  record.sent_s = sent;
  record.arrivals = std::move(arrivals);
  record.finish_s = record.arrivals.back().time_s + 0.01;
  record.done_s = *record.finish_s;
  record.prompt_tokens = 10;
  record.cached_tokens = 2;
  record.completion_tokens = record.OutputTokens();
  return record;
}

RequestRecord Failed(int64_t index, const std::string& code, double at) {
  RequestRecord record;
  record.index = index;
  record.scheduled_s = record.sent_s = at;
  record.done_s = at + 0.5;
  record.outcome = code;
  return record;
}

std::vector<RequestRecord> Records() {
  // Request 0: TTFT 0.1, E2E 0.41, 4 tokens -> TPOT 0.31 / 3; ITL: one gap of 0.1, then a
  //            speculative step of 2 tokens after 0.2 (0.1 each).
  // Request 1: TTFT 0.3, E2E 0.31, one token (no TPOT, no ITL); sent 20 ms late.
  std::vector<RequestRecord> records = {
      Finished(0, 0.0, 0.0, {{0.1, 1}, {0.2, 1}, {0.4, 2}}),
      Finished(1, 1.0, 1.02, {{1.32, 1}}),
      Failed(2, "RESOURCE_EXHAUSTED", 1.5),
      Failed(3, "RESOURCE_EXHAUSTED", 1.6),
      Failed(4, "DEADLINE_EXCEEDED", 1.7)};
  records[0].draft_tokens = 6;
  records[0].accepted_tokens = 3;
  return records;
}

}  // namespace

TEST_CASE("summary: counts, tokens and throughput", "[cpu]") {
  const LoadSummary s = LoadSummary::Of(Records(), 2.5, {});
  CHECK(s.sent == 5);
  CHECK(s.finished == 2);
  CHECK(s.errors == 3);
  CHECK(s.sent == s.finished + s.errors);
  CHECK(s.errors_by_code == std::map<std::string, int64_t>{{"DEADLINE_EXCEEDED", 1}, {"RESOURCE_EXHAUSTED", 2}});
  CHECK(s.output_tokens == 5);
  CHECK(s.prompt_tokens == 20);
  CHECK(s.cached_prompt_tokens == 4);
  CHECK(s.usage_mismatches == 0);
  CHECK(s.request_throughput == Approx(2 / 2.5));
  CHECK(s.output_token_throughput == Approx(5 / 2.5));
  CHECK(s.total_token_throughput == Approx(25 / 2.5));
  CHECK(*s.acceptance_rate == Approx(0.5));
  CHECK_FALSE(s.goodput.has_value());
}

TEST_CASE("summary: latencies of finished requests", "[cpu]") {
  const LoadSummary s = LoadSummary::Of(Records(), 2.5, {});
  CHECK(s.ttft_ms.count == 2);
  CHECK(s.ttft_ms.mean == Approx(200));
  CHECK(s.ttft_ms.max == Approx(300));
  CHECK(s.e2e_ms.p50 == Approx(360));
  CHECK(s.tpot_ms.count == 1);
  CHECK(s.tpot_ms.mean == Approx(310.0 / 3));
  CHECK(s.itl_ms.count == 3);
  CHECK(s.itl_ms.mean == Approx(100));
  CHECK(s.lag_ms.max == Approx(20));
  CHECK(s.late_requests == 1);
}

TEST_CASE("summary: goodput counts finished requests meeting every objective", "[cpu]") {
  SloSpec ttft;
  ttft.ttft_ms = 200;
  CHECK(LoadSummary::Of(Records(), 2.0, ttft).goodput->requests == 1);
  SloSpec both = ttft;
  both.tpot_ms = 100;  // request 0's TPOT is 103 ms
  const LoadSummary s = LoadSummary::Of(Records(), 2.0, both);
  CHECK(s.goodput->requests == 0);
  SloSpec e2e;
  e2e.e2e_ms = 1000;
  const LoadSummary all = LoadSummary::Of(Records(), 2.0, e2e);
  CHECK(all.goodput->requests == 2);
  CHECK(all.goodput->requests_per_second == Approx(1.0));
}

TEST_CASE("summary: a usage count that differs from the ids received is flagged", "[cpu]") {
  std::vector<RequestRecord> records = Records();
  records[1].completion_tokens = 2;
  CHECK(LoadSummary::Of(records, 2.5, {}).usage_mismatches == 1);
}

TEST_CASE("report: the run's JSON carries the summary and every request", "[cpu]") {
  const std::vector<RequestRecord> records = Records();
  const RunResult run{ArrivalPattern::Poisson(2.0), records, LoadSummary::Of(records, 2.5, {})};
  const nlohmann::json json = RunJson(run);
  CHECK(json["requests"]["sent"] == 5);
  CHECK(json["requests"]["errors_by_code"]["RESOURCE_EXHAUSTED"] == 2);
  CHECK(json["tokens"]["output"] == 5);
  CHECK(json["latency_ms"]["tpot"]["count"] == 1);
  CHECK(json["speculation"]["acceptance_rate"] == 0.5);
  REQUIRE(json["per_request"].size() == 5);
  CHECK(json["per_request"][4]["outcome"] == "DEADLINE_EXCEEDED");
  CHECK(json["per_request"][1]["tpot_ms"].is_null());
  const std::string table = FormatRunTable("t", run, {});
  CHECK(table.find("5 / 2 / 3") != std::string::npos);
  CHECK(table.find("DEADLINE_EXCEEDED 1, RESOURCE_EXHAUSTED 2") != std::string::npos);
}

}  // namespace specd::bench
