// EngineCore's contract on a fake runner: admission errors, aborts in every state, deadlines,
// runner errors, idling, QoS ordering, caps and non-preemptible classes.
#include <algorithm>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/engine_fixtures.h"

namespace specd {
namespace {

using namespace std::chrono_literals;
using testing::CollectingSink;
using testing::FakeRunner;
using testing::Greedy;
using testing::MakeFakeEngine;
using testing::SubmitOk;

EngineConfig BaseConfig() {
  EngineConfig config;
  config.max_num_batched_tokens = 32;
  config.max_num_seqs = 8;
  config.max_queued_requests = 8;
  config.kv_cache = {.num_blocks = 64, .block_size = 4, .enable_prefix_caching = true};
  return config;
}

Status Submit(EngineCore& engine, const std::string& id, std::vector<int32_t> prompt,
              SamplingParams sampling, const std::string& qos = "") {
  return engine.Submit({.request_id = id, .prompt_token_ids = std::move(prompt),
                        .sampling = std::move(sampling), .priority = 0, .qos_class = qos,
                        .cache_salt = "", .deadline = std::nullopt,
                        .sink = std::make_shared<CollectingSink>()});
}

std::vector<int32_t> Prompt(int length, int32_t first = 2) {
  std::vector<int32_t> prompt;
  for (int i = 0; i < length; ++i) prompt.push_back(2 + (first + i * 7) % 60);
  return prompt;
}

}  // namespace

TEST_CASE("engine: bad submissions are refused with a status naming the problem", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig());
  SamplingParams bad = Greedy(4);
  bad.temperature = -1.0f;
  CHECK(Submit(*engine, "a", Prompt(3), bad).code() == StatusCode::kInvalidArgument);
  CHECK(Submit(*engine, "a", {}, Greedy(4)).ToString() == "INVALID_ARGUMENT: the prompt is empty");
  CHECK(Submit(*engine, "a", {2, 64}, Greedy(4)).ToString() ==
        "INVALID_ARGUMENT: prompt token id 64 is outside the vocabulary of 64");
  CHECK(Submit(*engine, "a", Prompt(500), Greedy(20)).ToString() ==
        "INVALID_ARGUMENT: prompt (500 tokens) + max_tokens (20) exceeds the context length 512");
  CHECK(Submit(*engine, "a", Prompt(200), Greedy(100)).ToString() ==
        "INVALID_ARGUMENT: prompt (200 tokens) + max_tokens (100) needs 75 KV blocks but the "
        "whole cache has 64");
  CHECK(Submit(*engine, "a", Prompt(3), Greedy(4), "gold").ToString() ==
        "INVALID_ARGUMENT: qos_class 'gold' is not one of the server's QoS classes");
  CHECK(Submit(*engine, "", Prompt(3), Greedy(4)).ToString() == "INVALID_ARGUMENT: request_id is empty");
}

TEST_CASE("engine: a full queue refuses, a duplicate id is refused, draining refuses", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig(), /*start=*/false);
  std::vector<testing::Submitted> submitted;
  for (int i = 0; i < 8; ++i) submitted.push_back(SubmitOk(*engine, "r" + std::to_string(i), Prompt(3, i), Greedy(3)));
  CHECK(Submit(*engine, "r0", Prompt(3), Greedy(3)).ToString() ==
        "INVALID_ARGUMENT: request_id 'r0' is already in flight");
  CHECK(Submit(*engine, "r8", Prompt(3), Greedy(3)).ToString() ==
        "RESOURCE_EXHAUSTED: the waiting queue is full (8 requests)");
  engine->Start();
  engine->Drain(10s);
  for (auto& s : submitted) {
    CHECK(s.sink->num_finishes() == 1);
    CHECK(s.sink->finish_reason() != FinishReason::kAbort);
  }
  CHECK(Submit(*engine, "late", Prompt(3), Greedy(3)).ToString() == "UNAVAILABLE: the engine is draining");
  CHECK(engine->num_unfinished() == 0);
}

