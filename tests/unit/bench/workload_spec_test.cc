// Workload presets: a full preset parses with its values, every shipped preset in
// configs/workloads/ loads, and bad presets give errors naming the file and the field.
#include <filesystem>

#include <catch2/catch.hpp>

#include "bench/load/workload_spec.h"
#include "tests/test_paths.h"

namespace specd::bench {
namespace {

using Json = nlohmann::json;

Json MinimalPreset() {
  return {{"requests", 10},
          {"arrival", {{"pattern", "poisson"}, {"rate", 2}}},
          {"prompt", {{"tokens", 16}}},
          {"output", {{"tokens", 8}}}};
}

// The error of MinimalPreset() with `key` (a top-level key, or "section.key") set to `value`.
std::string ErrorWith(const std::string& key, const Json& value) {
  Json json = MinimalPreset();
  const size_t dot = key.find('.');
  if (dot == std::string::npos) {
    json[key] = value;
  } else {
    json[key.substr(0, dot)][key.substr(dot + 1)] = value;
  }
  const auto spec = ParseWorkloadSpec(json, "w.json", "w");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == StatusCode::kInvalidArgument);
  return spec.status().message();
}

}  // namespace

TEST_CASE("workload: a full preset parses", "[cpu]") {
  const Json json = {
      {"name", "chat"}, {"description", "d"}, {"seed", 5}, {"duration_s", 30},
      {"arrival", {{"pattern", "poisson"}, {"rate", 1}}},
      {"sweep", {{"rates", {0.5, 2}}}},
      {"prompt", {{"source", "text_file"}, {"path", "p.txt"}, {"separator", "##"}, {"tokens", 32}}},
      {"output", {{"tokens", {{"distribution", "uniform"}, {"min", 4}, {"max", 8}}}, {"ignore_eos", false}}},
      {"sampling", {{"temperature", 0.7}, {"top_p", 0.9}, {"top_k", 40}}},
      {"speculation", {{"enabled", false}, {"max_draft_tokens", 3}}},
      {"slo", {{"ttft_ms", 200}, {"tpot_ms", 40}}}};
  const auto spec = ParseWorkloadSpec(json, "chat.json", "unused");
  REQUIRE(spec.status().ToString() == "OK");
  CHECK(spec->name == "chat");
  CHECK(spec->seed == 5);
  CHECK(spec->limit.duration_s == 30.0);
  CHECK_FALSE(spec->limit.requests.has_value());
  REQUIRE(spec->Runs().size() == 2);
  CHECK(spec->Runs()[1].rate == 2.0);
  CHECK(spec->prompt.source == PromptSpec::Source::kTextFile);
  CHECK(spec->prompt.path == "p.txt");
  CHECK(spec->prompt.separator == "##");
  CHECK(spec->output.tokens.max() == 8);
  CHECK_FALSE(spec->output.ignore_eos);
  CHECK(spec->sampling.top_k == 40);
  CHECK_FALSE(spec->speculation.enabled);
  CHECK(spec->speculation.max_draft_tokens == 3);
  CHECK(spec->slo.tpot_ms == 40.0);
  CHECK_FALSE(spec->slo.e2e_ms.has_value());
  const Json effective = spec->ToJson();
  CHECK(effective["sweep"].size() == 2);
  CHECK(effective["slo"] == Json{{"ttft_ms", 200.0}, {"tpot_ms", 40.0}});
  CHECK(effective["duration_s"] == 30.0);
}

TEST_CASE("workload: defaults of a minimal preset", "[cpu]") {
  const auto spec = ParseWorkloadSpec(MinimalPreset(), "mini.json", "mini");
  REQUIRE(spec.ok());
  CHECK(spec->name == "mini");
  CHECK(spec->seed == 0);
  CHECK(spec->prompt.source == PromptSpec::Source::kRandom);
  CHECK(spec->output.ignore_eos);
  CHECK(spec->speculation.enabled);
  CHECK_FALSE(spec->sampling.temperature.has_value());
  CHECK(spec->slo.empty());
  CHECK(spec->Runs().size() == 1);
}

TEST_CASE("workload: every preset in configs/workloads loads", "[cpu]") {
  int presets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::SourceDir() + "/configs/workloads")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path());
    const auto spec = LoadWorkloadSpec(entry.path().string());
    CHECK(spec.status().ToString() == "OK");
    ++presets;
  }
  CHECK(presets >= 4);  // chat, code completion, long-context summarization, saturation sweep
}

TEST_CASE("workload: bad presets name the field", "[cpu]") {
  CHECK(ErrorWith("arival", Json::object()) == "w.json: unknown key 'arival'");
  CHECK(ErrorWith("duration_s", 10) == "w.json: give exactly one of 'requests' and 'duration_s'");
  CHECK(ErrorWith("requests", -1) == "w.json: 'requests' must be a positive integer, got -1");
  CHECK(ErrorWith("seed", "x") == "w.json: 'seed' must be an integer in [0, 9223372036854775807], got \"x\"");
  CHECK(ErrorWith("arrival.rate", 0) == "w.json: 'arrival': 'rate' must be a positive number, got 0");
  CHECK(ErrorWith("sweep", {{"clients", {1, 2}}}).find("needs 'rates', a non-empty list") != std::string::npos);
  CHECK(ErrorWith("sweep", {{"rates", {1, -2}}}) == "w.json: 'sweep': 'rates' has an invalid entry -2");
  CHECK(ErrorWith("prompt.source", "sharegpt") ==
        "w.json: 'prompt': 'source' must be \"random\" or \"text_file\", got \"sharegpt\"");
  CHECK(ErrorWith("prompt.source", "text_file") == "w.json: 'prompt': the text_file source needs 'path'");
  CHECK(ErrorWith("output.max_tokens", 5) == "w.json: 'output': unknown key 'max_tokens'");
  CHECK(ErrorWith("sampling", {{"temperature", -0.5}}) ==
        "w.json: 'sampling': 'temperature' must be a number in [0, 100], got -0.5");
  CHECK(ErrorWith("sampling", {{"top_p", 0}}) == "w.json: 'sampling': 'top_p' must be a number in (0, 1], got 0");
  CHECK(ErrorWith("speculation", {{"max_draft_tokens", 17}}) ==
        "w.json: 'speculation': 'max_draft_tokens' must be an integer in [1, 16], got 17");
  CHECK(ErrorWith("slo", Json::object()) == "w.json: 'slo': give at least one of 'ttft_ms', 'tpot_ms' and 'e2e_ms'");
  CHECK(ErrorWith("slo", {{"ttft_s", 1}}) == "w.json: 'slo': unknown key 'ttft_s'");
  Json no_output = MinimalPreset();
  no_output.erase("output");
  CHECK(ParseWorkloadSpec(no_output, "w.json", "w").status().message() == "w.json: missing required field 'output'");
  CHECK(LoadWorkloadSpec("/nonexistent/w.json").status().code() == StatusCode::kFailedPrecondition);
}

}  // namespace specd::bench
