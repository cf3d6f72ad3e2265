// LoadSummary: one run's numbers, aggregated from its RequestRecords.
//
//   sent = finished + errors          every request sent ends one way or the other
//   output_tokens                     token ids received by finished requests
//   throughput                        requests (finished), output tokens, prompt + output tokens
//                                     per second of the run's duration (start to last end)
//   ttft/tpot/itl/e2e_ms              over finished requests (see request_record.h)
//   goodput                           finished requests meeting every SLO, per second
//   acceptance_rate                   accepted / proposed draft tokens, from the servers' usage
//   lag_ms, late_requests             how far after its planned time each request went out;
//                                     late: more than kLateThresholdS (the client fell behind)
//   usage_mismatches                  finished requests whose usage.completion_tokens differs
//                                     from the ids received (a server or client bug: 0)
// Pure; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/distribution_summary.h"
#include "bench/load/request_record.h"
#include "bench/load/workload_spec.h"

namespace specd::bench {

inline constexpr double kLateThresholdS = 0.010;

struct Goodput {
  int64_t requests = 0;  // finished requests meeting every objective
  double requests_per_second = 0;
};

struct LoadSummary {
  int64_t sent = 0;
  int64_t finished = 0;
  int64_t errors = 0;
  std::map<std::string, int64_t> errors_by_code;
  double duration_s = 0;
  int64_t prompt_tokens = 0;         // of finished requests, as the server counted them
  int64_t cached_prompt_tokens = 0;  // of those, served from the prefix cache
  int64_t output_tokens = 0;
  int64_t usage_mismatches = 0;
  double request_throughput = 0;
  double output_token_throughput = 0;
  double total_token_throughput = 0;
  DistributionSummary ttft_ms, tpot_ms, itl_ms, e2e_ms;
  std::optional<Goodput> goodput;    // only with objectives
  int64_t draft_tokens = 0;
  int64_t accepted_tokens = 0;
  std::optional<double> acceptance_rate;  // none without draft tokens
  DistributionSummary lag_ms;
  int64_t late_requests = 0;

  // Precondition: duration_s > 0 when `records` is not empty.
  static LoadSummary Of(const std::vector<RequestRecord>& records, double duration_s, const SloSpec& slo);
};

// Whether a finished request met every objective that is set.
bool MeetsSlo(const RequestRecord& record, const SloSpec& slo);

}  // namespace specd::bench