TEST_CASE("engine: an abort ends a request in any state and frees its blocks", "[cpu]") {
  EngineConfig config = BaseConfig();
  config.max_num_seqs = 1;            // the second request waits
  config.max_num_batched_tokens = 4;  // a long prompt is prefilled over several steps
  auto [runner, engine] = MakeFakeEngine(config, /*start=*/false);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  runner->fault = [gate](const SchedulerOutput&) { gate.wait(); return OkStatus(); };
  auto running = SubmitOk(*engine, "running", Prompt(40), Greedy(50));
  auto waiting = SubmitOk(*engine, "waiting", Prompt(5), Greedy(5));
  engine->Start();
  engine->Abort("waiting");
  engine->Abort("running");   // mid-prefill: its first 4-token chunk is in the runner
  engine->Abort("unknown");   // ignored
  release.set_value();
  REQUIRE(running.sink->WaitFinished());
  REQUIRE(waiting.sink->WaitFinished());
  CHECK(running.sink->finish_reason() == FinishReason::kAbort);
  CHECK(waiting.sink->finish_reason() == FinishReason::kAbort);
  CHECK(waiting.sink->tokens().empty());
  CHECK(running.sink->num_finishes() == 1);
  engine->Abort("running");  // after the finish: nothing happens
  auto after = SubmitOk(*engine, "after", Prompt(3), Greedy(2));
  REQUIRE(after.sink->WaitFinished());
  CHECK(after.sink->tokens().size() == 2);
  CHECK(engine->stats().kv_usage == 0.0);
  CHECK(engine->stats().num_running == 0);
}

// A fake runner that takes a millisecond per step, so a request lives long enough to be hit.
void SlowDown(FakeRunner& runner) {
  runner.fault = [](const SchedulerOutput&) {
    std::this_thread::sleep_for(1ms);
    return OkStatus();
  };
}

TEST_CASE("engine: a decoding request aborted mid-stream gets one final delta", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig(), /*start=*/false);
  SlowDown(*runner);
  engine->Start();
  SamplingParams long_run = Greedy(200);
  long_run.ignore_eos = true;
  auto request = SubmitOk(*engine, "decoding", Prompt(3), long_run);
  while (request.sink->tokens().size() < 5) std::this_thread::sleep_for(1ms);
  engine->Abort("decoding");
  REQUIRE(request.sink->WaitFinished());
  CHECK(request.sink->finish_reason() == FinishReason::kAbort);
  CHECK(request.sink->num_finishes() == 1);
  CHECK(request.sink->tokens().size() < 200);
}

TEST_CASE("engine: deadlines end requests with DEADLINE", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig(), /*start=*/false);
  SlowDown(*runner);
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  SamplingParams long_run = Greedy(200);
  long_run.ignore_eos = true;
  REQUIRE(engine->Submit({.request_id = "late", .prompt_token_ids = Prompt(3), .sampling = long_run,
                          .priority = 0, .qos_class = "", .cache_salt = "",
                          .deadline = Clock::now() + 5ms, .sink = sink}).ok());
  REQUIRE(sink->WaitFinished());
  CHECK(sink->finish_reason() == FinishReason::kDeadline);
  CHECK(sink->error_message() == "deadline exceeded");
}

TEST_CASE("engine: a runner error ends that step's requests with ERROR, others go on", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig(), /*start=*/false);
  runner->fault = [runner = runner](const SchedulerOutput&) {
    return runner->num_executes() == 3 ? InternalError("device lost") : OkStatus();
  };
  auto first = SubmitOk(*engine, "first", Prompt(3), Greedy(10));
  engine->Start();
  REQUIRE(first.sink->WaitFinished());
  CHECK(first.sink->finish_reason() == FinishReason::kError);
  CHECK(first.sink->error_message() == "device lost");
  auto second = SubmitOk(*engine, "second", Prompt(3), Greedy(3));
  REQUIRE(second.sink->WaitFinished());
  CHECK(second.sink->finish_reason() == FinishReason::kLength);
}

TEST_CASE("engine: an idle engine sleeps and wakes for new work", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig());
  auto first = SubmitOk(*engine, "first", Prompt(3), Greedy(3));
  REQUIRE(first.sink->WaitFinished());
  const int64_t steps = engine->stats().num_steps;
  std::this_thread::sleep_for(50ms);
  CHECK(engine->stats().num_steps == steps);  // no spinning while idle
  auto second = SubmitOk(*engine, "second", Prompt(3), Greedy(3));
  REQUIRE(second.sink->WaitFinished());
  CHECK(second.sink->num_finishes() == 1);
  CHECK(engine->stats().num_steps > steps);
}

TEST_CASE("engine: stop strings' counterpart, stop ids and eos end a request", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(BaseConfig());
  auto free_run = SubmitOk(*engine, "free", Prompt(3), Greedy(30));
  REQUIRE(free_run.sink->WaitFinished());
  const auto tokens = free_run.sink->tokens();
  REQUIRE(tokens.size() >= 3);
  SamplingParams stop_at_third = Greedy(30);
  stop_at_third.stop_token_ids = {tokens[2]};
  auto stopped = SubmitOk(*engine, "stopped", Prompt(3), stop_at_third);
  REQUIRE(stopped.sink->WaitFinished());
  CHECK(stopped.sink->finish_reason() == FinishReason::kStop);
  const auto stopped_tokens = stopped.sink->tokens();
  CHECK(stopped_tokens == std::vector<int32_t>(tokens.begin(), tokens.begin() + (std::find(tokens.begin(), tokens.end(), tokens[2]) - tokens.begin()) + 1));
}

