// `specd-bench list` and `specd-bench run`: the benchmark-pair harness (bench/README.md).
//
//   specd-bench list
//   specd-bench run --targets NAME[,NAME...]|all [--repeats N] [--quick] [--update-expectations]
//                   [--expectations FILE] [--out FILE]
//
// run: for each target, in order, the baseline then the optimized variant (benchmark_pair.h),
// the output check, and the verdict against FILE (default bench/expectations_<hardware_key>.json,
// relative to the current directory; hardware_key.h). Prints the table (harness_report.h);
// --out writes the JSON report; --update-expectations writes every pair that ran with matching
// outputs into FILE (other stored pairs are kept) and judges no speedup.
// Exit codes: 0 every pair passed, was new, updated or skipped; 1 a pair was slower than
// kMinSpeedupFraction of its stored speedup, its outputs differed or it failed, or a file could
// not be written; 2 a bad flag, an unknown target or a bad expectations file (named).
// Runs on the calling thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "bench/harness/benchmark_pair.h"

namespace specd::bench {

// What the commands need from the program: its pairs and the machine it runs on.
struct HarnessEnvironment {
  std::vector<PairEntry> pairs;
  std::string device;  // the CUDA device name, or the CPU model name without a GPU
  bool has_gpu = false;
  std::string commit;  // the source revision that is running (recorded with updated figures)
  std::string date;    // now, ISO 8601 UTC
};

extern const char kHarnessUsage[];

int ListPairs(const HarnessEnvironment& environment, std::ostream& out);
int RunPairs(const HarnessEnvironment& environment, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err);

}  // namespace specd::bench
