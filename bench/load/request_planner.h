// RequestPlanner: what request i of a workload asks for (prompt ids, output length, sampling
// seed), a pure function of the workload's seed and i. Request i is therefore the same whatever
// the arrival pattern, the sweep point, or how many requests a duration-limited run reaches.
// Immutable; Make may be called from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/load/prompt_source.h"
#include "bench/load/workload_spec.h"

namespace specd::bench {

struct PlannedRequest {
  int64_t index = 0;
  std::vector<int32_t> prompt_ids;
  int64_t max_tokens = 0;
  uint64_t sampling_seed = 0;  // sent with every request, so sampled runs repeat too
};

class RequestPlanner {
 public:
  RequestPlanner(uint64_t seed, PromptSpec prompt, OutputSpec output, PromptSource prompts)
      : seed_(seed), prompt_(std::move(prompt)), output_(std::move(output)), prompts_(std::move(prompts)) {}

  PlannedRequest Make(int64_t index) const;

 private:
  uint64_t seed_;
  PromptSpec prompt_;
  OutputSpec output_;
  PromptSource prompts_;
};

}  // namespace specd::bench
