// The load generator's outputs for runs that have ended: JSON (one object per run, with every
// request's record, for the plot scripts) and the tables printed to the terminal.
// Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/load/arrival_pattern.h"
#include "bench/load/load_summary.h"
#include "bench/load/request_record.h"

namespace specd::bench {

struct RunResult {
  ArrivalPattern arrival;
  std::vector<RequestRecord> records;  // in request-index order
  LoadSummary summary;
};

// {"arrival", "requests": {sent, finished, errors, errors_by_code}, "duration_s", "tokens",
//  "throughput", "latency_ms": {ttft, tpot, itl, e2e}, "goodput", "speculation", "schedule",
//  "per_request": [...]}
nlohmann::json RunJson(const RunResult& run);

// One run's table: counts, throughput, goodput, acceptance, send lag, latency percentiles.
std::string FormatRunTable(const std::string& title, const RunResult& run, const SloSpec& slo);
// One line per run (a sweep): rate or clients against throughput and latency.
std::string FormatSweepTable(const std::vector<RunResult>& runs);

}  // namespace specd::bench
