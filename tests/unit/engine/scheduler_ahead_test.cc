// Scheduler::ScheduleAhead and Update with a step in flight: the step after a launched one, built
// before its output is known (overlapped steps), and what the two Updates do to the requests.
#include <algorithm>

#include <catch2/catch.hpp>

#include "engine/core/scheduler.h"
#include "engine/kv/freed_block.h"
#include "tests/engine_fixtures.h"

namespace specd {
namespace {

using testing::Greedy;

constexpr int64_t kMaxModelLen = 512;
constexpr int32_t kEos = 1;

EngineConfig AheadConfig(int32_t num_blocks = 16) {
  EngineConfig config;
  config.max_num_batched_tokens = 32;
  config.max_num_seqs = 8;
  config.kv_cache = {.num_blocks = num_blocks, .block_size = 4, .enable_prefix_caching = true};
  return config;
}

std::unique_ptr<Request> MakeRequest(const std::string& id, std::vector<int32_t> prompt, SamplingParams sampling) {
  static uint64_t arrivals = 0;
  auto request = std::make_unique<Request>();
  request->request_id = id;
  request->arrival_index = arrivals++;
  request->prompt_token_ids = prompt;
  request->all_token_ids = std::move(prompt);
  request->sampling = std::move(sampling);
  request->seed = 42;
  return request;
}

// What a runner returns for a plan whose sequences each sampled one token.
ModelOutput SampledOnce(const std::vector<int32_t>& tokens) {
  ModelOutput output;
  for (int32_t token : tokens) {
    SampledToken sampled;
    sampled.token = token;
    output.sampled.push_back({sampled});
  }
  return output;
}

struct AheadFixture {
  explicit AheadFixture(const EngineConfig& config = AheadConfig(), int64_t max_model_len = kMaxModelLen)
      : scheduler(config, max_model_len, {kEos}) {}

  const Request& Add(const std::string& id, std::vector<int32_t> prompt, SamplingParams sampling) {
    scheduler.AddRequest(MakeRequest(id, std::move(prompt), std::move(sampling)));
    return *scheduler.Find(id);
  }
  size_t TableSize(const std::string& id) const { return scheduler.kv_cache().BlockTable(id).size(); }

