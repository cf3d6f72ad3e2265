// Planning request i of a workload (see request_planner.h).
#include "bench/load/request_planner.h"

namespace specd::bench {

PlannedRequest RequestPlanner::Make(int64_t index) const {
  // Stream 0 of the seed is the arrivals'; request i draws from stream 1 + i.
  SeededRng rng = SeededRng::ForStream(seed_, 1 + static_cast<uint64_t>(index));
  PlannedRequest request;
  request.index = index;
  const int64_t prompt_length = prompt_.tokens.Sample(rng);
  request.max_tokens = output_.tokens.Sample(rng);
  request.sampling_seed = rng.Next();
  request.prompt_ids = prompts_.Make(prompt_length, rng);
  return request;
}

}  // namespace specd::bench
