// Speculative decoding on the bundled pair (models/specd-code-target, drafted by
// models/specd-code-draft or by n-gram lookup), on the CPU runner or the CUDA runner (both models
// on it, CUDA graphs on): tokens per second and mean accepted length without speculation and for
// k = 1..8, at batch 1 and 8; and the effect of the max_batch_size back-off at batch 16. Prompts:
// the 16 held-out code prompts of tests/data/bundled_target/references.json, greedy, 48 new
// tokens each. Prints a table and writes bench/results/spec_decode_<runner>.json.
//
// usage: specd_bench_spec_decode [--runner cpu|cuda] [--out FILE] [--new-tokens N] [--max-k K] [--passes N]
// Each configuration runs every prompt once untimed (warm-up, graph capture), then --passes times
// timed (on a GPU a pass of the bundled pair takes ~0.1 s: take several).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench/machine_name.h"
#include "engine/base/flag_parser.h"
#include "engine/base/json_fields.h"
#include "engine/base/logging.h"
#include "engine/core/engine_core.h"
#include "engine/core/output_sink.h"
#include "engine/runner/runner_factory.h"
#ifdef SPECD_WITH_CUDA_RUNNER
#include "bench/gpu_name.h"
#endif
#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_proposer.h"

namespace specd {
namespace {

const std::string kSource = SPECD_SOURCE_DIR;
const std::string kTarget = kSource + "/models/specd-code-target";
const std::string kDraft = kSource + "/models/specd-code-draft";

// Blocks until the request's final delta.
class WaitingSink : public OutputSink {
 public:
  void OnDelta(const RequestDelta& delta) override {
    std::lock_guard<std::mutex> lock(mutex_);
    tokens_ += static_cast<int64_t>(delta.tokens.size());
    done_ = delta.finish_reason.has_value();
    cv_.notify_all();
  }
  int64_t Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return done_; });
    return tokens_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int64_t tokens_ = 0;
  bool done_ = false;
};

struct Row {
  std::string method;
  int k = 0;
  int batch = 0;
  int max_batch_size = 0;
  double tokens_per_second = 0;
  double mean_accepted = 0;
  double acceptance_rate = 0;
};

constexpr int32_t kNumBlocks = 512;

std::unique_ptr<ModelRunner> MakeBenchRunner(const std::string& runner, const std::string& model_dir,
                                             const EngineConfig& config) {
  auto made = MakeRunner({.kind = runner, .model_dir = model_dir, .block_size = config.kv_cache.block_size,
                          .num_blocks = kNumBlocks, .max_num_tokens = config.max_num_batched_tokens});
  SPECD_CHECK(made.ok()) << made.status().ToString();
  return std::move(made).value();
}

std::unique_ptr<EngineCore> MakeEngine(const std::string& runner, const SpecConfig& spec) {
  EngineConfig config;
  config.max_num_seqs = 32;
  config.kv_cache = {.num_blocks = kNumBlocks, .block_size = 16, .enable_prefix_caching = false};
  auto model = LoadModelConfig(kTarget);
  SPECD_CHECK(model.ok()) << model.status().ToString();
  auto engine = std::make_unique<EngineCore>(config, MakeBenchRunner(runner, kTarget, config), *model, false);
  std::unique_ptr<Proposer> proposer;
  if (spec.method == SpecMethod::kDraftModel) {
    proposer = std::make_unique<DraftModelProposer>(MakeBenchRunner(runner, kDraft, config), model->eos_token_ids);
  } else if (spec.method == SpecMethod::kNgramLookup) {
    proposer = std::make_unique<NgramProposer>(spec.ngram_min, spec.ngram_max);
  }
  if (proposer) engine->EnableSpeculation(std::make_unique<SpecDecoder>(spec, std::move(proposer), model->max_position_embeddings));
  engine->Start();
  return engine;
}

// Runs every prompt, `batch` at a time; tokens per second over the whole run.
// Every prompt, `batch` at a time; the tokens generated.
int64_t RunPrompts(EngineCore& engine, const std::vector<std::vector<int32_t>>& prompts, int batch, int new_tokens,
                   int& next_id) {
  int64_t tokens = 0;
  for (size_t first = 0; first < prompts.size(); first += static_cast<size_t>(batch)) {
    std::vector<std::shared_ptr<WaitingSink>> sinks;
    for (size_t i = first; i < std::min(prompts.size(), first + static_cast<size_t>(batch)); ++i) {
      auto sink = std::make_shared<WaitingSink>();
      SamplingParams sampling;
      sampling.temperature = 0.0f;
      sampling.max_tokens = new_tokens;
      sampling.ignore_eos = true;
      const Status submitted = engine.Submit({.request_id = "r" + std::to_string(next_id++),
                                              .prompt_token_ids = prompts[i], .sampling = sampling,
                                              .priority = 0, .qos_class = "", .cache_salt = "",
                                              .deadline = std::nullopt, .sink = sink});
      SPECD_CHECK(submitted.ok()) << submitted.ToString();
      sinks.push_back(sink);
    }
    for (auto& sink : sinks) tokens += sink->Wait();
  }
  return tokens;
}

