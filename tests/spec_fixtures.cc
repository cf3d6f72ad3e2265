#include "tests/spec_fixtures.h"

#include <catch2/catch.hpp>

#include "engine/runner/cpu_runner.h"
#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_proposer.h"

namespace specd::testing {

RunnerFactory CpuRunnerFactory() {
  return [](const std::string& model_dir, const EngineConfig& config) -> std::unique_ptr<ModelRunner> {
    auto runner = CpuRunner::Create(model_dir, {.block_size = config.kv_cache.block_size,
                                                .num_blocks = config.kv_cache.num_blocks});
    REQUIRE(runner.ok());
    return std::move(runner).value();
  };
}

std::unique_ptr<EngineCore> MakeSpecEngine(const std::string& target_dir, const std::string& draft_dir,
                                           const SpecConfig& spec, const EngineConfig& config,
                                           const RunnerFactory& make_runner) {
  const auto model = LoadModelConfig(target_dir);
  REQUIRE(model.ok());
  auto engine = std::make_unique<EngineCore>(config, make_runner(target_dir, config), *model, /*check_invariants=*/true);
  if (spec.method == SpecMethod::kDraftModel) {
    auto proposer = std::make_unique<DraftModelProposer>(make_runner(draft_dir, config), model->eos_token_ids);
    engine->EnableSpeculation(std::make_unique<SpecDecoder>(spec, std::move(proposer), model->max_position_embeddings));
  } else if (spec.method == SpecMethod::kNgramLookup) {
    auto proposer = std::make_unique<NgramProposer>(spec.ngram_min, spec.ngram_max);
    engine->EnableSpeculation(std::make_unique<SpecDecoder>(spec, std::move(proposer), model->max_position_embeddings));
  }
  engine->Start();
  return engine;
}

SpecConfig DraftModelSpec(int32_t k) {
  SpecConfig spec;
  spec.method = SpecMethod::kDraftModel;
  spec.chunk_size = k;
  spec.max_spec_tokens = k;
  spec.fallback_chunk_size = std::max(1, k / 2);
  spec.acceptance_target = 0.3;
  return spec;
}

SpecConfig NgramSpec(int32_t k) {
  SpecConfig spec = DraftModelSpec(k);
  spec.method = SpecMethod::kNgramLookup;
  spec.ngram_min = 1;
  spec.ngram_max = 3;
  return spec;
}

std::vector<std::shared_ptr<CollectingSink>> RunJobs(EngineCore& engine, const std::vector<SpecJob>& jobs) {
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto sink = std::make_shared<CollectingSink>();
    EngineRequest request{.request_id = "job" + std::to_string(i), .prompt_token_ids = jobs[i].prompt,
                          .sampling = jobs[i].sampling, .priority = 0, .qos_class = "", .cache_salt = "",
                          .deadline = std::nullopt, .sink = sink, .speculation = jobs[i].speculation,
                          .max_draft_tokens = jobs[i].max_draft_tokens};
    REQUIRE(engine.Submit(std::move(request)).ToString() == "OK");
    sinks.push_back(sink);
  }
  for (auto& sink : sinks) {
    REQUIRE(sink->WaitFinished());
    REQUIRE(sink->num_finishes() == 1);
  }
  return sinks;
}

}  // namespace specd::testing
