// The CPU runner against Hugging Face transformers: logits that transformers computed in fp32
// for the same model files and prompts (tools/reference/, run on the GPU machine).
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/model/safetensors_file.h"
#include "engine/runner/cpu_runner.h"
#include "tests/model_fixtures.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

constexpr double kMaxRelativeError = 1e-4;

std::string ReferenceDir() { return testing::TestDataDir() + "/hf_reference"; }

std::vector<std::vector<int32_t>> ReferencePrompts() {
  const auto json = nlohmann::json::parse(testing::ReadFile(ReferenceDir() + "/prompts.json"));
  return json.at("prompts").get<std::vector<std::vector<int32_t>>>();
}

// ||ours - theirs|| / ||theirs|| over one prompt's logits.
double RelativeError(const std::vector<float>& ours, const TensorView& theirs) {
  std::vector<float> expected(static_cast<size_t>(theirs.num_elements()));
  ConvertToFloat(theirs.dtype, theirs.data, expected);
  REQUIRE(expected.size() == ours.size());
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) {
    diff += std::pow(static_cast<double>(ours[i]) - expected[i], 2);
    norm += std::pow(static_cast<double>(expected[i]), 2);
  }
  return std::sqrt(diff / norm);
}

}  // namespace

TEST_CASE("CPU runner matches Hugging Face transformers' fp32 logits", "[cpu]") {
  const std::string name = GENERATE("llama_tied", "llama_gqa_llama3", "qwen2_bias", "mistral_window");
  CAPTURE(name);
  const std::string dir = ReferenceDir() + "/" + name;
  const std::string logits_path = dir + "/logits.safetensors";
  if (!std::filesystem::exists(logits_path)) {
    FAIL("reference data missing: " << logits_path
                                    << " (make it with tools/reference/run_on_gpu.sh on the GPU machine)");
  }
  const auto reference = SafetensorsFile::Open(logits_path);
  REQUIRE(reference.ok());
  auto runner = CpuRunner::Create(dir, {.block_size = 16, .num_blocks = 8});
  REQUIRE(runner.ok());
  const auto prompts = ReferencePrompts();
  for (size_t i = 0; i < prompts.size(); ++i) {
    CAPTURE(i);
    testing::TestSequence seq{prompts[i], 0, {0, 1, 2, 3, 4, 5, 6, 7}, {}};
    for (int32_t t = 0; t < static_cast<int32_t>(prompts[i].size()); ++t) seq.logits_indices.push_back(t);
    const auto output = (*runner)->Execute(SchedulerOutput{{seq.view()}});
    REQUIRE(output.ok());
    const TensorView* expected = (*reference)->Find("prompt_" + std::to_string(i));
    REQUIRE(expected != nullptr);
    CHECK(expected->shape == std::vector<int64_t>{static_cast<int64_t>(prompts[i].size()), output->vocab_size});
    const double error = RelativeError(output->logits, *expected);
    CAPTURE(error);
    CHECK(error < kMaxRelativeError);
  }
}

TEST_CASE("config.json as transformers 5 writes it reads like the classic form", "[cpu]") {
  const std::string name = GENERATE("llama_tied", "llama_gqa_llama3", "qwen2_bias", "mistral_window");
  CAPTURE(name);
  const std::string dir = ReferenceDir() + "/" + name;
  const std::string v5_path = dir + "/config.transformers5.json";
  if (!std::filesystem::exists(v5_path)) {
    FAIL("reference data missing: " << v5_path << " (make it with tools/reference/run_on_gpu.sh)");
  }
  const auto classic = LoadModelConfig(dir);
  const auto v5 = ParseModelConfig(testing::ReadFile(v5_path), v5_path);
  REQUIRE(classic.ok());
  REQUIRE(v5.ok());
  CHECK(v5->architecture == classic->architecture);
  CHECK(v5->num_key_value_heads == classic->num_key_value_heads);
  CHECK(v5->head_dim == classic->head_dim);
  CHECK(v5->rope.type == classic->rope.type);
  CHECK(v5->rope.theta == classic->rope.theta);
  CHECK(v5->rope.factor == classic->rope.factor);
  CHECK(v5->rope.original_max_position_embeddings == classic->rope.original_max_position_embeddings);
  CHECK(v5->tie_word_embeddings == classic->tie_word_embeddings);
  CHECK(v5->qkv_bias == classic->qkv_bias);
  CHECK(v5->sliding_window == classic->sliding_window);
  CHECK(v5->eos_token_ids == classic->eos_token_ids);
}

}  // namespace specd
