// Speculative decoding inside the engine, on the CPU runner with tiny random models: greedy
// output must equal plain decoding token for token, whatever the proposer, the draft length,
// batching, chunked prefill, prefix caching or preemption; and every interaction of the issue.
#include <random>

#include <catch2/catch.hpp>

#include "engine/spec/draft_model_proposer.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/model_fixtures.h"
#include "tests/spec_fixtures.h"

namespace specd {
namespace {

using testing::SpecJob;

struct Models {
  std::string target;
  std::string other_draft;  // a different random model: low acceptance
};

const Models& TinyModels() {
  static const Models models = [] {
    RandomModelOptions target = testing::TinyLlamaOptions();
    target.max_position_embeddings = 128;
    RandomModelOptions draft = target;
    draft.seed = 4242;
    draft.num_layers = 1;
    return Models{testing::MakeRandomModel("spec_target", target), testing::MakeRandomModel("spec_draft", draft)};
  }();
  return models;
}

EngineConfig Config(int32_t num_blocks, int32_t batched_tokens = 64) {
  EngineConfig config;
  config.max_num_batched_tokens = batched_tokens;
  config.max_num_seqs = 16;
  config.max_queued_requests = 1024;
  config.kv_cache = {.num_blocks = num_blocks, .block_size = 4, .enable_prefix_caching = true};
  return config;
}

SamplingParams Greedy(int32_t max_tokens, bool ignore_eos) {
  SamplingParams sampling = testing::Greedy(max_tokens);
  sampling.ignore_eos = ignore_eos;
  return sampling;
}

// n-gram lookup of k tokens that drafts only while at most max_batch_size requests run.
SpecConfig NgramUpTo(int32_t k, int32_t max_batch_size) {
  SpecConfig spec = testing::NgramSpec(k);
  spec.max_batch_size = max_batch_size;
  return spec;
}

// 200 prompts: random, repetitive (n-gram hits), and sharing a long prefix (prefix-cache hits).
std::vector<SpecJob> TwoHundredJobs() {
  std::mt19937 rng(200);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<int32_t> shared;
  for (int i = 0; i < 16; ++i) shared.push_back(uniform(2, 299));
  std::vector<SpecJob> jobs;
  for (int i = 0; i < 200; ++i) {
    SpecJob job;
    if (i % 4 == 1) job.prompt = shared;
    if (i % 4 == 2) {
      const int period = uniform(2, 5);
      for (int t = 0; t < 4 * period; ++t) job.prompt.push_back(2 + (t % period) * 37 % 290);
    }
    for (int n = uniform(1, 14); n > 0; --n) job.prompt.push_back(uniform(2, 299));
    job.sampling = Greedy(uniform(4, 30), uniform(0, 1) == 0);
    jobs.push_back(job);
  }
  return jobs;
}

std::vector<std::vector<int32_t>> Tokens(const std::vector<std::shared_ptr<testing::CollectingSink>>& sinks) {
  std::vector<std::vector<int32_t>> tokens;
  for (const auto& sink : sinks) tokens.push_back(sink->tokens());
  return tokens;
}

std::vector<std::vector<int32_t>> RunPlain(const std::vector<SpecJob>& jobs, const EngineConfig& config = Config(512)) {
  auto engine = testing::MakeSpecEngine(TinyModels().target, "", SpecConfig(), config);
  return Tokens(testing::RunJobs(*engine, jobs));
}

}  // namespace

TEST_CASE("spec: greedy output equals plain decoding for 200 prompts, every proposer and k", "[cpu]") {
  const auto jobs = TwoHundredJobs();
  const auto plain = RunPlain(jobs);
  struct Variant {
    std::string name;
    SpecConfig spec;
    std::string draft;
    EngineConfig config;
  };
  const std::vector<Variant> variants = {
      {"other draft, k=3", testing::DraftModelSpec(3), TinyModels().other_draft, Config(512)},
      {"target as draft, k=5, tiny cache (preemption), chunked prefill", testing::DraftModelSpec(5),
       TinyModels().target, Config(24, 16)},
      {"other draft, k=1", testing::DraftModelSpec(1), TinyModels().other_draft, Config(512)},
      {"n-gram, k=4", testing::NgramSpec(4), "", Config(512)},
      {"n-gram, k=8, tiny cache", testing::NgramSpec(8), "", Config(24, 16)},
      {"n-gram, k=4, drafting only while at most 4 run (steps ahead above)", NgramUpTo(4, 4), "", Config(512)},
  };
  for (const Variant& variant : variants) {
    CAPTURE(variant.name);
    auto engine = testing::MakeSpecEngine(TinyModels().target, variant.draft, variant.spec, variant.config);
    const auto sinks = testing::RunJobs(*engine, jobs);
    for (size_t i = 0; i < jobs.size(); ++i) {
      CAPTURE(i);
      CHECK(sinks[i]->tokens() == plain[i]);
    }
    const EngineStats stats = engine->stats();
    CHECK(stats.spec_drafted_tokens > 0);
    CHECK(stats.kv_usage == 0.0);
    if (variant.config.kv_cache.num_blocks == 24) CHECK(stats.num_preemptions > 0);
    if (variant.draft == TinyModels().target) CHECK(stats.spec_accepted_tokens == stats.spec_drafted_tokens);
    // Steps run ahead exactly where the decoder may not draft: more running than max_batch_size.
    CHECK((stats.num_steps_ahead > 0) == (variant.spec.max_batch_size < variant.config.max_num_seqs));
  }
}

TEST_CASE("spec: a stop id or max_tokens inside an accepted run cuts the output exactly there", "[cpu]") {
  // The target drafting for itself: every draft is accepted, so runs are k+1 tokens long.
  SpecJob free_run{{5, 6, 7, 8}, Greedy(24, true)};
  const auto plain = RunPlain({free_run})[0];
  REQUIRE(plain.size() == 24);
  auto engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().target, testing::DraftModelSpec(6), Config(512));

