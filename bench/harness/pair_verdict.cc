#include "bench/harness/pair_verdict.h"

#include <sstream>

namespace specd::bench {

bool PairVerdict::failed() const {
  return status == PairStatus::kSlower || status == PairStatus::kMismatch || status == PairStatus::kError;
}

const char* PairVerdict::name() const {
  switch (status) {
    case PairStatus::kPass: return "pass";
    case PairStatus::kNew: return "new";
    case PairStatus::kUpdated: return "updated";
    case PairStatus::kSlower: return "slower";
    case PairStatus::kMismatch: return "mismatch";
    case PairStatus::kError: return "error";
    case PairStatus::kSkipped: return "skipped";
  }
  return "unknown";
}

PairVerdict Judge(const PairResult& result, const ExpectedFigures* expected, bool updating) {
  if (!result.skipped.empty()) return {PairStatus::kSkipped, result.skipped};
  if (!result.error.empty()) return {PairStatus::kError, result.error};
  if (!result.outputs.match) return {PairStatus::kMismatch, result.outputs.detail};
  if (updating) return {PairStatus::kUpdated, result.outputs.detail};
  if (expected == nullptr) return {PairStatus::kNew, result.outputs.detail};
  const double floor = kMinSpeedupFraction * expected->speedup;
  if (result.speedup() >= floor) return {PairStatus::kPass, result.outputs.detail};
  std::ostringstream detail;
  detail << "speedup " << result.speedup() << " is below " << kMinSpeedupFraction << " x the stored "
         << expected->speedup << " = " << floor;
  return {PairStatus::kSlower, detail.str()};
}

}  // namespace specd::bench
