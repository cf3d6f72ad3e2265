// The report of a `specd-bench run`: a table on stdout (one row per pair, then each pair's
// detail) and the same as JSON for --out. Pure functions.
//
//   pair                 baseline p50/p75 ms  optimized p50/p75 ms  speedup  outputs   expected  status
//   cudagraph_bucketing     5.102 /    5.210     2.301 /    2.350    2.22x  match        2.10x  pass
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/harness/benchmark_pair.h"
#include "bench/harness/pair_result.h"
#include "bench/harness/pair_verdict.h"

namespace specd::bench {

struct ReportRow {
  PairResult result;
  PairVerdict verdict;
  std::string output_rule;                 // OutputRule::Describe; empty when the pair did not run
  std::optional<double> expected_speedup;  // stored for this machine
};

// Where and what ran: the JSON report's header.
struct RunContext {
  std::string device;
  std::string hardware_key;
  std::string commit;
  std::string date;
  RunSettings settings;
};

std::string ReportTable(const std::vector<ReportRow>& rows);
nlohmann::json ReportJson(const RunContext& context, const std::vector<ReportRow>& rows);

}  // namespace specd::bench
