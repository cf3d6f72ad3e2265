// What "the same outputs" means for a benchmark pair, and the check of a baseline's outputs
// against the optimized variant's. Each pair states its rule (benchmark_pair.h):
//   kTokensExact      greedy engine and runner pairs: the generated token ids, identical.
//   kBitExact         kernel pairs whose variants do the same arithmetic: the output values,
//                     identical bit for bit (as floats).
//   kWithinTolerance  kernel pairs whose variants round differently (fp32 against bf16 tensor
//                     cores): each variant's values on a sample of the output come with a
//                     higher-precision reference on the same elements; the optimized variant's
//                     error, max |value - reference| / max |reference|, must be at most the
//                     stated relative_tolerance (the baseline's error is reported beside it).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace specd::bench {

struct OutputRule {
  enum class Kind { kTokensExact, kBitExact, kWithinTolerance };
  Kind kind = Kind::kTokensExact;
  double relative_tolerance = 0.0;  // kWithinTolerance only

  // "token-exact", "bit-exact", "rel. error <= 0.01 vs fp64 reference".
  std::string Describe() const;
};

struct PairOutputs {
  std::vector<int32_t> token_ids;  // kTokensExact
  std::vector<float> values;       // kBitExact, kWithinTolerance (a sample of the output)
  std::vector<double> reference;   // kWithinTolerance: the same elements, higher precision
};

struct OutputCheck {
  bool match = false;
  std::string detail;  // why not, or the errors measured
};

OutputCheck CheckOutputs(const OutputRule& rule, const PairOutputs& baseline, const PairOutputs& optimized);

}  // namespace specd::bench
