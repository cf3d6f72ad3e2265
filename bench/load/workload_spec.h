// WorkloadSpec: one load-test workload, read from a preset (configs/workloads/*.json). Every
// field is checked and unknown keys are refused, with errors naming the file and the field.
//
// {
//   "name": "chat",                     default: the file name without .json
//   "description": "...",
//   "seed": 1,                          fixes arrivals, lengths, prompts and sampling seeds
//   "requests": 200,                    or "duration_s": 60 (exactly one)
//   "arrival": {"pattern": "poisson", "rate": 4},        see arrival_pattern.h
//   "sweep": {"rates": [1, 2, 4]},      optional: one run per rate (poisson), or
//                                       {"clients": [1, 4, 16]} (concurrency)
//   "prompt": {"source": "random", "tokens": LENGTH}     random token ids (no eos), or
//             {"source": "text_file", "path": "bench/prompts/python_code.txt",
//              "separator": "%%", "tokens": LENGTH}       documents split at lines equal to
//                                                        the separator, tokenized by the server
//   "output": {"tokens": LENGTH, "ignore_eos": true},     max_tokens per request; ignore_eos
//                                                        (default true) makes it exact
//   "sampling": {"temperature": 0.7, "top_p": 0.95, "top_k": 0},   unset: the server's defaults
//   "speculation": {"enabled": true, "max_draft_tokens": 4},       per request (the server's
//                                                        spec config is chosen at its start)
//   "slo": {"ttft_ms": 500, "tpot_ms": 50, "e2e_ms": 10000}        optional goodput objectives
// }
// LENGTH is a LengthDistribution (length_distribution.h). Immutable after parsing; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/load/arrival_pattern.h"
#include "bench/load/length_distribution.h"
#include "engine/base/status.h"

namespace specd::bench {

struct PromptSpec {
  enum class Source { kRandom, kTextFile };
  Source source = Source::kRandom;
  std::string path;              // kTextFile
  std::string separator = "%%";  // kTextFile: a line equal to this ends a document
  LengthDistribution tokens = LengthDistribution::Fixed(128);
};

struct OutputSpec {
  LengthDistribution tokens = LengthDistribution::Fixed(128);
  bool ignore_eos = true;
};

struct SamplingSpec {
  std::optional<double> temperature;  // >= 0
  std::optional<double> top_p;        // (0, 1]
  std::optional<int64_t> top_k;       // >= 0
};

struct SpeculationSpec {
  bool enabled = true;
  std::optional<int64_t> max_draft_tokens;  // [1, 16]
};

// Latency objectives; a request counts toward goodput when it meets every one that is set.
struct SloSpec {
  std::optional<double> ttft_ms;
  std::optional<double> tpot_ms;
  std::optional<double> e2e_ms;
  bool empty() const { return !ttft_ms && !tpot_ms && !e2e_ms; }
};

struct WorkloadSpec {
  std::string name;
  std::string description;
  uint64_t seed = 0;
  RunLimit limit;
  ArrivalPattern arrival;
  std::vector<ArrivalPattern> sweep;  // empty: one run of `arrival`
  PromptSpec prompt;
  OutputSpec output;
  SamplingSpec sampling;
  SpeculationSpec speculation;
  SloSpec slo;

  // The arrival pattern of each run: the sweep's, or `arrival` alone.
  std::vector<ArrivalPattern> Runs() const;
  // The effective workload (defaults included, sweep expanded), for reports.
  nlohmann::json ToJson() const;
};

inline constexpr int64_t kMaxDraftTokens = 16;  // the server's limit on max_draft_tokens

// `source` names the preset in errors; `default_name` is used when "name" is absent.
StatusOr<WorkloadSpec> ParseWorkloadSpec(const nlohmann::json& json, const std::string& source,
                                         const std::string& default_name);
// Reads a preset file; FAILED_PRECONDITION if unreadable, INVALID_ARGUMENT as above.
StatusOr<WorkloadSpec> LoadWorkloadSpec(const std::string& path);

}  // namespace specd::bench
