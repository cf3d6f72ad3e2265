// EngineCore with overlapped steps (EngineConfig::overlap_steps) on the fake runner: the runner is
// fed the token of the step before, requests get exactly the tokens they get without overlap, and
// stops, aborts, deadlines, runner faults, Drain and Stop with a step in flight end requests
// cleanly (one final delta, nothing after it, no step left launched, every block back).
#include <functional>
#include <optional>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/engine_fixtures.h"

namespace specd {
namespace {

using namespace std::chrono_literals;
using testing::FakeEngine;
using testing::Greedy;
using testing::MakeFakeEngine;
using testing::SubmitOk;

EngineConfig OverlapConfig(bool overlap_steps) {
  EngineConfig config;
  config.max_num_batched_tokens = 32;
  config.max_num_seqs = 8;
  config.max_queued_requests = 16;
  config.overlap_steps = overlap_steps;
  config.kv_cache = {.num_blocks = 128, .block_size = 4, .enable_prefix_caching = true};
  return config;
}

std::vector<int32_t> Prompt(int length, int32_t first = 2) {
  std::vector<int32_t> prompt;
  for (int i = 0; i < length; ++i) prompt.push_back(2 + (first + i * 7) % 60);
  return prompt;
}

// The fake runner's greedy continuation of this prompt is 39, 25, 24, then eos.
const std::vector<int32_t> kStopsOnEosPrompt = {6, 13};

SamplingParams LongRun(int32_t max_tokens) {
  SamplingParams sampling = Greedy(max_tokens);
  sampling.ignore_eos = true;
  return sampling;
}

// A fake runner that takes a millisecond per step, so a request lives long enough to be hit.
void SlowDown(testing::FakeRunner& runner) {
  runner.fault = [](const SchedulerOutput&) {
    std::this_thread::sleep_for(1ms);
    return OkStatus();
  };
}

bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = Clock::now() + 10s;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct Job {
  std::vector<int32_t> prompt;
  SamplingParams sampling;
};

// Greedy and seeded sampling of several kinds, one stopping on eos early, one with a penalty
// (never run ahead), different lengths.
std::vector<Job> MixedJobs() {
  std::vector<Job> jobs;
  jobs.push_back({kStopsOnEosPrompt, Greedy(30)});
  jobs.push_back({Prompt(5), LongRun(12)});
  jobs.push_back({Prompt(9, 3), Greedy(1)});
  SamplingParams nucleus;
  nucleus.temperature = 0.8f;
  nucleus.top_p = 0.9f;
  nucleus.seed = 7;
  nucleus.max_tokens = 20;
  jobs.push_back({Prompt(7, 11), nucleus});
  SamplingParams top_k_biased = nucleus;
  top_k_biased.temperature = 1.2f;
  top_k_biased.top_p = 1.0f;
  top_k_biased.top_k = 8;
  top_k_biased.logit_bias = {{5, 2.0f}};
  top_k_biased.top_logprobs = 3;
  top_k_biased.seed = 11;
  top_k_biased.max_tokens = 25;
  jobs.push_back({Prompt(4, 20), top_k_biased});
  SamplingParams penalized = LongRun(15);
  penalized.repetition_penalty = 1.3f;
  jobs.push_back({Prompt(6, 30), penalized});
  jobs.push_back({Prompt(3, 40), LongRun(40)});
  jobs.push_back({Prompt(12, 50), Greedy(18)});
  return jobs;
}

struct Outcome {
  std::vector<std::pair<int32_t, float>> tokens;  // with their logprobs
  std::optional<FinishReason> finish_reason;
  int num_finishes = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome OutcomeOf(const testing::CollectingSink& sink) {
  Outcome outcome{.tokens = {}, .finish_reason = sink.finish_reason(), .num_finishes = sink.num_finishes()};
  for (const RequestDelta& delta : sink.deltas()) {
    for (const auto& token : delta.tokens) outcome.tokens.emplace_back(token.token, token.logprob);
  }
  return outcome;
}

// Half the jobs at once, the rest while the first ones decode.
std::vector<Outcome> RunMixed(EngineCore& engine) {
  const std::vector<Job> jobs = MixedJobs();
  std::vector<testing::Submitted> submitted;
  for (size_t i = 0; i < jobs.size(); ++i) {
    submitted.push_back(SubmitOk(engine, "job" + std::to_string(i), jobs[i].prompt, jobs[i].sampling));
    if (i == jobs.size() / 2) REQUIRE(Eventually([&] { return submitted[1].sink->tokens().size() >= 3; }));
  }
  std::vector<Outcome> outcomes;
  for (const auto& s : submitted) {
    REQUIRE(s.sink->WaitFinished());
    outcomes.push_back(OutcomeOf(*s.sink));
  }
  return outcomes;
}

}  // namespace

TEST_CASE("overlapped steps: requests get the same tokens and finish reasons as without overlap", "[cpu]") {
  auto off = MakeFakeEngine(OverlapConfig(false));
  const std::vector<Outcome> expected = RunMixed(*off.engine);
  CHECK(off.runner->num_fed_sequences() == 0);
  REQUIRE(expected[0].finish_reason == FinishReason::kStop);  // the eos stop is covered
  CHECK(expected[0].tokens.size() == 4);

  auto on = MakeFakeEngine(OverlapConfig(true));
  CHECK(RunMixed(*on.engine) == expected);
  CHECK(on.runner->num_fed_sequences() > 0);
  on.engine->Drain(10s);
  CHECK(on.engine->stats().kv_usage == 0.0);
  CHECK(on.runner->num_steps_in_flight() == 0);
}

TEST_CASE("overlapped steps: a steady decode is fed from the step before, every step", "[cpu]") {
  SECTION("overlap on: each token after the first is fed, and no step is wasted") {
    auto [runner, engine] = MakeFakeEngine(OverlapConfig(true));
    auto request = SubmitOk(*engine, "steady", Prompt(3), LongRun(20));
    REQUIRE(request.sink->WaitFinished());
    CHECK(request.sink->tokens().size() == 20);
    CHECK(runner->num_fed_sequences() == 19);
    CHECK(runner->num_executes() == 20);
  }
  SECTION("overlap off") {
    auto [runner, engine] = MakeFakeEngine(OverlapConfig(false));
    auto request = SubmitOk(*engine, "steady", Prompt(3), LongRun(20));
    REQUIRE(request.sink->WaitFinished());
    CHECK(runner->num_fed_sequences() == 0);
    CHECK(runner->num_executes() == 20);
  }
  SECTION("a repetition penalty reads the tokens: no step runs ahead") {
    auto [runner, engine] = MakeFakeEngine(OverlapConfig(true));
    SamplingParams penalized = LongRun(20);
    penalized.repetition_penalty = 1.1f;
    auto request = SubmitOk(*engine, "penalized", Prompt(3), penalized);
    REQUIRE(request.sink->WaitFinished());
    CHECK(request.sink->tokens().size() == 20);
    CHECK(runner->num_fed_sequences() == 0);
  }
}

TEST_CASE("overlapped steps: a request that stops while its next step is in flight gets nothing after the stop", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(OverlapConfig(true));
  auto request = SubmitOk(*engine, "stops", kStopsOnEosPrompt, Greedy(30));
  REQUIRE(request.sink->WaitFinished());
  CHECK(request.sink->tokens() == std::vector<int32_t>{39, 25, 24, 1});
  CHECK(request.sink->num_finishes() == 1);
  CHECK(request.sink->deltas().back().finish_reason == FinishReason::kStop);
  // Four steps for four tokens, and a fifth that was in flight when eos came: its token is dropped.
  CHECK(runner->num_executes() == 5);
  CHECK(Eventually([&] { return runner->num_steps_in_flight() == 0; }));
  CHECK(engine->stats().kv_usage == 0.0);
}

TEST_CASE("overlapped steps: an abort or a deadline ends a request with a step in flight", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(OverlapConfig(true), /*start=*/false);
  SlowDown(*runner);
  engine->Start();
  const FinishReason expected = GENERATE(FinishReason::kAbort, FinishReason::kDeadline);
  auto sink = std::make_shared<testing::CollectingSink>();
  std::optional<Clock::time_point> deadline;
  if (expected == FinishReason::kDeadline) deadline = Clock::now() + 20ms;
  REQUIRE(engine->Submit({.request_id = "hit", .prompt_token_ids = Prompt(3), .sampling = LongRun(400),
                          .priority = 0, .qos_class = "", .cache_salt = "", .deadline = deadline,
                          .sink = sink}).ok());
  if (expected == FinishReason::kAbort) {
    REQUIRE(Eventually([&] { return sink->tokens().size() >= 5; }));
    engine->Abort("hit");
  }
  REQUIRE(sink->WaitFinished());
  CHECK(sink->finish_reason() == expected);
  CHECK(sink->num_finishes() == 1);
  CHECK(sink->deltas().back().finish_reason == expected);
  CHECK(sink->tokens().size() < 400);
  CHECK(runner->num_fed_sequences() > 0);
  CHECK(Eventually([&] { return runner->num_steps_in_flight() == 0; }));
  CHECK(engine->stats().kv_usage == 0.0);
  auto after = SubmitOk(*engine, "after", Prompt(4, 9), LongRun(6));
  REQUIRE(after.sink->WaitFinished());
  CHECK(after.sink->tokens().size() == 6);
}

TEST_CASE("overlapped steps: a runner fault ends the failed step's requests with ERROR, others go on", "[cpu]") {
  const bool overlap = GENERATE(true, false);
  INFO("overlap_steps " << overlap);
  auto [runner, engine] = MakeFakeEngine(OverlapConfig(overlap), /*start=*/false);
  // Any step that computes position 5 fails: with overlap that is a step launched ahead.
  runner->fault = [](const SchedulerOutput& batch) {
    for (const ScheduledSequence& seq : batch.sequences) {
      if (seq.start_position == 5) return InternalError("device lost");
    }
    return OkStatus();
  };
  auto hit = SubmitOk(*engine, "hit", Prompt(3), LongRun(10));
  auto same_step = SubmitOk(*engine, "same_step", Prompt(10, 5), LongRun(10));
  engine->Start();
  for (const auto& request : {hit, same_step}) {
    REQUIRE(request.sink->WaitFinished());
    CHECK(request.sink->finish_reason() == FinishReason::kError);
    CHECK(request.sink->error_message() == "device lost");
    CHECK(request.sink->num_finishes() == 1);
  }
  // The tokens of positions 2, 3 and 4 came before the step of position 5 failed.
  CHECK(hit.sink->tokens().size() == 3);
  CHECK(same_step.sink->tokens().size() == 3);
  auto later = SubmitOk(*engine, "later", Prompt(8, 7), LongRun(6));
  REQUIRE(later.sink->WaitFinished());
  CHECK(later.sink->finish_reason() == FinishReason::kLength);
  CHECK(later.sink->tokens().size() == 6);
  CHECK(runner->num_steps_in_flight() == 0);
  CHECK(engine->stats().kv_usage == 0.0);
}

TEST_CASE("overlapped steps: Drain and Stop with a step in flight leave none launched", "[cpu]") {
  auto [runner, engine] = MakeFakeEngine(OverlapConfig(true), /*start=*/false);
  SlowDown(*runner);
  engine->Start();
  auto request = SubmitOk(*engine, "long", Prompt(3), LongRun(400));
  REQUIRE(Eventually([&] { return request.sink->tokens().size() >= 5; }));
  REQUIRE(runner->num_fed_sequences() > 0);
  SECTION("Drain times out") {
    engine->Drain(20ms);
    CHECK(Eventually([&] { return runner->num_steps_in_flight() == 0; }));
  }
  SECTION("Stop") {
    engine->Stop();
    CHECK(runner->num_steps_in_flight() == 0);
  }
  CHECK(request.sink->finish_reason() == FinishReason::kShutdown);
  CHECK(request.sink->num_finishes() == 1);
  CHECK(request.sink->deltas().back().finish_reason == FinishReason::kShutdown);
  CHECK(engine->stats().kv_usage == 0.0);
}

}  // namespace specd
