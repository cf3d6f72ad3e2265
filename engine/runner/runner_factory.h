// MakeRunner: the CPU or the CUDA runner for a model folder, as the server, the benchmarks and
// the tests make them. The CUDA runner exists only in builds with SPECD_WITH_CUDA (library
// specd_runner_factory then links it); elsewhere asking for it is UNIMPLEMENTED. Any thread; the
// runner it returns belongs to whoever launches its steps (the engine thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/runner/model_runner.h"

namespace specd {

struct RunnerSpec {
  std::string kind = "cpu";  // "cpu" or "cuda"
  std::string model_dir;
  int64_t block_size = 16;
  int64_t num_blocks = 0;  // 0: as many as GPU memory allows (cuda only)
  // cuda, num_blocks 0: GPU memory to leave per block for a draft model's cache (cuda_runner.h).
  int64_t reserved_bytes_per_block = 0;
  double gpu_memory_utilization = 0.9;
  int64_t max_num_tokens = 2048;  // cuda: the engine's token budget
  bool batch_invariant = false;   // cuda: cuda_runner.h
  bool cuda_graphs = true;        // cuda: cuda_runner.h
  // cuda: token counts that get CUDA graphs of their exact size besides the default buckets
  // (a spec config's verify steps, FullDraftStepTokens).
  std::vector<int64_t> extra_graph_token_buckets = {};
};

// True when this build has the CUDA runner.
bool CudaRunnerBuilt();

// INVALID_ARGUMENT for an unknown kind or num_blocks 0 on the CPU; UNIMPLEMENTED for cuda in a
// build without it; otherwise the runner's own errors (loading, GPU memory).
StatusOr<std::unique_ptr<ModelRunner>> MakeRunner(const RunnerSpec& spec);

}  // namespace specd
