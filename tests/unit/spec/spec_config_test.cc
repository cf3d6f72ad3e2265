// SpecConfig: every shipped preset in spec_configs/ loads with its values, and every error
// names the file and the key.
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine/spec/spec_config.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

StatusOr<SpecConfig> LoadPreset(const std::string& name) {
  return LoadSpecConfig(testing::SourceDir() + "/spec_configs/" + name);
}

std::string Error(const std::string& json) {
  const auto config = ParseSpecConfig(json, "spec.json");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == StatusCode::kInvalidArgument);
  return config.status().ToString();
}

}  // namespace

TEST_CASE("spec config: draft_and_verify.json", "[cpu]") {
  const auto config = LoadPreset("draft_and_verify.json");
  REQUIRE(config.ok());
  CHECK(config->method == SpecMethod::kDraftModel);
  CHECK(config->enabled());
  CHECK(config->draft_model == "models/specd-code-draft");
  CHECK(config->verifier_model == "models/specd-code-target");
  CHECK(config->chunk_size == 4);
  CHECK(config->max_spec_tokens == 6);
  CHECK(config->acceptance_target == 0.6);
  CHECK(config->fallback_chunk_size == 2);
  CHECK(config->max_batch_size == 32);
}

TEST_CASE("spec config: verify steps of full drafts, for the CUDA runner's graph buckets", "[cpu]") {
  const auto config = LoadPreset("draft_and_verify.json");  // chunk_size 4, max_batch_size 32
  REQUIRE(config.ok());
  CHECK(FullDraftStepTokens(*config) == std::vector<int64_t>{5, 10, 20, 40, 80, 160});
  SpecConfig none;
  CHECK(FullDraftStepTokens(none).empty());
  SpecConfig narrow = *config;
  narrow.max_batch_size = 3;
  narrow.chunk_size = 1;
  CHECK(FullDraftStepTokens(narrow) == std::vector<int64_t>{2, 4});
}

TEST_CASE("spec config: ngram_lookup.json", "[cpu]") {
  const auto config = LoadPreset("ngram_lookup.json");
  REQUIRE(config.ok());
  CHECK(config->method == SpecMethod::kNgramLookup);
  CHECK(config->draft_model.empty());
  CHECK(config->chunk_size == 6);
  CHECK(config->max_spec_tokens == 8);
  CHECK(config->acceptance_target == 0.7);
  CHECK(config->fallback_chunk_size == 3);
  CHECK(config->ngram_min == 1);
  CHECK(config->ngram_max == 4);
  CHECK(config->max_batch_size == 32);
}

TEST_CASE("spec config: small_chunk_latency.json", "[cpu]") {
  const auto config = LoadPreset("small_chunk_latency.json");
  REQUIRE(config.ok());
  CHECK(config->method == SpecMethod::kDraftModel);
  CHECK(config->draft_model == "models/specd-code-draft");
  CHECK(config->chunk_size == 2);
  CHECK(config->max_spec_tokens == 3);
  CHECK(config->acceptance_target == 0.5);
  CHECK(config->fallback_chunk_size == 1);
  CHECK(config->max_batch_size == 32);
}

TEST_CASE("spec config: none.json turns speculation off", "[cpu]") {
  const auto config = LoadPreset("none.json");
  REQUIRE(config.ok());
  CHECK(config->method == SpecMethod::kNone);
  CHECK_FALSE(config->enabled());
}

TEST_CASE("spec config: every shipped preset loads", "[cpu]") {
  int presets = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::SourceDir() + "/spec_configs")) {
    if (entry.path().extension() != ".json") continue;
    ++presets;
    const auto config = LoadSpecConfig(entry.path().string());
    INFO(entry.path().string() << ": " << config.status().ToString());
    CHECK(config.ok());
  }
  CHECK(presets >= 4);
}

TEST_CASE("spec config: absent keys keep the defaults", "[cpu]") {
  const auto config = ParseSpecConfig(R"({"method": "n_gram_lookup"})", "spec.json");
  REQUIRE(config.ok());
  const SpecConfig defaults;
  CHECK(config->chunk_size == defaults.chunk_size);
  CHECK(config->max_spec_tokens == defaults.max_spec_tokens);
  CHECK(config->acceptance_target == defaults.acceptance_target);
  CHECK(config->fallback_chunk_size == defaults.fallback_chunk_size);
  CHECK(config->ngram_min == defaults.ngram_min);
  CHECK(config->ngram_max == defaults.ngram_max);
  CHECK(config->max_batch_size == defaults.max_batch_size);
  CHECK(ParseSpecConfig(R"({"method": "draft_model", "draft_model": "d"})", "spec.json").ok());
  // Range ends are allowed.
  CHECK(ParseSpecConfig(R"({"method": "none", "acceptance_target": 0, "chunk_size": 16,
      "max_spec_tokens": 16, "fallback_chunk_size": 16, "ngram_min": 16, "ngram_max": 16})",
                        "spec.json").ok());
  CHECK(ParseSpecConfig(R"({"method": "none", "acceptance_target": 1})", "spec.json").ok());
}