  SpecJob stop_job = free_run;
  stop_job.sampling.stop_token_ids = {plain[9]};
  const size_t cut = static_cast<size_t>(std::find(plain.begin(), plain.end(), plain[9]) - plain.begin()) + 1;
  SpecJob length_job = free_run;
  length_job.sampling.max_tokens = 11;
  const auto sinks = testing::RunJobs(*engine, {stop_job, length_job});
  CHECK(sinks[0]->tokens() == std::vector<int32_t>(plain.begin(), plain.begin() + static_cast<int64_t>(cut)));
  CHECK(sinks[0]->finish_reason() == FinishReason::kStop);
  CHECK(sinks[1]->tokens() == std::vector<int32_t>(plain.begin(), plain.begin() + 11));
  CHECK(sinks[1]->finish_reason() == FinishReason::kLength);
  CHECK(engine->stats().spec_accepted_tokens > 0);
}

TEST_CASE("spec: min_tokens holds eos back across drafts", "[cpu]") {
  SpecJob job{{9, 10, 11}, Greedy(20, false)};
  job.sampling.logit_bias[kRandomModelEosId] = 50.0f;  // eos whenever it is allowed
  job.sampling.min_tokens = 7;
  const auto plain = RunPlain({job})[0];
  REQUIRE(plain.size() == 8);
  CHECK(plain.back() == kRandomModelEosId);
  auto engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().target, testing::DraftModelSpec(4), Config(512));
  CHECK(testing::RunJobs(*engine, {job})[0]->tokens() == plain);
}

TEST_CASE("spec: per-request speculation off or capped", "[cpu]") {
  auto engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().target, testing::DraftModelSpec(6), Config(512));
  SpecJob off{{3, 4, 5}, Greedy(20, true)};
  off.speculation = false;
  SpecJob capped{{3, 4, 5}, Greedy(20, true)};
  capped.max_draft_tokens = 2;
  SpecJob full{{3, 4, 5}, Greedy(20, true)};
  const auto sinks = testing::RunJobs(*engine, {off, capped, full});
  const auto final_delta = [](const auto& sink) { return sink->deltas().back(); };
  CHECK(final_delta(sinks[0]).num_drafted_tokens == 0);
  CHECK(final_delta(sinks[1]).num_drafted_tokens > 0);
  CHECK(final_delta(sinks[1]).accepted_per_position.size() <= 2);
  CHECK(final_delta(sinks[2]).accepted_per_position.size() == 6);
  CHECK(sinks[0]->tokens() == sinks[1]->tokens());
  CHECK(sinks[1]->tokens() == sinks[2]->tokens());
}

TEST_CASE("spec: logprobs are the target's, the same as without speculation", "[cpu]") {
  SpecJob job{{12, 13, 14, 15}, Greedy(16, true)};
  job.sampling.top_logprobs = 3;
  auto plain_engine = testing::MakeSpecEngine(TinyModels().target, "", SpecConfig(), Config(512));
  auto spec_engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().other_draft, testing::DraftModelSpec(4), Config(512));
  const auto plain = testing::RunJobs(*plain_engine, {job})[0];
  const auto spec = testing::RunJobs(*spec_engine, {job})[0];
  std::vector<TokenOutput> a, b;
  for (const auto& delta : plain->deltas()) a.insert(a.end(), delta.tokens.begin(), delta.tokens.end());
  for (const auto& delta : spec->deltas()) b.insert(b.end(), delta.tokens.begin(), delta.tokens.end());
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].token == b[i].token);
    CHECK(a[i].logprob == b[i].logprob);
    CHECK(a[i].rank == b[i].rank);
    REQUIRE(a[i].top_logprobs.size() == 3);
    for (size_t j = 0; j < 3; ++j) {
      CHECK(a[i].top_logprobs[j].token == b[i].top_logprobs[j].token);
      CHECK(a[i].top_logprobs[j].logprob == b[i].top_logprobs[j].logprob);
    }
  }
}

