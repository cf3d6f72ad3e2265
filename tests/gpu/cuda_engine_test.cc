// The engine and speculative decoding on the CUDA runner, batch-invariant mode, with the bundled
// pair (models/specd-code-target drafted by models/specd-code-draft): greedy output must be the
// same token for token whether a request runs alone, batched with 63 others, in small prefill
// chunks with preemption, or with draft-model or n-gram speculation; as on the CPU runner
// (tests/unit/spec/spec_engine_test.cc). Also: the batch-invariant GEMM gives each row the same
// bits whatever the row count; and sampling on the GPU gives the host sampler's tokens.
#include <random>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/base/json_fields.h"
#include "engine/runner/cuda/cuda_runner.h"
#include "engine/runner/cuda/lt_gemm.h"
#include "kernels/random_fill.h"
#include "tests/spec_fixtures.h"

namespace specd {
namespace {

using testing::SpecJob;

const std::string kSource = SPECD_SOURCE_DIR;
const std::string kTarget = kSource + "/models/specd-code-target";
const std::string kDraft = kSource + "/models/specd-code-draft";

EngineConfig Config(int32_t num_blocks, int32_t batched_tokens) {
  EngineConfig config;
  config.max_num_batched_tokens = batched_tokens;
  config.max_num_seqs = 64;
  config.max_queued_requests = 1024;
  config.kv_cache = {.num_blocks = num_blocks, .block_size = 16, .enable_prefix_caching = true};
  return config;
}

testing::RunnerFactory CudaFactory(bool gpu_sampling = true) {
  return [gpu_sampling](const std::string& model_dir, const EngineConfig& config) -> std::unique_ptr<ModelRunner> {
    auto runner = CudaRunner::Create(model_dir, {.block_size = config.kv_cache.block_size,
                                                 .num_blocks = config.kv_cache.num_blocks,
                                                 .max_num_tokens = config.max_num_batched_tokens,
                                                 .batch_invariant = true,
                                                 .gpu_sampling = gpu_sampling});
    REQUIRE(runner.status().ToString() == "OK");
    return std::move(runner).value();
  };
}

// 64 jobs from the 16 held-out code prompts: whole, cut short, and sharing a prefix.
std::vector<SpecJob> CodeJobs() {
  const auto references = ReadJsonObjectFile(kSource + "/tests/data/bundled_target/references.json");
  REQUIRE(references.ok());
  std::mt19937 rng(64);
  std::vector<SpecJob> jobs;
  for (int copy = 0; copy < 4; ++copy) {
    for (const auto& reference : (*references)["prompts"]) {
      SpecJob job;
      job.prompt = reference["prompt_ids"].get<std::vector<int32_t>>();
      if (copy > 0) job.prompt.resize(std::uniform_int_distribution<size_t>(4, job.prompt.size())(rng));
      job.sampling = testing::Greedy(std::uniform_int_distribution<int32_t>(8, 40)(rng));
      job.sampling.ignore_eos = true;
      jobs.push_back(job);
    }
  }
  return jobs;
}

std::vector<std::vector<int32_t>> Run(EngineCore& engine, const std::vector<SpecJob>& jobs) {
  std::vector<std::vector<int32_t>> tokens;
  for (const auto& sink : testing::RunJobs(engine, jobs)) tokens.push_back(sink->tokens());
  return tokens;
}

}  // namespace

TEST_CASE("CUDA engine: greedy output is the same alone, batched, chunked, preempted and speculated", "[gpu]") {
  const auto jobs = CodeJobs();
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = testing::MakeSpecEngine(kTarget, "", SpecConfig(), Config(256, 512), CudaFactory());
    for (const SpecJob& job : jobs) alone.push_back(Run(*engine, {job})[0]);
  }
  struct Variant {
    std::string name;
    SpecConfig spec;
    EngineConfig config;
  };
  const std::vector<Variant> variants = {
      {"batched", SpecConfig(), Config(256, 512)},
      {"chunked prefill, small cache (preemption)", SpecConfig(), Config(24, 16)},
      {"draft model, k=4", testing::DraftModelSpec(4), Config(256, 512)},
      {"draft model, k=2, small cache, chunked", testing::DraftModelSpec(2), Config(14, 16)},
      {"n-gram, k=3", testing::NgramSpec(3), Config(256, 512)},
  };
  for (const Variant& variant : variants) {
    CAPTURE(variant.name);
    auto engine = testing::MakeSpecEngine(kTarget, kDraft, variant.spec, variant.config, CudaFactory());
    const auto tokens = Run(*engine, jobs);
    for (size_t i = 0; i < jobs.size(); ++i) {
      CAPTURE(i);
      CHECK(tokens[i] == alone[i]);
    }
    const EngineStats stats = engine->stats();
    if (variant.spec.method != SpecMethod::kNone) CHECK(stats.spec_drafted_tokens > 0);
    if (variant.config.kv_cache.num_blocks < 32) CHECK(stats.num_preemptions > 0);
    CHECK(stats.kv_usage == 0.0);
  }
}

