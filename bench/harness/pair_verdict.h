// The verdict on one pair of a `specd-bench run`:
//   pass      ran, outputs agree, speedup >= kMinSpeedupFraction x the stored speedup
//   new       ran, outputs agree, nothing stored for the pair on this machine
//   updated   ran, outputs agree, --update-expectations: its figures replace the stored ones
//   slower    speedup < kMinSpeedupFraction x the stored speedup             (fails the run)
//   mismatch  the optimized variant's outputs differ from the baseline's     (fails the run)
//   error     a variant failed                                               (fails the run)
//   skipped   could not run here (no GPU, not in this build, a missing kernel)
// Pure functions.
#pragma once

#include <string>

#include "bench/harness/expectations.h"
#include "bench/harness/pair_result.h"

namespace specd::bench {

// A run fails when a pair's speedup falls below this fraction of its stored figure.
inline constexpr double kMinSpeedupFraction = 0.75;

enum class PairStatus { kPass, kNew, kUpdated, kSlower, kMismatch, kError, kSkipped };

struct PairVerdict {
  PairStatus status = PairStatus::kPass;
  std::string detail;

  bool failed() const;
  const char* name() const;  // "pass", "new", ... as above
};

// `expected`: the stored figures for the pair, or nullptr. `updating`: --update-expectations.
PairVerdict Judge(const PairResult& result, const ExpectedFigures* expected, bool updating);

}  // namespace specd::bench
