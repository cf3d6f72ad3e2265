#include "bench/harness/output_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

namespace specd::bench {
namespace {

// The first index at which two sequences differ, or their common length when one is a prefix.
template <typename T>
size_t FirstDifference(const std::vector<T>& a, const std::vector<T>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return i;
  }
  return n;
}

template <typename T>
OutputCheck CheckIdentical(const std::vector<T>& baseline, const std::vector<T>& optimized, const char* what) {
  if (baseline.empty()) return {false, std::string("no ") + what + " to compare"};
  const size_t first = FirstDifference(baseline, optimized);
  std::ostringstream detail;
  if (first == baseline.size() && baseline.size() == optimized.size()) {
    detail << baseline.size() << " " << what << " identical";
    return {true, detail.str()};
  }
  if (baseline.size() != optimized.size()) {
    detail << baseline.size() << " " << what << " against " << optimized.size() << "; ";
  }
  detail << "first difference at index " << first;
  if (first < std::min(baseline.size(), optimized.size())) {
    detail << " (" << baseline[first] << " vs " << optimized[first] << ")";
  }
  return {false, detail.str()};
}

// max |values - reference| / max |reference|; infinity for a NaN or a size mismatch.
double RelativeError(const std::vector<float>& values, const std::vector<double>& reference) {
  if (values.size() != reference.size() || reference.empty()) return INFINITY;
  double max_error = 0, max_reference = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double error = std::fabs(static_cast<double>(values[i]) - reference[i]);
    if (std::isnan(error)) return INFINITY;
    max_error = std::max(max_error, error);
    max_reference = std::max(max_reference, std::fabs(reference[i]));
  }
  return max_reference > 0 ? max_error / max_reference : max_error;
}

OutputCheck CheckTolerance(double tolerance, const PairOutputs& baseline, const PairOutputs& optimized) {
  const double baseline_error = RelativeError(baseline.values, baseline.reference);
  const double optimized_error = RelativeError(optimized.values, optimized.reference);
  std::ostringstream detail;
  detail << "rel. error " << optimized_error << " (baseline " << baseline_error << "), tolerance " << tolerance;
  return {optimized_error <= tolerance, detail.str()};
}

}  // namespace

std::string OutputRule::Describe() const {
  switch (kind) {
    case Kind::kTokensExact: return "token-exact";
    case Kind::kBitExact: return "bit-exact";
    case Kind::kWithinTolerance: {
      std::ostringstream text;
      text << "rel. error <= " << relative_tolerance << " vs fp64 reference";
      return text.str();
    }
  }
  return "unknown rule";
}

OutputCheck CheckOutputs(const OutputRule& rule, const PairOutputs& baseline, const PairOutputs& optimized) {
  switch (rule.kind) {
    case OutputRule::Kind::kTokensExact: return CheckIdentical(baseline.token_ids, optimized.token_ids, "tokens");
    case OutputRule::Kind::kBitExact: return CheckIdentical(baseline.values, optimized.values, "values");
    case OutputRule::Kind::kWithinTolerance: return CheckTolerance(rule.relative_tolerance, baseline, optimized);
  }
  return {false, "unknown output rule"};
}

}  // namespace specd::bench