TEST_CASE("spec: seeded sampling repeats whatever the batch", "[cpu]") {
  SpecJob seeded{{20, 21, 22}, Greedy(24, true)};
  seeded.sampling.temperature = 0.9f;
  seeded.sampling.seed = 77;
  auto engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().other_draft, testing::DraftModelSpec(3), Config(512));
  const auto alone = testing::RunJobs(*engine, {seeded})[0]->tokens();
  auto jobs = TwoHundredJobs();
  jobs.resize(20);
  jobs.push_back(seeded);
  const auto batched = testing::RunJobs(*engine, jobs).back()->tokens();
  CHECK(batched == alone);
  CHECK(alone.size() == 24);
}

TEST_CASE("spec: an abort mid-speculation frees every block", "[cpu]") {
  auto engine = testing::MakeSpecEngine(TinyModels().target, TinyModels().target, testing::DraftModelSpec(4), Config(512));
  auto sink = std::make_shared<testing::CollectingSink>();
  REQUIRE(engine->Submit({.request_id = "long", .prompt_token_ids = {2, 3, 4}, .sampling = Greedy(120, true),
                          .priority = 0, .qos_class = "", .cache_salt = "", .deadline = std::nullopt,
                          .sink = sink}).ok());
  while (sink->tokens().size() < 6) std::this_thread::sleep_for(std::chrono::microseconds(100));
  engine->Abort("long");
  REQUIRE(sink->WaitFinished());
  CHECK((sink->finish_reason() == FinishReason::kAbort || sink->finish_reason() == FinishReason::kLength));
  engine->Drain(std::chrono::seconds(5));
  CHECK(engine->stats().kv_usage == 0.0);
}

TEST_CASE("spec: the draft length adapts to acceptance and backs off for large batches", "[cpu]") {
  SpecConfig spec = testing::DraftModelSpec(4);
  spec.max_spec_tokens = 6;
  spec.fallback_chunk_size = 2;
  spec.acceptance_target = 0.6;
  spec.max_batch_size = 8;
  SpecDecoder decoder(spec, nullptr, 1000);
  Request request;
  request.all_token_ids = request.prompt_token_ids = {1, 2, 3};
  request.sampling.max_tokens = 100;
  CHECK(decoder.DraftLength(request, 1) == 4);  // chunk_size to start
  request.last_drafted = 4;
  request.last_accepted = 4;
  CHECK(decoder.DraftLength(request, 1) == 5);  // accepted: climbs by one
  request.last_drafted = 5;
  request.last_accepted = 0;
  CHECK(decoder.DraftLength(request, 1) == 2);  // acceptance 0.5 < 0.6: the fallback
  CHECK(decoder.DraftLength(request, 9) == 0);  // more than max_batch_size running
  request.sampling.max_tokens = 4;
  request.output_token_ids = {7, 7};
  CHECK(decoder.DraftLength(request, 1) == 1);  // max_tokens leaves room for 1 draft + bonus
  request.spec_enabled = false;
  CHECK(decoder.DraftLength(request, 1) == 0);
}

TEST_CASE("spec: a draft model with another tokenizer is refused at load", "[cpu]") {
  RandomModelOptions bigger = testing::TinyLlamaOptions();
  bigger.vocab_size = 320;
  const std::string other = testing::MakeRandomModel("spec_mismatch", bigger);
  const auto target_config = LoadModelConfig(TinyModels().target);
  const auto other_config = LoadModelConfig(other);
  const auto target_tokenizer = Tokenizer::FromFile(TinyModels().target + "/tokenizer.json");
  const auto other_tokenizer = Tokenizer::FromFile(other + "/tokenizer.json");
  REQUIRE((target_config.ok() && other_config.ok() && target_tokenizer.ok() && other_tokenizer.ok()));
  const Status mismatch = CheckDraftMatchesTarget(other, *other_config, **other_tokenizer, TinyModels().target,
                                                  *target_config, **target_tokenizer);
  CHECK(mismatch.ToString() == "INVALID_ARGUMENT: draft model " + other + " and target " + TinyModels().target +
                                   " have different vocabularies (320 vs 300 tokens)");
  CHECK(CheckDraftMatchesTarget(TinyModels().other_draft, *target_config, **target_tokenizer, TinyModels().target,
                                *target_config, **target_tokenizer).ok());
}

}  // namespace specd