TEST_CASE("spec config: errors name the file, the key and the problem", "[cpu]") {
  CHECK(Error(R"({"method": "none", "chunksize": 4})") ==
        "INVALID_ARGUMENT: spec.json: unknown key 'chunksize'");
  CHECK(Error(R"({"method": "draft_model", "draft_model": "d", "chunk_size": 0})") ==
        "INVALID_ARGUMENT: spec.json: 'chunk_size' must be an integer in [1, 16], got 0");
  CHECK(Error(R"({"method": "medusa"})") ==
        "INVALID_ARGUMENT: spec.json: 'method' must be \"draft_model\", \"n_gram_lookup\" or "
        "\"none\", got \"medusa\"");
  CHECK(Error(R"({"method": "draft_model", "chunk_size": 4})") ==
        "INVALID_ARGUMENT: spec.json: the draft_model method needs 'draft_model'");
  CHECK(Error(R"({"method": "draft_model", "draft_model": ""})") ==
        "INVALID_ARGUMENT: spec.json: the draft_model method needs 'draft_model'");
  CHECK(Error(R"({"method": "n_gram_lookup", "chunk_size": 4, "max_spec_tokens": 3})") ==
        "INVALID_ARGUMENT: spec.json: need fallback_chunk_size <= chunk_size <= max_spec_tokens");
  CHECK(Error(R"({"method": "n_gram_lookup", "chunk_size": 2, "fallback_chunk_size": 3})") ==
        "INVALID_ARGUMENT: spec.json: need fallback_chunk_size <= chunk_size <= max_spec_tokens");
}

TEST_CASE("spec config: every range and type is checked", "[cpu]") {
  CHECK(Error(R"({"chunk_size": 4})") == "INVALID_ARGUMENT: spec.json: missing required field 'method'");
  CHECK(Error(R"({"method": 1})") == "INVALID_ARGUMENT: spec.json: 'method' must be a string, got 1");
  CHECK(Error(R"({"method": "draft_model", "draft_model": 3})") ==
        "INVALID_ARGUMENT: spec.json: 'draft_model' must be a string, got 3");
  CHECK(Error(R"({"method": "none", "max_spec_tokens": 17})") ==
        "INVALID_ARGUMENT: spec.json: 'max_spec_tokens' must be an integer in [1, 16], got 17");
  CHECK(Error(R"({"method": "none", "fallback_chunk_size": 1.5})") ==
        "INVALID_ARGUMENT: spec.json: 'fallback_chunk_size' must be an integer in [1, 16], got 1.5");
  CHECK(Error(R"({"method": "none", "acceptance_target": 1.5})") ==
        "INVALID_ARGUMENT: spec.json: 'acceptance_target' must be a number in [0, 1], got 1.5");
  CHECK(Error(R"({"method": "none", "acceptance_target": "high"})") ==
        "INVALID_ARGUMENT: spec.json: 'acceptance_target' must be a number in [0, 1], got \"high\"");
  CHECK(Error(R"({"method": "none", "ngram_min": 0})") ==
        "INVALID_ARGUMENT: spec.json: 'ngram_min' must be an integer in [1, 16], got 0");
  CHECK(Error(R"({"method": "n_gram_lookup", "ngram_min": 4, "ngram_max": 2})") ==
        "INVALID_ARGUMENT: spec.json: need ngram_min <= ngram_max");
  CHECK(Error(R"({"method": "none", "max_batch_size": 0})") ==
        "INVALID_ARGUMENT: spec.json: 'max_batch_size' must be an integer in [1, 4096], got 0");
  CHECK(Error("[1]") == "INVALID_ARGUMENT: spec.json: not a JSON object");
  CHECK(Error("{") == "INVALID_ARGUMENT: spec.json: malformed JSON");
}

TEST_CASE("spec config: file errors name the path", "[cpu]") {
  const std::string path = testing::SourceDir() + "/spec_configs/no_such_preset.json";
  const auto missing = LoadSpecConfig(path);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().ToString() == "FAILED_PRECONDITION: " + path + ": cannot open");
}

}  // namespace specd
