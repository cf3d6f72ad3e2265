// `specd-bench load`: runs a workload preset against a running server, prints a table per run
// (and one line per run for a sweep), and writes the JSON report.
//
// Exit codes (specd_bench_main.cc): 0 the runs completed (requests that failed are in the
// report, by status code); 1 the run could not be made against this server (unreachable, or
// the workload does not fit its model's context); 2 ParseLoadOptions failed (a usage, preset or
// prompt-file error; nothing was sent).
#pragma once

#include <string>
#include <vector>

#include "bench/load/workload_spec.h"
#include "engine/base/status.h"
#include "tools/cli/server_connection.h"

namespace specd::bench {

inline constexpr char kLoadUsage[] =
    "specd-bench load --workload FILE [--target HOST:PORT] [--rate R | --clients N]\n"
    "                 [--requests N | --duration-s X] [--seed N] [--speculation on|off]\n"
    "                 [--max-draft-tokens K] [--json-out FILE] [--timeout-s X] [--wait-s X]\n"
    "  --workload      a preset, e.g. configs/workloads/chat.json (see bench/README.md)\n"
    "  --target        the server, default 127.0.0.1:50051\n"
    "  --rate/--clients, --requests/--duration-s, --seed, --speculation, --max-draft-tokens\n"
    "                  override the preset (--rate and --clients replace its arrivals and sweep)\n"
    "  --json-out      write the report there (every run, every request)\n"
    "  --timeout-s     a deadline on each request; --wait-s: how long to wait for the server\n"
    "                  to answer before the run (default 60)\n";

struct LoadOptions {
  WorkloadSpec workload;  // the preset with the command line's overrides
  std::string workload_file;
  std::vector<std::string> prompt_documents;  // the text_file source's documents, else empty
  cli::ConnectionOptions connection;
  std::string json_out;
  double wait_s = 60;
};

// The flags (program and subcommand removed), the preset and its prompt file, all checked:
// INVALID_ARGUMENT (or FAILED_PRECONDITION for an unreadable file) naming the problem.
StatusOr<LoadOptions> ParseLoadOptions(const std::vector<std::string>& args);

// Connects, runs every run of the workload, prints the tables, writes the report.
Status RunLoad(const LoadOptions& options);

}  // namespace specd::bench
