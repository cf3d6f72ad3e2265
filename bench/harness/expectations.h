// Expectations: the figures a machine is expected to reach, one file per card:
// bench/expectations_<hardware_key>.json (hardware_key.h). `specd-bench run` compares each pair's
// speedup with the stored one (pair_verdict.h); --update-expectations writes this run's figures.
//
// {
//   "schema_version": 1,
//   "hardware_key": "h100_80gb_hbm3",
//   "device": "NVIDIA H100 80GB HBM3",
//   "pairs": {
//     "cudagraph_bucketing": {
//       "baseline_ms": 5.1, "optimized_ms": 2.3, "speedup": 2.2,        p50 times, baseline / optimized
//       "memory_bytes": {"baseline": 123, "optimized": 456},           null: not measured
//       "tokens_per_s": {"baseline": 196.1, "optimized": 434.8},       null: not meaningful
//       "commit": "5e0384d", "date": "2025-06-01T12:00:00Z"}          the run that wrote them
//   }
// }
// Every field is checked on load and unknown keys are refused, so a typo never passes silently.
// Value type; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"

namespace specd::bench {

// A pair of per-variant figures; either may be missing.
template <typename T>
struct VariantFigures {
  std::optional<T> baseline;
  std::optional<T> optimized;
};

struct ExpectedFigures {
  double baseline_ms = 0;
  double optimized_ms = 0;
  double speedup = 0;
  VariantFigures<int64_t> memory_bytes;
  VariantFigures<double> tokens_per_s;
  std::string commit;
  std::string date;
};

class Expectations {
 public:
  static constexpr int kSchemaVersion = 1;

  Expectations(std::string hardware_key, std::string device)
      : hardware_key_(std::move(hardware_key)), device_(std::move(device)) {}

  // The file at `path`; none there: empty expectations for this machine. INVALID_ARGUMENT naming
  // the file and field for a malformed file, another schema version, or a file written for
  // another hardware key.
  static StatusOr<Expectations> Load(const std::string& path, const std::string& hardware_key,
                                     const std::string& device);
  static StatusOr<Expectations> FromJson(const nlohmann::json& json, const std::string& source);

  // nullptr when the pair has no stored figures.
  const ExpectedFigures* Find(const std::string& pair) const;
  void Set(const std::string& pair, const ExpectedFigures& figures) { pairs_[pair] = figures; }

  nlohmann::json ToJson() const;
  // FAILED_PRECONDITION naming the file when it cannot be written.
  Status Save(const std::string& path) const;

  const std::string& hardware_key() const { return hardware_key_; }
  size_t size() const { return pairs_.size(); }

 private:
  std::string hardware_key_;
  std::string device_;
  std::map<std::string, ExpectedFigures> pairs_;
};

}  // namespace specd::bench
