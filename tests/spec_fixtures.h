// Speculative-decoding test helpers: engines with a draft-model or n-gram proposer over the CPU
// runner, and a way to run a set of requests through one.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/engine_core.h"
#include "engine/spec/spec_config.h"
#include "tests/engine_fixtures.h"

namespace specd::testing {

struct SpecJob {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  bool speculation = true;
  int32_t max_draft_tokens = 0;
};

// The runner of a model folder, with the KV cache shape of an engine config.
using RunnerFactory =
    std::function<std::unique_ptr<ModelRunner>(const std::string& model_dir, const EngineConfig& config)>;
RunnerFactory CpuRunnerFactory();

// An engine over `make_runner`'s runner on `target_dir`. With `spec` enabled, a SpecDecoder drafts
// with `draft_dir` (draft_model) or n-gram lookup. Invariants are checked every step.
std::unique_ptr<EngineCore> MakeSpecEngine(const std::string& target_dir, const std::string& draft_dir,
                                           const SpecConfig& spec, const EngineConfig& config,
                                           const RunnerFactory& make_runner = CpuRunnerFactory());

SpecConfig DraftModelSpec(int32_t k);
SpecConfig NgramSpec(int32_t k);

// Runs the jobs concurrently; returns each one's final deltas (in job order).
std::vector<std::shared_ptr<CollectingSink>> RunJobs(EngineCore& engine, const std::vector<SpecJob>& jobs);

}  // namespace specd::testing
