// EngineWorkload: greedy requests pushed through a running EngineCore, timed pass by pass: what
// the engine pairs (speculative, decode_graphs, v1_integration, eos_sync_polling) measure.
// A pass submits the jobs `batch` at a time (each group waits for its last request), every
// request greedy with ignore_eos and a fresh cache salt per pass, so the prefix cache serves
// prefixes shared within a pass and never a previous pass's prompts. One untimed pass first
// (warm-up: graph capture, cuBLASLt tuning), then settings.repeats timed ones. Outputs: every
// request's tokens, in job order, from the last pass (greedy: every pass gives the same).
// Called on the harness's thread; the engine's thread does the work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/harness/benchmark_pair.h"
#include "engine/core/engine_core.h"

namespace specd::bench {

struct EngineJob {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 0;
};

class EngineWorkload {
 public:
  // batch 0: every job at once.
  EngineWorkload(std::vector<EngineJob> jobs, int batch) : jobs_(std::move(jobs)), batch_(batch) {}

  // Errors: a request refused or ended other than by its length (the message says why).
  StatusOr<VariantRun> Time(EngineCore& engine, const RunSettings& settings);

 private:
  // One pass; every job's tokens in job order.
  StatusOr<std::vector<std::vector<int32_t>>> Pass(EngineCore& engine);
  StatusOr<std::vector<std::vector<int32_t>>> Group(EngineCore& engine, size_t first, size_t count);

  std::vector<EngineJob> jobs_;
  int batch_;
  int64_t next_id_ = 0;
  int64_t pass_ = 0;
};

}  // namespace specd::bench