// Tokens per second over `passes` passes of every prompt after an untimed one that warms the
// runners up (the CUDA runner captures its graphs then).
Row Measure(const std::string& runner, const SpecConfig& spec, const std::vector<std::vector<int32_t>>& prompts,
            int batch, int new_tokens, int passes) {
  auto engine = MakeEngine(runner, spec);
  int next_id = 0;
  RunPrompts(*engine, prompts, batch, new_tokens, next_id);
  const auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int pass = 0; pass < passes; ++pass) tokens += RunPrompts(*engine, prompts, batch, new_tokens, next_id);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const EngineStats stats = engine->stats();
  Row row;
  row.tokens_per_second = static_cast<double>(tokens) / seconds;
  row.batch = batch;
  if (stats.spec_verify_steps > 0) {
    row.mean_accepted = static_cast<double>(stats.spec_accepted_tokens) / static_cast<double>(stats.spec_verify_steps);
    row.acceptance_rate = static_cast<double>(stats.spec_accepted_tokens) / static_cast<double>(stats.spec_drafted_tokens);
  }
  return row;
}

SpecConfig FixedLength(SpecMethod method, int k, int max_batch_size) {
  SpecConfig spec;
  spec.method = method;
  spec.chunk_size = spec.max_spec_tokens = spec.fallback_chunk_size = k;
  spec.acceptance_target = 0.0;  // fixed length: no adaptation
  spec.ngram_min = 1;
  spec.ngram_max = 3;
  spec.max_batch_size = max_batch_size;
  return spec;
}

std::vector<std::vector<int32_t>> Prompts() {
  auto json = ReadJsonObjectFile(kSource + "/tests/data/bundled_target/references.json");
  SPECD_CHECK(json.ok()) << json.status().ToString();
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& prompt : (*json)["prompts"]) prompts.push_back(prompt["prompt_ids"].get<std::vector<int32_t>>());
  return prompts;
}

}  // namespace
}  // namespace specd

int main(int argc, char** argv) {
  using namespace specd;
  FlagParser flags({"runner", "out", "new-tokens", "max-k", "passes"}, {});
  const Status parsed = flags.Parse(std::vector<std::string>(argv + 1, argv + argc));
  const auto new_tokens = flags.GetInt("new-tokens", 48);
  const auto max_k = flags.GetInt("max-k", 8);
  const auto passes = flags.GetInt("passes", 1);
  const std::string runner = flags.GetString("runner", "cpu");
  if (!parsed.ok() || !new_tokens.ok() || !max_k.ok() || !passes.ok() || *new_tokens < 1 || *max_k < 1 ||
      *max_k > 16 || *passes < 1 || (runner != "cpu" && runner != "cuda")) {
    std::cerr << "usage: specd_bench_spec_decode [--runner cpu|cuda] [--out FILE] [--new-tokens N] [--max-k 1..16]"
                 " [--passes N]\n";
    return 2;
  }
#ifdef SPECD_WITH_CUDA_RUNNER
  const std::string machine = runner == "cuda" ? bench::GpuName() : bench::CpuName();
#else
  const std::string machine = bench::CpuName();
#endif
  SetLogLevel("warn");
  const auto prompts = Prompts();
  std::vector<Row> rows;
  const auto run = [&](std::string method, SpecMethod m, int k, int batch, int max_batch_size) {
    Row row = Measure(runner, FixedLength(m, k, max_batch_size), prompts, batch, static_cast<int>(*new_tokens),
                      static_cast<int>(*passes));
    row.method = std::move(method);
    row.k = m == SpecMethod::kNone ? 0 : k;
    row.max_batch_size = max_batch_size;
    std::printf("%-12s k=%d batch %2d  %8.1f tok/s  mean accepted %.2f  acceptance %.2f\n", row.method.c_str(),
                row.k, row.batch, row.tokens_per_second, row.mean_accepted, row.acceptance_rate);
    std::fflush(stdout);
    rows.push_back(row);
  };
  std::printf("speculative decoding on the bundled pair, %s runner (%s)\n", runner.c_str(), machine.c_str());
  for (int batch : {1, 8}) {
    run("none", SpecMethod::kNone, 1, batch, 32);
    for (int k = 1; k <= *max_k; ++k) run("draft_model", SpecMethod::kDraftModel, k, batch, 32);
    for (int k = 1; k <= *max_k; ++k) run("n_gram", SpecMethod::kNgramLookup, k, batch, 32);
  }
  // The back-off knob at batch 16: speculation on (max_batch_size 32) against off (8).
  run("none", SpecMethod::kNone, 1, 16, 32);
  run("draft_model", SpecMethod::kDraftModel, 4, 16, 32);
  run("draft_model", SpecMethod::kDraftModel, 4, 16, 8);
  nlohmann::json results = {{"benchmark", "spec_decode"}, {"machine", machine}, {"runner", runner},
                            {"target", "models/specd-code-target"}, {"draft", "models/specd-code-draft"},
                            {"prompts", prompts.size()}, {"new_tokens", *new_tokens}, {"passes", *passes}, {"greedy", true},
                            {"rows", nlohmann::json::array()}};
  for (const Row& row : rows) {
    results["rows"].push_back({{"method", row.method}, {"k", row.k}, {"batch", row.batch},
                               {"max_batch_size", row.max_batch_size},
                               {"tokens_per_second", row.tokens_per_second},
                               {"mean_accepted_length", row.mean_accepted},
                               {"acceptance_rate", row.acceptance_rate}});
  }
  const std::string out = flags.GetString("out", "bench/results/spec_decode_" + runner + ".json");
  std::ofstream(out) << results.dump(2) << "\n";
  std::cout << "wrote " << out << "\n";
  return 0;
}
