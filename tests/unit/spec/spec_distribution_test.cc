// With speculation, sampled output must follow the target's distribution. A tiny random model
// (top_k 5 keeps each step's support small) generates 4 tokens for 4,000 seeds with a different
// random model drafting 2 tokens per step: the first token comes from the prefill, the second is
// the first one speculation decides (an accepted draft or a residual draw). The joint counts of
// the first two are compared with the target's exact distribution, p(t1) * p(t2 | t1), by a
// chi-square test at significance 0.001. As a negative control the same counts are compared with
// the draft's own distribution, which they must not match (so the test can tell the two apart);
// the rejection sampler's own tests have controls with deliberately broken samplers.
#include <cmath>
#include <map>

#include <catch2/catch.hpp>

#include "engine/runner/cpu_runner.h"
#include "tests/model_fixtures.h"
#include "tests/spec_fixtures.h"

namespace specd {
namespace {

constexpr int kSeeds = 4000;
constexpr int32_t kTopK = 5;
// Chi-square critical value at 0.001 for 24 degrees of freedom (5 x 5 cells - 1).
constexpr double kCriticalValue = 51.179;

SamplingParams Sampled(uint64_t seed) {
  SamplingParams sampling;
  sampling.temperature = 1.0f;
  sampling.top_k = kTopK;
  sampling.max_tokens = 4;
  sampling.ignore_eos = true;
  sampling.seed = seed;
  return sampling;
}

// The processed next-token distribution of `model` after `tokens`, as the sampler sees it.
std::vector<float> NextTokenProbabilities(const std::string& model, const std::vector<int32_t>& prompt,
                                          const std::vector<int32_t>& output) {
  auto runner = CpuRunner::Create(model, {.block_size = 16, .num_blocks = 4});
  REQUIRE(runner.ok());
  std::vector<int32_t> tokens = prompt;
  tokens.insert(tokens.end(), output.begin(), output.end());
  const testing::TestSequence seq{tokens, 0, {0, 1, 2, 3}, {static_cast<int32_t>(tokens.size()) - 1}};
  const auto logits = (*runner)->Execute(SchedulerOutput{{seq.view()}});
  REQUIRE(logits.ok());
  const SamplingParams sampling = Sampled(0);
  const SamplingRow row{.logits = std::span<const float>(logits->row(0), static_cast<size_t>(logits->vocab_size)),
                        .params = &sampling, .seed = 0, .prompt_token_ids = prompt,
                        .output_token_ids = output, .eos_token_ids = {}};
  return Sampler::Probabilities(row);
}

// Chi-square of the observed pairs against p(t1) p(t2 | t1) under `model`.
double ChiSquare(const std::map<std::pair<int32_t, int32_t>, int>& observed, const std::string& model,
                 const std::vector<int32_t>& prompt) {
  const auto first = NextTokenProbabilities(model, prompt, {});
  double statistic = 0.0;
  int cells = 0;
  for (int32_t t1 = 0; t1 < static_cast<int32_t>(first.size()); ++t1) {
    if (first[static_cast<size_t>(t1)] == 0.0f) continue;
    const auto second = NextTokenProbabilities(model, prompt, {t1});
    for (int32_t t2 = 0; t2 < static_cast<int32_t>(second.size()); ++t2) {
      const double expected = kSeeds * static_cast<double>(first[static_cast<size_t>(t1)]) * second[static_cast<size_t>(t2)];
      const auto it = observed.find({t1, t2});
      const double count = it == observed.end() ? 0.0 : it->second;
      if (expected == 0.0) {
        if (count > 0) return INFINITY;  // a pair the model can never produce
        continue;
      }
      statistic += (count - expected) * (count - expected) / expected;
      ++cells;
    }
  }
  CHECK(cells == kTopK * kTopK);
  return statistic;
}

}  // namespace

TEST_CASE("spec: sampled output follows the target's distribution (chi-square)", "[cpu]") {
  RandomModelOptions options = testing::TinyLlamaOptions();
  options.vocab_size = kRandomModelMinVocab;
  const std::string target = testing::MakeRandomModel("spec_dist_target", options);
  options.seed = 99;
  options.num_layers = 1;
  const std::string draft = testing::MakeRandomModel("spec_dist_draft", options);
  const std::vector<int32_t> prompt = {kRandomModelBosId, 40, 41, 42};

  EngineConfig config;
  config.max_num_seqs = 64;
  config.max_queued_requests = kSeeds;
  config.kv_cache = {.num_blocks = 256, .block_size = 4, .enable_prefix_caching = true};
  auto engine = testing::MakeSpecEngine(target, draft, testing::DraftModelSpec(2), config);
  std::vector<testing::SpecJob> jobs;
  for (int seed = 0; seed < kSeeds; ++seed) jobs.push_back({prompt, Sampled(static_cast<uint64_t>(seed))});
  std::map<std::pair<int32_t, int32_t>, int> observed;
  for (const auto& sink : testing::RunJobs(*engine, jobs)) {
    const auto tokens = sink->tokens();
    REQUIRE(tokens.size() == 4);
    ++observed[{tokens[0], tokens[1]}];
  }
  CHECK(engine->stats().spec_drafted_tokens > 0);
  CHECK(engine->stats().spec_accepted_tokens > 0);
  CHECK(engine->stats().spec_accepted_tokens < engine->stats().spec_drafted_tokens);

  const double against_target = ChiSquare(observed, target, prompt);
  const double against_draft = ChiSquare(observed, draft, prompt);
  INFO("chi-square against the target " << against_target << ", against the draft " << against_draft
       << ", critical " << kCriticalValue);
  CHECK(against_target < kCriticalValue);
  CHECK(against_draft > kCriticalValue);  // negative control
}

}  // namespace specd
