// Overlapped steps on the CPU runner (model_runner.h, synchronous_steps.h): a step launched
// before the previous one is collected, its fed sequences' tokens taken from that step's output,
// computes what the synchronous steps compute, and bad feeds are refused with a clear error.
#include <catch2/catch.hpp>

#include "engine/runner/cpu_runner.h"
#include "tests/decode_driver.h"
#include "tests/engine_fixtures.h"
#include "tests/model_fixtures.h"

namespace specd {
namespace {

using testing::DecodeDriver;
using testing::DecodeSequence;

constexpr int32_t kMaxTokens = 64;  // more than the tests decode

SamplingParams Greedy() { return testing::Greedy(kMaxTokens); }

std::unique_ptr<CpuRunner> MakeRunner() {
  static const std::string dir = testing::MakeRandomModel("overlapped_steps", testing::TinyLlamaOptions());
  auto runner = CpuRunner::Create(dir, {.block_size = 4, .num_blocks = 64});
  REQUIRE(runner.ok());
  return std::move(runner).value();
}

SamplingParams Drawn() {
  SamplingParams params;
  params.temperature = 0.9f;
  params.top_p = 0.8f;
  return params;
}

// Three sequences: greedy, a seeded draw, greedy with a longer prompt; 16 blocks each.
std::vector<DecodeSequence> Sequences() {
  std::vector<DecodeSequence> sequences;
  const std::vector<std::vector<int32_t>> prompts = {{5, 17, 200, 3}, {9, 9, 41}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}};
  for (size_t s = 0; s < prompts.size(); ++s) {
    DecodeSequence seq;
    seq.prompt = prompts[s];
    for (int32_t b = 0; b < 16; ++b) seq.block_table.push_back(static_cast<int32_t>(s) * 16 + b);
    seq.sampling = s == 1 ? Drawn() : Greedy();
    seq.seed = 1000 + s;
    sequences.push_back(seq);
  }
  return sequences;
}

// One sequence of `tokens` new tokens at position 0 of blocks {0, 1}, with a sampled last token.
struct OneSequenceBatch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> table = {0, 1};
  SamplingParams params = Greedy();
  SchedulerOutput batch;

  OneSequenceBatch(std::vector<int32_t> tokens_in, int64_t start, int32_t fed_from) : tokens(std::move(tokens_in)) {
    ScheduledSequence seq;
    seq.token_ids = tokens;
    seq.start_position = start;
    seq.block_table = table;
    seq.logits_indices = {static_cast<int32_t>(tokens.size() - 1)};
    seq.sampling = SamplingRow{.logits = {}, .params = &params, .seed = 0, .prompt_token_ids = {},
                               .output_token_ids = {}, .eos_token_ids = {}};
    seq.fed_from_sequence = fed_from;
    batch.sequences.push_back(seq);
  }
};

}  // namespace

TEST_CASE("Overlapped steps give the synchronous steps' tokens on the CPU runner", "[cpu][runner]") {
  const DecodeDriver driver(Sequences());
  const auto synchronous = driver.RunSynchronous(*MakeRunner(), 12);
  const auto overlapped = driver.RunOverlapped(*MakeRunner(), 12);
  REQUIRE(synchronous.status().ToString() == "OK");
  REQUIRE(overlapped.status().ToString() == "OK");
  REQUIRE(synchronous->size() == 3);
  CHECK((*synchronous)[0].size() == 13);
  CHECK(*overlapped == *synchronous);
}

TEST_CASE("A fed sequence is refused unless the previous step sampled one token for it", "[cpu][runner]") {
  const auto runner = MakeRunner();
  const OneSequenceBatch fed_first({0}, 3, 0);
  const Status no_previous = runner->Launch(fed_first.batch);
  CHECK(no_previous.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(no_previous.message(), Catch::Contains("the previous step had 0 sequences"));

  const OneSequenceBatch prompt({4, 5, 6}, 0, -1);
  REQUIRE(runner->Launch(prompt.batch).ok());
  const OneSequenceBatch out_of_range({0}, 3, 1);
  CHECK_THAT(runner->Launch(out_of_range.batch).message(), Catch::Contains("the previous step had 1 sequences"));
  REQUIRE(runner->Collect().ok());
  // Each refusal left nothing to feed from; a step that samples does again.
  REQUIRE(runner->Launch(prompt.batch).ok());
  const OneSequenceBatch two_tokens({0, 7}, 3, 0);
  CHECK_THAT(runner->Launch(two_tokens.batch).message(), Catch::Contains("a fed sequence brings one token"));
  REQUIRE(runner->Collect().ok());

  REQUIRE(runner->Launch(prompt.batch).ok());
  OneSequenceBatch penalized({0}, 3, 0);
  penalized.params.repetition_penalty = 1.2f;
  CHECK_THAT(runner->Launch(penalized.batch).message(), Catch::Contains("such a sequence cannot be fed"));
  REQUIRE(runner->Collect().ok());

  OneSequenceBatch logits_only({4, 5, 6}, 0, -1);
  logits_only.batch.sequences[0].sampling.reset();
  REQUIRE(runner->Launch(logits_only.batch).ok());
  const OneSequenceBatch fed({0}, 3, 0);
  CHECK_THAT(runner->Launch(fed.batch).message(), Catch::Contains("which sampled 0 tokens, not one"));
  REQUIRE(runner->Collect().ok());
}

TEST_CASE("A runner takes two steps in flight and collects them in order", "[cpu][runner]") {
  const auto runner = MakeRunner();
  CHECK(runner->Collect().status().code() == StatusCode::kFailedPrecondition);
  const OneSequenceBatch prompt({4, 5, 6}, 0, -1);
  REQUIRE(runner->Launch(prompt.batch).ok());
  const OneSequenceBatch fed({0}, 3, 0);
  REQUIRE(runner->Launch(fed.batch).ok());
  const OneSequenceBatch third({0}, 4, 0);
  const Status refused = runner->Launch(third.batch);
  CHECK(refused.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(refused.message(), Catch::Contains("2 steps in flight"));
  const auto first = runner->Collect();
  const auto second = runner->Collect();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  // The second step computed position 3 with the first step's token: the same as computing it
  // with that token known.
  const auto check = MakeRunner();
  REQUIRE(check->Execute(prompt.batch).ok());
  const OneSequenceBatch known({first->sampled[0][0].token}, 3, -1);
  const auto expected = check->Execute(known.batch);
  REQUIRE(expected.ok());
  CHECK(second->sampled[0][0].token == expected->sampled[0][0].token);
  CHECK(second->sampled[0][0].logprob == expected->sampled[0][0].logprob);
}

}  // namespace specd