  Scheduler scheduler;
  const Clock::time_point now = Clock::now();
};

}  // namespace

TEST_CASE("scheduler: the step ahead feeds each request the token the step in flight samples", "[cpu]") {
  AheadFixture f;
  const Request& a = f.Add("a", {5, 6, 7}, Greedy(10));
  const Request& b = f.Add("b", {8, 9, 10, 11}, Greedy(10));
  StepPlan first = f.scheduler.Schedule(f.now);
  REQUIRE(first.requests.size() == 2);

  StepPlan ahead = f.scheduler.ScheduleAhead(first);
  REQUIRE(ahead.requests == std::vector<Request*>{first.requests[0], first.requests[1]});
  CHECK(ahead.num_scheduled_tokens == std::vector<int64_t>{1, 1});
  for (size_t i = 0; i < 2; ++i) {
    const ScheduledSequence& seq = ahead.batch.sequences[i];
    const Request& request = *ahead.requests[i];
    CHECK(seq.fed_from_sequence == static_cast<int32_t>(i));
    CHECK(std::vector<int32_t>(seq.token_ids.begin(), seq.token_ids.end()) == std::vector<int32_t>{0});
    CHECK(seq.start_position == request.num_tokens());
    CHECK(seq.logits_indices == std::vector<int32_t>{0});
    CHECK(seq.num_draft_tokens == 0);
    REQUIRE(seq.sampling.has_value());
    CHECK(seq.sampling->params == &request.sampling);
    CHECK(seq.sampling->seed == request.seed);
    // The pending token counts: the draw is for output position 1.
    CHECK(seq.sampling->output_token_ids.size() == 1);
    CHECK(seq.block_table.data() == f.scheduler.kv_cache().BlockTable(request.request_id).data());
  }
  // b's prompt fills its first block: its ahead position 4 needed a second one; a's position 3 did not.
  CHECK(f.TableSize("a") == 1);
  CHECK(f.TableSize("b") == 2);
  CHECK(f.scheduler.CheckInvariants().ok());

  const auto first_deltas = f.scheduler.Update(first, SampledOnce({20, 21}), f.now, &ahead);
  CHECK(first_deltas.size() == 2);
  CHECK(a.num_computed_tokens == 3);
  CHECK(a.all_token_ids == std::vector<int32_t>{5, 6, 7, 20});
  CHECK(ahead.requests[0] == &a);  // not finished: still in the step ahead

  const auto ahead_deltas = f.scheduler.Update(ahead, SampledOnce({30, 31}), f.now);
  REQUIRE(ahead_deltas.size() == 2);
  CHECK(ahead_deltas[1].tokens.size() == 1);
  CHECK(ahead_deltas[1].tokens[0].token == 31);
  CHECK(a.num_computed_tokens == 4);
  CHECK(a.output_token_ids == std::vector<int32_t>{20, 30});
  CHECK(a.all_token_ids == std::vector<int32_t>{5, 6, 7, 20, 30});
  CHECK(b.num_computed_tokens == 5);
  CHECK(b.output_token_ids == std::vector<int32_t>{21, 31});
  CHECK(f.scheduler.CheckInvariants().ok());

  // The requests carry on synchronously from there: one token each, at the end of their tokens.
  const StepPlan next = f.scheduler.Schedule(f.now);
  REQUIRE(next.requests.size() == 2);
  CHECK(next.batch.sequences[0].start_position == 4);
  CHECK(next.batch.sequences[0].token_ids[0] == 30);
  CHECK(next.num_scheduled_tokens == std::vector<int64_t>{1, 1});
}

TEST_CASE("scheduler: a step ahead of a step ahead sees the whole output history's length", "[cpu]") {
  AheadFixture f;
  const Request& a = f.Add("a", {5, 6, 7}, Greedy(10));
  StepPlan first = f.scheduler.Schedule(f.now);
  StepPlan second = f.scheduler.ScheduleAhead(first);
  f.scheduler.Update(first, SampledOnce({20}), f.now, &second);
  StepPlan third = f.scheduler.ScheduleAhead(second);
  REQUIRE(third.requests.size() == 1);
  CHECK(third.batch.sequences[0].start_position == 4);
  CHECK(third.batch.sequences[0].sampling->output_token_ids.size() == 2);
  CHECK(third.batch.sequences[0].sampling->output_token_ids[0] == 20);
  // Positions 0..4 need two blocks of 4.
  CHECK(f.TableSize("a") == 2);
  f.scheduler.Update(second, SampledOnce({30}), f.now, &third);
  f.scheduler.Update(third, SampledOnce({40}), f.now);
  CHECK(a.output_token_ids == std::vector<int32_t>{20, 30, 40});
  CHECK(a.num_computed_tokens == 5);
  CHECK(f.scheduler.CheckInvariants().ok());
}

TEST_CASE("scheduler: steps ahead free the blocks that fall out of a sliding window", "[cpu]") {
  EngineConfig config = AheadConfig();
  config.kv_cache.sliding_window = 4;  // one block of 4
  AheadFixture f(config);
  const Request& a = f.Add("a", {5, 6, 7}, Greedy(40));
  StepPlan in_flight = f.scheduler.Schedule(f.now);
  for (int32_t step = 0; step < 20; ++step) {
    StepPlan ahead = f.scheduler.ScheduleAhead(in_flight);
    REQUIRE(ahead.requests.size() == 1);
    f.scheduler.Update(in_flight, SampledOnce({100 + step}), f.now, &ahead);
    REQUIRE(f.scheduler.CheckInvariants().ok());
    in_flight = std::move(ahead);
  }
  f.scheduler.Update(in_flight, SampledOnce({200}), f.now);
  CHECK(a.num_computed_tokens == 23);  // the prompt's 3, then one a step
  // The last ScheduleAhead freed the blocks wholly before the window of the step in flight (its
  // query at position 21 sees 18-21): blocks 0-3, positions 0-15.
  const std::vector<int32_t>& table = f.scheduler.kv_cache().BlockTable("a");
  REQUIRE(table.size() >= 6);
  CHECK(std::count(table.begin(), table.end(), kFreedBlock) >= 4);
  CHECK(f.scheduler.kv_cache().num_free_blocks() >= config.kv_cache.num_blocks - 3);
}

TEST_CASE("scheduler: ScheduleAhead refuses what it cannot run before the token is known", "[cpu]") {
  AheadFixture f;
  SECTION("a request waits") {
    EngineConfig config = AheadConfig();
    config.max_num_seqs = 1;
    AheadFixture one_seq(config);
    one_seq.Add("a", {5, 6, 7}, Greedy(10));
    one_seq.Add("b", {8, 9}, Greedy(10));
    const StepPlan first = one_seq.scheduler.Schedule(one_seq.now);
    REQUIRE(one_seq.scheduler.num_waiting() == 1);
    CHECK(one_seq.scheduler.ScheduleAhead(first).empty());
  }
  SECTION("a running request is not in the step in flight") {
    f.Add("a", {5, 6, 7}, Greedy(10));
    f.Add("b", {8, 9}, Greedy(10));
    StepPlan first = f.scheduler.Schedule(f.now);
    first.Drop(first.requests[1]);
    CHECK(f.scheduler.ScheduleAhead(first).empty());
  }
  SECTION("a prompt chunk that does not reach the end of the prompt") {
    EngineConfig config = AheadConfig();
    config.max_num_batched_tokens = 4;
    AheadFixture chunked(config);
    chunked.Add("a", {5, 6, 7, 8, 9, 10}, Greedy(10));
    CHECK(chunked.scheduler.ScheduleAhead(chunked.scheduler.Schedule(chunked.now)).empty());
  }
  SECTION("sampling that reads the output history") {
    SamplingParams sampling = Greedy(10);
    SECTION("repetition penalty") { sampling.repetition_penalty = 1.2f; }
    SECTION("presence penalty") { sampling.presence_penalty = 0.5f; }
    SECTION("frequency penalty") { sampling.frequency_penalty = 0.5f; }
    SECTION("min_tokens still masking") { sampling.min_tokens = 2; }
    f.Add("plain", {5, 6, 7}, Greedy(10));
    f.Add("history", {8, 9, 10}, sampling);
    CHECK(f.scheduler.ScheduleAhead(f.scheduler.Schedule(f.now)).empty());
  }
  SECTION("drafts") {
    f.Add("a", {5, 6, 7}, Greedy(10));
    const StepPlan first = f.scheduler.Schedule(f.now);
    f.scheduler.Update(first, SampledOnce({20}), f.now);
    Request& decoding = *f.scheduler.DecodingRequests().at(0);
    decoding.draft_token_ids = {21, 22};
    REQUIRE(f.scheduler.AllocateDraftSlots(decoding, 2));
    const StepPlan verify = f.scheduler.Schedule(f.now);
    REQUIRE(verify.batch.sequences[0].num_draft_tokens == 2);
    CHECK(f.scheduler.ScheduleAhead(verify).empty());
  }
  SECTION("no room in the cache for the next position") {
    AheadFixture tight(AheadConfig(/*num_blocks=*/3));
    const Request& a = tight.Add("a", {5, 6, 7, 8}, Greedy(10));
    tight.Add("b", {9, 10, 11, 12}, Greedy(10));
    const StepPlan first = tight.scheduler.Schedule(tight.now);
    CHECK(tight.scheduler.ScheduleAhead(first).empty());
    // a got the last free block before b's allocation failed; it keeps it as a look-ahead slot.
    CHECK(tight.TableSize("a") == 2);
    CHECK(tight.TableSize("b") == 1);
    CHECK(tight.scheduler.CheckInvariants().ok());
    tight.scheduler.Update(first, SampledOnce({20, 21}), tight.now);
    CHECK(a.num_computed_tokens == 4);
    CHECK(tight.scheduler.CheckInvariants().ok());
  }
}

TEST_CASE("scheduler: ScheduleAhead leaves out requests that finish by length with the token in flight", "[cpu]") {
  SECTION("max_tokens") {
    AheadFixture f;
    f.Add("last", {5, 6, 7}, Greedy(1));
    f.Add("more", {8, 9, 10}, Greedy(3));
    StepPlan first = f.scheduler.Schedule(f.now);
    StepPlan ahead = f.scheduler.ScheduleAhead(first);
    REQUIRE(ahead.requests == std::vector<Request*>{first.requests[1]});
    CHECK(ahead.batch.sequences[0].fed_from_sequence == 1);
    const auto deltas = f.scheduler.Update(first, SampledOnce({20, 21}), f.now, &ahead);
    REQUIRE(deltas.size() == 2);
    CHECK(deltas[0].finish_reason == FinishReason::kLength);
    CHECK(f.scheduler.Find("last") == nullptr);
    // "more" has 1 of 3 tokens and samples its second ahead: its third would be its last.
    StepPlan third = f.scheduler.ScheduleAhead(ahead);
    REQUIRE(third.requests.size() == 1);
    f.scheduler.Update(ahead, SampledOnce({30}), f.now, &third);
    CHECK(f.scheduler.ScheduleAhead(third).empty());
    const auto last = f.scheduler.Update(third, SampledOnce({40}), f.now);
    REQUIRE(last.size() == 1);
    CHECK(last[0].finish_reason == FinishReason::kLength);
    CHECK(f.scheduler.empty());
    CHECK(f.scheduler.kv_cache().Usage() == 0.0);
  }
  SECTION("the context length") {
    AheadFixture f(AheadConfig(), /*max_model_len=*/8);
    f.Add("a", {5, 6, 7, 8, 9, 10, 11}, Greedy(10));
    CHECK(f.scheduler.ScheduleAhead(f.scheduler.Schedule(f.now)).empty());
  }
}

TEST_CASE("scheduler: Update drops a request that stops from the step in flight", "[cpu]") {
  AheadFixture f;
  f.Add("stops", {5, 6, 7}, Greedy(10));
  const Request& goes_on = f.Add("goes_on", {8, 9, 10}, Greedy(10));
  StepPlan first = f.scheduler.Schedule(f.now);
  StepPlan ahead = f.scheduler.ScheduleAhead(first);
  REQUIRE(ahead.requests.size() == 2);

  const auto deltas = f.scheduler.Update(first, SampledOnce({kEos, 21}), f.now, &ahead);
  REQUIRE(deltas.size() == 2);
  CHECK(deltas[0].finish_reason == FinishReason::kStop);
  CHECK(f.scheduler.Find("stops") == nullptr);
  CHECK(ahead.requests[0] == nullptr);
  CHECK(ahead.requests[1] == &goes_on);
  CHECK(ahead.batch.sequences.size() == 2);  // indices still match the runner's output
  CHECK(f.scheduler.CheckInvariants().ok());

  // The runner computed the dropped sequence anyway; its token goes nowhere.
  const auto ahead_deltas = f.scheduler.Update(ahead, SampledOnce({30, 31}), f.now);
  REQUIRE(ahead_deltas.size() == 1);
  CHECK(ahead_deltas[0].request_id == "goes_on");
  CHECK(goes_on.output_token_ids == std::vector<int32_t>{21, 31});
  CHECK(f.scheduler.CheckInvariants().ok());

  SECTION("a step in flight whose requests all finished builds nothing ahead") {
    StepPlan next = f.scheduler.Schedule(f.now);
    StepPlan after = f.scheduler.ScheduleAhead(next);
    REQUIRE(after.requests.size() == 1);
    f.scheduler.Update(next, SampledOnce({kEos}), f.now, &after);
    CHECK(after.requests[0] == nullptr);
    CHECK(f.scheduler.ScheduleAhead(after).empty());
    CHECK(f.scheduler.Update(after, SampledOnce({40}), f.now).empty());
    CHECK(f.scheduler.empty());
  }
}

}  // namespace specd