TEST_CASE("CUDA engine: sampling and draft verification on the GPU give the host's tokens", "[gpu]") {
  std::vector<SpecJob> jobs = CodeJobs();
  for (size_t i = 0; i < jobs.size(); ++i) {
    SamplingParams& s = jobs[i].sampling;
    s.temperature = 0.7f + 0.1f * static_cast<float>(i % 4);
    s.seed = 1000 + i;
    s.top_k = i % 3 == 0 ? 40 : 0;
    s.top_p = i % 2 == 0 ? 0.9f : 1.0f;
    s.min_p = i % 5 == 0 ? 0.05f : 0.0f;
    s.repetition_penalty = i % 4 == 1 ? 1.2f : 1.0f;
    s.presence_penalty = i % 4 == 2 ? 0.5f : 0.0f;
    s.frequency_penalty = i % 4 == 3 ? 0.3f : 0.0f;
    if (i % 6 == 0) s.logit_bias = {{274, 2.0f}, {366, -5.0f}};
    s.min_tokens = i % 7 == 0 ? 4 : 0;
    s.ignore_eos = i % 2 == 0;
  }
  struct Variant {
    std::string name;
    SpecConfig spec;
  };
  for (const Variant& variant : std::vector<Variant>{{"plain", SpecConfig()},
                                                     {"draft model, k=3", testing::DraftModelSpec(3)},
                                                     {"n-gram, k=3 (one-hot drafts)", testing::NgramSpec(3)}}) {
    CAPTURE(variant.name);
    // Sampled tokens depend on whether a step verified drafts (other RNG streams), so whatever
    // makes that depend on timing is kept out: the back-off above max_batch_size running
    // requests, drafts trimmed to the token budget, preemption.
    SpecConfig spec = variant.spec;
    spec.max_batch_size = 1024;
    const auto run = [&](bool gpu_sampling) {
      auto engine = testing::MakeSpecEngine(kTarget, kDraft, spec, Config(1024, 4096), CudaFactory(gpu_sampling));
      return Run(*engine, jobs);
    };
    const auto on_gpu = run(true), on_host = run(false);
    for (size_t i = 0; i < jobs.size(); ++i) {
      CAPTURE(i);
      CHECK(on_gpu[i] == on_host[i]);
    }
  }
}

TEST_CASE("batch-invariant GEMM: a row's result does not depend on the row count", "[gpu]") {
  constexpr int64_t kMaxRows = 512;
  const int64_t in = GENERATE(384, 1536), out = GENERATE(384, 1152, 8192);
  CAPTURE(in, out);
  auto gemm = LtGemm::Create(/*batch_invariant=*/true, kMaxRows);
  REQUIRE(gemm.ok());
  DeviceBuffer<__nv_bfloat16> x, w, y;
  REQUIRE(x.Allocate(kMaxRows * in, "x").ok());
  REQUIRE(w.Allocate(out * in, "w").ok());
  REQUIRE(y.Allocate(kMaxRows * out, "y").ok());
  REQUIRE(kernels::LaunchRandomFill({x.get(), kMaxRows * in, 1, 0.0f, 1.0f}, nullptr) == cudaSuccess);
  REQUIRE(kernels::LaunchRandomFill({w.get(), out * in, 2, 0.0f, 0.05f}, nullptr) == cudaSuccess);
  std::vector<uint16_t> first_rows;  // rows 0..3 of each product
  for (const int64_t rows : {int64_t{4}, int64_t{5}, int64_t{37}, int64_t{128}, kMaxRows}) {
    CAPTURE(rows);
    REQUIRE(cudaMemset(y.get(), 0xFF, y.bytes()) == cudaSuccess);
    REQUIRE((*gemm)->Run(x.get(), w.get(), y.get(), nullptr, rows, in, out, nullptr).ok());
    std::vector<uint16_t> host(static_cast<size_t>(4 * out));
    REQUIRE(cudaMemcpy(host.data(), y.get(), host.size() * 2, cudaMemcpyDeviceToHost) == cudaSuccess);
    if (first_rows.empty()) first_rows = host;
    CHECK(host == first_rows);
  }
}

}  // namespace specd
