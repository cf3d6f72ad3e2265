#include "bench/pairs/speculative_pair.h"

#include "bench/pairs/device_memory.h"
#include "bench/pairs/engine_workload.h"
#include "bench/pairs/repository_path.h"
#include "engine/base/json_fields.h"
#include "engine/runner/runner_factory.h"
#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/spec_config.h"

namespace specd::bench {
namespace {

constexpr char kTarget[] = "models/specd-code-target";
constexpr char kDraft[] = "models/specd-code-draft";
constexpr char kSpecConfig[] = "spec_configs/draft_and_verify.json";
constexpr char kPrompts[] = "tests/data/bundled_target/references.json";
constexpr int32_t kNumBlocks = 512;
constexpr int32_t kBlockSize = 16;
constexpr size_t kPromptsFull = 16, kPromptsQuick = 2;
constexpr int32_t kNewTokensFull = 48, kNewTokensQuick = 12;
constexpr int kOneAtATime = 1;

EngineConfig Config() {
  EngineConfig config;
  config.max_num_seqs = 32;
  config.kv_cache = {.num_blocks = kNumBlocks, .block_size = kBlockSize, .enable_prefix_caching = false};
  return config;
}

StatusOr<std::vector<EngineJob>> Jobs(const RunSettings& settings) {
  SPECD_ASSIGN_OR_RETURN(const auto json, ReadJsonObjectFile(RepositoryPath(kPrompts)));
  const size_t count = settings.quick ? kPromptsQuick : kPromptsFull;
  std::vector<EngineJob> jobs;
  for (const auto& prompt : json["prompts"]) {
    if (jobs.size() == count) break;
    jobs.push_back({prompt["prompt_ids"].get<std::vector<int32_t>>(), settings.quick ? kNewTokensQuick : kNewTokensFull});
  }
  return jobs;
}

}  // namespace

StatusOr<VariantRun> SpeculativePair::Run(Variant variant, const RunSettings& settings) {
  const EngineConfig config = Config();
  const auto runner_spec = [&](const std::string& model) {
    return RunnerSpec{.kind = runner_kind_, .model_dir = RepositoryPath(model), .block_size = kBlockSize,
                      .num_blocks = kNumBlocks, .max_num_tokens = config.max_num_batched_tokens,
                      .batch_invariant = true};
  };
  const std::optional<int64_t> memory_before = DeviceMemoryInUse();
  SPECD_ASSIGN_OR_RETURN(const ModelConfig model, LoadModelConfig(RepositoryPath(kTarget)));
  SPECD_ASSIGN_OR_RETURN(auto runner, MakeRunner(runner_spec(kTarget)));
  EngineCore engine(config, std::move(runner), model, false);
  if (variant == Variant::kOptimized) {
    SPECD_ASSIGN_OR_RETURN(SpecConfig spec, LoadSpecConfig(RepositoryPath(kSpecConfig)));
    SPECD_ASSIGN_OR_RETURN(auto draft_runner, MakeRunner(runner_spec(kDraft)));
    auto proposer = std::make_unique<DraftModelProposer>(std::move(draft_runner), model.eos_token_ids);
    engine.EnableSpeculation(std::make_unique<SpecDecoder>(spec, std::move(proposer), model.max_position_embeddings));
  }
  engine.Start();
  SPECD_ASSIGN_OR_RETURN(std::vector<EngineJob> jobs, Jobs(settings));
  EngineWorkload workload(std::move(jobs), kOneAtATime);
  SPECD_ASSIGN_OR_RETURN(VariantRun run, workload.Time(engine, settings));
  run.memory_bytes = DeviceMemoryGrowth(memory_before, DeviceMemoryInUse());
  return run;
}

}  // namespace specd::bench