TEST_CASE("engine QoS: a high-priority class overtakes a queue of low-priority requests", "[cpu]") {
  EngineConfig config = BaseConfig();
  config.max_num_seqs = 1;
  config.qos_classes = {{.name = "batch", .priority = 10}, {.name = "interactive", .priority = 0}};
  config.default_qos_class = "batch";
  auto [runner, engine] = MakeFakeEngine(config, /*start=*/false);
  std::vector<testing::Submitted> low;
  for (int i = 0; i < 6; ++i) low.push_back(SubmitOk(*engine, "low" + std::to_string(i), Prompt(3, i), Greedy(4)));
  auto high = SubmitOk(*engine, "high", Prompt(3), Greedy(4), 0, "interactive");
  engine->Start();
  engine->Drain(10s);
  const auto started = [](const testing::Submitted& s) { return *s.sink->deltas().back().timings.first_scheduled; };
  for (const auto& request : low) CHECK(started(high) < started(request));
}

TEST_CASE("engine: the priority policy runs lower priority values first, ties by arrival", "[cpu]") {
  EngineConfig config = BaseConfig();
  config.max_num_seqs = 1;
  config.policy = SchedulingPolicy::kPriority;
  auto [runner, engine] = MakeFakeEngine(config, /*start=*/false);
  const std::vector<int32_t> priorities = {3, 1, 2, 1, -1};
  std::vector<testing::Submitted> requests;
  for (size_t i = 0; i < priorities.size(); ++i) {
    requests.push_back(SubmitOk(*engine, "p" + std::to_string(i), Prompt(3, static_cast<int32_t>(i)), Greedy(3), priorities[i]));
  }
  engine->Start();
  engine->Drain(10s);
  std::vector<std::pair<Clock::time_point, std::string>> starts;
  for (const auto& r : requests) starts.emplace_back(*r.sink->deltas().back().timings.first_scheduled, r.id);
  std::sort(starts.begin(), starts.end());
  std::vector<std::string> order;
  for (const auto& start : starts) order.push_back(start.second);
  CHECK(order == std::vector<std::string>{"p4", "p1", "p3", "p2", "p0"});
}

TEST_CASE("engine QoS: a class cap holds", "[cpu]") {
  EngineConfig config = BaseConfig();
  config.qos_classes = {{.name = "batch", .priority = 0, .max_running = 2}};
  config.default_qos_class = "batch";
  auto [runner, engine] = MakeFakeEngine(config, /*start=*/false);
  std::vector<testing::Submitted> requests;
  for (int i = 0; i < 6; ++i) requests.push_back(SubmitOk(*engine, "b" + std::to_string(i), Prompt(3, i), Greedy(6)));
  engine->Start();
  engine->Drain(10s);
  for (const auto& at : requests) {  // when any request started, at most 2 were running
    const auto t = *at.sink->deltas().back().timings.first_scheduled;
    int running = 0;
    for (const auto& other : requests) {
      const auto& timings = other.sink->deltas().back().timings;
      running += *timings.first_scheduled <= t && t < *timings.finished ? 1 : 0;
    }
    CHECK(running <= 2);
  }
}

TEST_CASE("engine QoS: a non-preemptible class is never preempted", "[cpu]") {
  EngineConfig config = BaseConfig();
  config.kv_cache.num_blocks = 24;
  config.max_num_seqs = 8;
  config.qos_classes = {{.name = "gold", .priority = 0, .preemptible = false},
                        {.name = "bronze", .priority = 0, .preemptible = true}};
  config.default_qos_class = "bronze";
  config.max_queued_requests = 64;
  auto [runner, engine] = MakeFakeEngine(config, /*start=*/false);
  std::vector<testing::Submitted> gold, bronze;
  SamplingParams long_run = Greedy(24);
  long_run.ignore_eos = true;
  for (int i = 0; i < 8; ++i) {
    bronze.push_back(SubmitOk(*engine, "bronze" + std::to_string(i), Prompt(10, i), long_run));
    if (i % 2 == 0) gold.push_back(SubmitOk(*engine, "gold" + std::to_string(i), Prompt(10, 50 + i), long_run, 0, "gold"));
  }
  engine->Start();
  engine->Drain(20s);
  for (const auto& request : gold) {
    CHECK(request.sink->deltas().back().num_preemptions == 0);
    CHECK(request.sink->tokens().size() == 24);
  }
  int bronze_preemptions = 0;
  for (const auto& request : bronze) bronze_preemptions += request.sink->deltas().back().num_preemptions;
  CHECK(bronze_preemptions > 0);  // the cache was tight enough to preempt
  CHECK(engine->stats().kv_usage == 0.0);
}

}  // namespace specd
