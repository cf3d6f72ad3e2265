// A randomized run: thousands of steps of random arrivals, lengths, QoS classes and aborts over
// a tiny KV cache, on the fake runner, with the scheduler and KV invariants checked after every
// step (a violation aborts the test binary). Every accepted request must finish exactly once and
// every block must come back.
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/engine_fixtures.h"

namespace specd {
namespace {

using namespace std::chrono_literals;

EngineConfig StressConfig() {
  EngineConfig config;
  config.max_num_batched_tokens = 16;
  config.max_num_seqs = 8;
  config.max_queued_requests = 32;
  config.policy = SchedulingPolicy::kPriority;
  config.kv_cache = {.num_blocks = 24, .block_size = 4, .enable_prefix_caching = true};
  config.qos_classes = {{.name = "gold", .priority = 0, .max_running = 3, .preemptible = false},
                        {.name = "silver", .priority = 1},
                        {.name = "bronze", .priority = 2, .max_running = 4}};
  config.default_qos_class = "silver";
  return config;
}

}  // namespace

TEST_CASE("engine stress: random traffic over a tiny cache keeps every invariant", "[cpu]") {
  const EngineConfig config = StressConfig();
  auto runner = std::make_unique<testing::FakeRunner>(testing::FakeModelConfig(), KvCacheShape{24, 4});
  EngineCore engine(config, std::move(runner), testing::FakeModelConfig(), /*check_invariants=*/true);
  engine.Start();

  std::mt19937 rng(2024);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::vector<std::vector<int32_t>> shared_prefixes = {{5, 6, 7, 8, 9, 10, 11, 12}, {20, 21, 22, 23}};
  std::vector<std::shared_ptr<testing::CollectingSink>> accepted;
  int refused_full = 0;
  for (int i = 0; i < 600; ++i) {
    std::vector<int32_t> prompt;
    if (uniform(0, 2) == 0) prompt = shared_prefixes[static_cast<size_t>(uniform(0, 1))];
    for (int n = uniform(1, 30); n > 0; --n) prompt.push_back(uniform(2, 63));
    SamplingParams sampling = testing::Greedy(uniform(1, 30));
    if (uniform(0, 3) == 0) {
      sampling.temperature = 1.0f;
      sampling.seed = static_cast<uint64_t>(i);
    }
    sampling.ignore_eos = uniform(0, 1) == 0;
    auto sink = std::make_shared<testing::CollectingSink>();
    static const char* kClasses[] = {"gold", "silver", "bronze", ""};
    const Status status = engine.Submit({.request_id = "r" + std::to_string(i),
                                         .prompt_token_ids = prompt, .sampling = sampling,
                                         .priority = uniform(-2, 2), .qos_class = kClasses[uniform(0, 3)],
                                         .cache_salt = uniform(0, 5) == 0 ? "tenant" : "",
                                         .deadline = std::nullopt, .sink = sink});
    if (status.code() == StatusCode::kResourceExhausted) {
      ++refused_full;
      std::this_thread::sleep_for(200us);
      continue;
    }
    REQUIRE(status.ok());
    accepted.push_back(sink);
    if (uniform(0, 4) == 0) engine.Abort("r" + std::to_string(uniform(std::max(0, i - 20), i)));
    if (uniform(0, 9) == 0) std::this_thread::sleep_for(100us);
  }
  engine.Drain(60s);

  for (const auto& sink : accepted) CHECK(sink->num_finishes() == 1);
  const EngineStats stats = engine.stats();
  CHECK(stats.num_finished == static_cast<int64_t>(accepted.size()));
  CHECK(stats.kv_usage == 0.0);
  CHECK(stats.num_running == 0);
  CHECK(stats.num_waiting == 0);
  CHECK(stats.num_steps > 1000);
  CHECK(stats.num_preemptions > 0);
  CHECK(stats.prefix_hit_tokens > 0);
  INFO("stress: " << accepted.size() << " accepted, " << refused_full << " refused (queue full), "
       << stats.num_steps << " steps, " << stats.num_preemptions << " preemptions, "
       << stats.prefix_hit_tokens << " prefix-hit tokens");
}

}  // namespace specd
