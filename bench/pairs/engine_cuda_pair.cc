#include "bench/pairs/engine_cuda_pair.h"

#include <random>

#include "bench/pairs/device_memory.h"
#include "bench/pairs/engine_workload.h"
#include "bench/pairs/repository_path.h"
#include "engine/runner/cuda/cuda_runner.h"

namespace specd::bench {
namespace {

constexpr char kShape[] = "bench/shapes/llama-3.2-1b";
constexpr int32_t kBlockSize = 16;
constexpr int32_t kNumBlocks = 1024;
constexpr int32_t kMaxTokens = 2048;
constexpr int32_t kMaxSeqs = 16;
constexpr uint64_t kWeightSeed = 1;
constexpr uint32_t kPromptSeed = 11;
constexpr int kAllAtOnce = 0, kOneAtATime = 1;
constexpr int32_t kSharedPrefixTokens = 512, kOwnTokens = 16, kShortPrompt = 32;
constexpr int kDecodeRequests = 8, kPrefixRequests = 8, kSamplingRequests = 4;
constexpr int32_t kDecodeNewTokens = 64, kPrefixNewTokens = 32, kSamplingNewTokens = 64, kQuickNewTokens = 4;

// A variant: the runner's options, prefix caching, and the workload.
struct Plan {
  CudaRunnerOptions options{.block_size = kBlockSize, .num_blocks = kNumBlocks, .max_num_tokens = kMaxTokens};
  bool prefix_caching = false;
  int batch = kAllAtOnce;
  std::vector<EngineJob> jobs;
};

// `count` jobs: the shared prefix (may be empty) then `own` random tokens each.
std::vector<EngineJob> Jobs(int count, int32_t shared, int32_t own, int32_t new_tokens, int64_t vocab) {
  std::mt19937 rng(kPromptSeed);
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> prefix(static_cast<size_t>(shared));
  for (int32_t& t : prefix) t = token(rng);
  std::vector<EngineJob> jobs(static_cast<size_t>(count));
  for (EngineJob& job : jobs) {
    job.prompt = prefix;
    for (int32_t i = 0; i < own; ++i) job.prompt.push_back(token(rng));
    job.max_tokens = new_tokens;
  }
  return jobs;
}

Plan PlanFor(EngineCudaPair::Setup setup, bool optimized, bool quick, int64_t vocab) {
  Plan plan;
  switch (setup) {
    case EngineCudaPair::Setup::kDecodeGraphs:
      plan.options.cuda_graphs = optimized;
      // The engine's batches depend on when the requests reach it, and without batch invariance a
      // token's logits on its batch companions: greedy tokens differed at token 41 of 512 (H100).
      plan.options.batch_invariant = true;
      plan.jobs = Jobs(kDecodeRequests, 0, kShortPrompt, quick ? kQuickNewTokens : kDecodeNewTokens, vocab);
      break;
    case EngineCudaPair::Setup::kGraphsAndPrefixCaching:
      plan.options.cuda_graphs = optimized;
      plan.options.batch_invariant = true;
      plan.prefix_caching = optimized;
      plan.jobs = Jobs(kPrefixRequests, kSharedPrefixTokens, kOwnTokens, quick ? kQuickNewTokens : kPrefixNewTokens, vocab);
      break;
    case EngineCudaPair::Setup::kGpuSampling:
      plan.options.gpu_sampling = optimized;
      plan.batch = kOneAtATime;
      plan.jobs = Jobs(kSamplingRequests, 0, kShortPrompt, quick ? kQuickNewTokens : kSamplingNewTokens, vocab);
      break;
  }
  return plan;
}

}  // namespace

StatusOr<VariantRun> EngineCudaPair::Run(Variant variant, const RunSettings& settings) {
  SPECD_ASSIGN_OR_RETURN(const ModelConfig model, LoadModelConfig(RepositoryPath(kShape)));
  Plan plan = PlanFor(setup_, variant == Variant::kOptimized, settings.quick, model.vocab_size);
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  SPECD_ASSIGN_OR_RETURN(auto runner, CudaRunner::CreateWithRandomWeights(model, plan.options, kWeightSeed));
  EngineConfig config;
  config.max_num_batched_tokens = kMaxTokens;
  config.max_num_seqs = kMaxSeqs;
  config.kv_cache = {.num_blocks = kNumBlocks, .block_size = kBlockSize, .enable_prefix_caching = plan.prefix_caching};
  EngineCore engine(config, std::move(runner), model, false);
  engine.Start();
  EngineWorkload workload(std::move(plan.jobs), plan.batch);
  SPECD_ASSIGN_OR_RETURN(VariantRun run, workload.Time(engine, settings));
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  return run;
}

}  // namespace specd::bench
