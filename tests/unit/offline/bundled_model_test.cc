// The bundled model pair through our whole stack (sharded safetensors, the transformers 5
// config form, the trained tokenizer, the CPU runner, greedy decoding), against Hugging Face
// transformers on the same bf16 weights in fp32:
//  - token ids: greedy continuations of 16 held-out prompts and the logits behind 2 of them
//    (tests/data/bundled_target, made by tools/train/make_test_references.py);
//  - text: the sample continuations of both models in models/report.json (tools/train/evaluate.py).
#include <cmath>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/safetensors_file.h"
#include "engine/core/engine_core.h"
#include "engine/runner/cpu_runner.h"
#include "server/generate_command.h"
#include "tests/engine_fixtures.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

// Both sides compute in fp32 from the same bf16 weights: only fp32 rounding separates them.
constexpr double kMaxLogitsRelativeError = 1e-5;

std::string TargetDir() { return testing::SourceDir() + "/models/specd-code-target"; }

std::unique_ptr<CpuRunner> TargetRunner() {
  auto runner = CpuRunner::Create(TargetDir(), {.block_size = 16, .num_blocks = 8});
  REQUIRE(runner.ok());
  return std::move(runner).value();
}

double RelativeError(const float* ours, const TensorView& theirs) {
  std::vector<float> expected(static_cast<size_t>(theirs.num_elements()));
  ConvertToFloat(theirs.dtype, theirs.data, expected);
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff += std::pow(static_cast<double>(ours[i]) - expected[i], 2);
    norm += std::pow(static_cast<double>(expected[i]), 2);
  }
  return std::sqrt(diff / norm);
}

}  // namespace

TEST_CASE("bundled target: greedy token ids and logits equal transformers'", "[cpu]") {
  const std::string data = testing::TestDataDir() + "/bundled_target";
  const auto references = nlohmann::json::parse(testing::ReadFile(data + "/references.json"));
  const auto& prompts = references.at("prompts");
  REQUIRE(prompts.size() == 16);

  // All 16 continuations at once through the engine: batching must not change a greedy token.
  EngineConfig config;
  config.kv_cache = {.num_blocks = 128, .block_size = 16, .enable_prefix_caching = true};
  auto engine_runner = CpuRunner::Create(TargetDir(), {.block_size = 16, .num_blocks = 128});
  REQUIRE(engine_runner.ok());
  const ModelConfig model = (*engine_runner)->config();
  EngineCore engine(config, std::move(engine_runner).value(), model, /*check_invariants=*/true);
  engine.Start();
  std::vector<testing::Submitted> submitted;
  for (size_t i = 0; i < prompts.size(); ++i) {
    submitted.push_back(testing::SubmitOk(engine, "p" + std::to_string(i),
                                          prompts[i].at("prompt_ids").get<std::vector<int32_t>>(),
                                          testing::Greedy(48)));
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    CAPTURE(i, prompts[i].at("file"));
    REQUIRE(submitted[i].sink->WaitFinished());
    CHECK(submitted[i].sink->tokens() == prompts[i].at("output_ids").get<std::vector<int32_t>>());
  }

  // The logits behind the first two continuations.
  const auto logits = SafetensorsFile::Open(data + "/logits.safetensors");
  REQUIRE(logits.ok());
  REQUIRE(logits.value()->TensorNames().size() == 2);
  auto runner = TargetRunner();
  for (int index = 0; index < 2; ++index) {
    const auto prompt = prompts[static_cast<size_t>(index)].at("prompt_ids").get<std::vector<int32_t>>();
    const auto expected = prompts[static_cast<size_t>(index)].at("output_ids").get<std::vector<int32_t>>();
    const TensorView* expected_logits = logits.value()->Find("prompt_" + std::to_string(index));
    REQUIRE(expected_logits != nullptr);
    std::vector<int32_t> sequence = prompt;
    sequence.insert(sequence.end(), expected.begin(), expected.end() - 1);
    testing::TestSequence seq{sequence, 0, {0, 1, 2, 3, 4, 5, 6, 7}, {}};
    for (size_t i = prompt.size() - 1; i < sequence.size(); ++i) seq.logits_indices.push_back(static_cast<int32_t>(i));
    const auto output = runner->Execute(SchedulerOutput{{seq.view()}});
    REQUIRE(output.ok());
    REQUIRE(expected_logits->num_elements() == static_cast<int64_t>(output->logits.size()));
    const double error = RelativeError(output->logits.data(), *expected_logits);
    CAPTURE(index, error);
    CHECK(error < kMaxLogitsRelativeError);
  }
}

TEST_CASE("bundled models: sample continuations equal transformers' text", "[cpu]") {
  const auto report = nlohmann::json::parse(testing::ReadFile(testing::SourceDir() + "/models/report.json"));
  const int64_t sample_tokens = 96;  // evaluate.py --sample-tokens
  const auto& samples = report.at("samples");
  REQUIRE(samples.size() >= 6);
  for (const auto& [model, folder] : {std::pair{"target", "specd-code-target"}, std::pair{"draft", "specd-code-draft"}}) {
    for (const auto& sample : samples) {
      const std::string prompt = sample.at("prompt");
      CAPTURE(model, prompt);
      std::ostringstream out;
      const Status status = RunGenerateCommand(
          {"--model", testing::SourceDir() + "/models/" + folder, "--prompt", prompt,
           "--max-tokens", std::to_string(sample_tokens), "--json"}, out);
      REQUIRE(status.ok());
      CHECK(nlohmann::json::parse(out.str()).at("text") == sample.at(model));
    }
  }
}

}  // namespace specd
