// LengthDistribution: how many tokens a workload's prompts (or outputs) have, drawn per request.
// Read from a workload preset field, which is either a bare positive integer (a fixed length) or
// one of:
//
//   {"distribution": "fixed",   "value": 128}
//   {"distribution": "uniform", "min": 64, "max": 256}                    integers in [min, max]
//   {"distribution": "normal",  "mean": 256, "stddev": 64, "min": 16, "max": 1024}
//                                                    rounded, then clamped to [min, max]
//
// Every length is in [1, kMaxLength]. An immutable value; any thread.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/load/seeded_rng.h"
#include "engine/base/json_fields.h"
#include "engine/base/status.h"

namespace specd::bench {

class LengthDistribution {
 public:
  static constexpr int64_t kMaxLength = 1 << 20;

  // The field `key` of `parent`. INVALID_ARGUMENT naming the field for a missing field, an
  // unknown distribution or key, a length outside [1, kMaxLength], min > max, stddev <= 0.
  static StatusOr<LengthDistribution> Parse(const JsonFields& parent, const std::string& key);
  static LengthDistribution Fixed(int64_t length);

  int64_t Sample(SeededRng& rng) const;
  int64_t min() const { return min_; }
  int64_t max() const { return max_; }
  // The object form above, for reports.
  nlohmann::json ToJson() const;

 private:
  enum class Kind { kFixed, kUniform, kNormal };

  static StatusOr<LengthDistribution> ParseObject(const JsonFields& fields);

  Kind kind_ = Kind::kFixed;
  int64_t min_ = 1;  // kFixed: min_ == max_ is the length
  int64_t max_ = 1;
  double mean_ = 0;
  double stddev_ = 0;
};

}  // namespace specd::bench
