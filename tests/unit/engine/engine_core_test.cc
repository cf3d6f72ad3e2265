// EngineCore on the CPU runner (tiny random models): batching, prefix caching and preemption
// must not change what a greedy or seeded request produces.
#include <random>

#include <catch2/catch.hpp>

#include "engine/runner/cpu_runner.h"
#include "tests/engine_fixtures.h"
#include "tests/model_fixtures.h"

namespace specd {
namespace {

using testing::Greedy;
using testing::SubmitOk;

EngineConfig SmallEngineConfig(int32_t num_blocks, int32_t block_size = 4) {
  EngineConfig config;
  config.max_num_batched_tokens = 64;
  config.max_num_seqs = 16;
  config.kv_cache = {.num_blocks = num_blocks, .block_size = block_size, .enable_prefix_caching = true};
  return config;
}

std::unique_ptr<EngineCore> MakeEngine(const std::string& model_dir, const EngineConfig& config) {
  auto runner = CpuRunner::Create(model_dir, {.block_size = config.kv_cache.block_size,
                                              .num_blocks = config.kv_cache.num_blocks});
  REQUIRE(runner.ok());
  const ModelConfig model = (*runner)->config();
  auto engine = std::make_unique<EngineCore>(config, std::move(runner).value(), model,
                                             /*check_invariants=*/true);
  engine->Start();
  return engine;
}

std::vector<int32_t> RandomPrompt(std::mt19937& rng, int length) {
  std::uniform_int_distribution<int32_t> token(2, 299);
  std::vector<int32_t> prompt(static_cast<size_t>(length));
  for (auto& t : prompt) t = token(rng);
  return prompt;
}

struct Job {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
};

// 16 mixed requests: different lengths, some sharing a long prefix, greedy and seeded sampling.
std::vector<Job> MixedJobs() {
  std::mt19937 rng(99);
  const auto shared = RandomPrompt(rng, 12);
  std::vector<Job> jobs;
  for (int i = 0; i < 16; ++i) {
    Job job;
    job.prompt = i % 3 == 0 ? shared : RandomPrompt(rng, 3 + (i * 7) % 29);
    if (i % 3 == 0) {
      const auto tail = RandomPrompt(rng, 1 + i % 5);
      job.prompt.insert(job.prompt.end(), tail.begin(), tail.end());
    }
    job.sampling = Greedy(4 + i % 9);
    if (i % 4 == 1) {
      job.sampling.temperature = 0.8f;
      job.sampling.top_p = 0.9f;
      job.sampling.seed = 1000 + i;
    }
    jobs.push_back(job);
  }
  return jobs;
}

// Runs the jobs concurrently through one engine; returns each one's tokens.
std::vector<std::vector<int32_t>> RunTogether(EngineCore& engine, const std::vector<Job>& jobs) {
  std::vector<testing::Submitted> submitted;
  for (size_t i = 0; i < jobs.size(); ++i) {
    submitted.push_back(SubmitOk(engine, "job" + std::to_string(i), jobs[i].prompt, jobs[i].sampling));
  }
  std::vector<std::vector<int32_t>> tokens;
  for (auto& s : submitted) {
    REQUIRE(s.sink->WaitFinished());
    CHECK(s.sink->num_finishes() == 1);
    tokens.push_back(s.sink->tokens());
  }
  return tokens;
}

}  // namespace

TEST_CASE("engine: a request's tokens are the same alone and inside a mixed batch", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("engine_batch", testing::TinyLlamaOptions());
  const auto jobs = MixedJobs();
  std::vector<std::vector<int32_t>> alone;
  for (const Job& job : jobs) {
    auto engine = MakeEngine(dir, SmallEngineConfig(128));
    alone.push_back(RunTogether(*engine, {job})[0]);
  }
  SECTION("cold cache") {
    auto engine = MakeEngine(dir, SmallEngineConfig(128));
    CHECK(RunTogether(*engine, jobs) == alone);
  }
  SECTION("warm cache: the second round hits the prefix cache") {
    auto engine = MakeEngine(dir, SmallEngineConfig(128));
    CHECK(RunTogether(*engine, jobs) == alone);
    CHECK(RunTogether(*engine, jobs) == alone);
    CHECK(engine->stats().prefix_hit_tokens > 0);
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    CHECK(alone[i].size() <= static_cast<size_t>(jobs[i].sampling.max_tokens));
  }
}

TEST_CASE("engine: overlapped steps do not change any request's tokens", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("engine_overlap", testing::TinyLlamaOptions());
  const auto jobs = MixedJobs();
  EngineConfig synchronous = SmallEngineConfig(128);
  synchronous.overlap_steps = false;
  auto reference = MakeEngine(dir, synchronous);
  const auto expected = RunTogether(*reference, jobs);
  EngineConfig overlapped = SmallEngineConfig(128);
  overlapped.overlap_steps = true;
  auto engine = MakeEngine(dir, overlapped);
  CHECK(RunTogether(*engine, jobs) == expected);
}

TEST_CASE("engine: preemption by recompute does not change any request's tokens", "[cpu]") {
  const std::string dir = testing::MakeRandomModel("engine_preempt", testing::TinyLlamaOptions());
  const auto jobs = MixedJobs();
  auto roomy = MakeEngine(dir, SmallEngineConfig(256));
  const auto expected = RunTogether(*roomy, jobs);
  // 14 blocks of 4 tokens: the longest request (~45 tokens) fits alone, 16 of them do not.
  auto cramped = MakeEngine(dir, SmallEngineConfig(14));
  CHECK(RunTogether(*cramped, jobs) == expected);
  CHECK(cramped->stats().num_preemptions > 0);
}

}  // namespace specd
