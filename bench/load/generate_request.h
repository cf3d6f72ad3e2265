// The Generation.Generate request for a planned request of a workload: prompt ids as is,
// max_tokens and ignore_eos, the workload's sampling options (unset ones left to the server)
// with the planned seed, its per-request speculation switch, and the run's cache salt (a run
// must not find its prompts in the prefix cache because an earlier run with the same seed sent
// them). Pure; any thread.
#pragma once

#include <string>

#include "bench/load/request_planner.h"
#include "bench/load/workload_spec.h"
#include "specd/v1/generation.pb.h"

namespace specd::bench {

v1::GenerateRequest MakeGenerateRequest(const PlannedRequest& planned, const WorkloadSpec& workload,
                                        const std::string& cache_salt);

}  // namespace specd::bench
