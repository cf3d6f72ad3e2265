#include "engine/runner/runner_factory.h"

#include "engine/runner/cpu_runner.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include "engine/runner/cuda/cuda_runner.h"
#endif

namespace specd {
namespace {

StatusOr<std::unique_ptr<ModelRunner>> MakeCudaRunner(const RunnerSpec& spec) {
#ifdef SPECD_WITH_CUDA_RUNNER
  CudaRunnerOptions options{
      .block_size = spec.block_size, .num_blocks = spec.num_blocks,
      .reserved_bytes_per_block = spec.reserved_bytes_per_block,
      .gpu_memory_utilization = spec.gpu_memory_utilization, .max_num_tokens = spec.max_num_tokens,
      .batch_invariant = spec.batch_invariant, .cuda_graphs = spec.cuda_graphs};
  // The runner sorts the buckets and drops repeats.
  options.graph_token_buckets.insert(options.graph_token_buckets.end(), spec.extra_graph_token_buckets.begin(),
                                     spec.extra_graph_token_buckets.end());
  SPECD_ASSIGN_OR_RETURN(auto runner, CudaRunner::Create(spec.model_dir, options));
  return std::unique_ptr<ModelRunner>(std::move(runner));
#else
  static_cast<void>(spec);
  return UnimplementedError("this build has no CUDA runner (configured with SPECD_WITH_CUDA=OFF)");
#endif
}

}  // namespace

bool CudaRunnerBuilt() {
#ifdef SPECD_WITH_CUDA_RUNNER
  return true;
#else
  return false;
#endif
}

StatusOr<std::unique_ptr<ModelRunner>> MakeRunner(const RunnerSpec& spec) {
  if (spec.kind == "cuda") return MakeCudaRunner(spec);
  if (spec.kind != "cpu") return InvalidArgumentError("runner '" + spec.kind + "' is not one of cpu, cuda");
  if (spec.num_blocks == 0) return InvalidArgumentError("kv_cache.num_blocks 0 (size from GPU memory) needs the cuda runner");
  SPECD_ASSIGN_OR_RETURN(auto runner, CpuRunner::Create(spec.model_dir, {.block_size = spec.block_size,
                                                                         .num_blocks = spec.num_blocks}));
  return std::unique_ptr<ModelRunner>(std::move(runner));
}

}  // namespace specd
