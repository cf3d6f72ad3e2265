// Planned request -> GenerateRequest (see generate_request.h).
#include "bench/load/generate_request.h"

namespace specd::bench {

v1::GenerateRequest MakeGenerateRequest(const PlannedRequest& planned, const WorkloadSpec& workload,
                                        const std::string& cache_salt) {
  v1::GenerateRequest request;
  request.set_cache_salt(cache_salt);
  request.mutable_token_ids()->mutable_ids()->Assign(planned.prompt_ids.begin(), planned.prompt_ids.end());
  v1::StoppingOptions& stopping = *request.mutable_stopping();
  stopping.set_max_tokens(static_cast<uint32_t>(planned.max_tokens));
  stopping.set_ignore_eos(workload.output.ignore_eos);
  v1::SamplingOptions& sampling = *request.mutable_sampling();
  sampling.set_seed(planned.sampling_seed);
  if (workload.sampling.temperature) sampling.set_temperature(static_cast<float>(*workload.sampling.temperature));
  if (workload.sampling.top_p) sampling.set_top_p(static_cast<float>(*workload.sampling.top_p));
  if (workload.sampling.top_k) sampling.set_top_k(static_cast<int32_t>(*workload.sampling.top_k));
  v1::SpeculationOptions& speculation = *request.mutable_speculation();
  speculation.set_enabled(workload.speculation.enabled);
  if (workload.speculation.max_draft_tokens) {
    speculation.set_max_draft_tokens(static_cast<uint32_t>(*workload.speculation.max_draft_tokens));
  }
  return request;
}

}  // namespace specd::bench
