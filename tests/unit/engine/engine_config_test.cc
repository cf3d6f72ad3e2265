#include <catch2/catch.hpp>

#include "engine/core/engine_config.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

std::string Error(const std::string& json) {
  const auto config = ParseEngineConfig(json, "e.json");
  REQUIRE_FALSE(config.ok());
  return config.status().ToString();
}

}  // namespace

TEST_CASE("engine config: the shipped presets load", "[cpu]") {
  const auto preset = LoadEngineConfig(testing::SourceDir() + "/configs/engine/multi_tenant.json");
  REQUIRE(preset.ok());
  CHECK(preset->policy == SchedulingPolicy::kPriority);
  CHECK(preset->max_num_seqs == 128);
  CHECK(preset->kv_cache.num_blocks == 4096);
  REQUIRE(preset->qos_classes.size() == 3);
  CHECK(preset->qos_classes[0].name == "interactive");
  CHECK_FALSE(preset->qos_classes[0].preemptible);
  CHECK(preset->qos_classes[2].max_running == 32);
  CHECK(preset->default_qos_class == "standard");
  CHECK(LoadEngineConfig(testing::SourceDir() + "/configs/engine/default.json").ok());
}

TEST_CASE("engine config: defaults fill what a preset leaves out", "[cpu]") {
  const auto config = ParseEngineConfig("{}", "e.json");
  REQUIRE(config.ok());
  CHECK(config->max_num_batched_tokens == 2048);
  CHECK(config->policy == SchedulingPolicy::kFcfs);
  CHECK(config->kv_cache.block_size == 16);
  CHECK(config->default_qos_class == "default");
  CHECK(config->FindQosClass("default") != nullptr);
  CHECK(config->overlap_steps);
}

TEST_CASE("engine config: overlap_steps turns overlapped scheduling on and off", "[cpu]") {
  const auto off = ParseEngineConfig(R"({"overlap_steps": false})", "e.json");
  REQUIRE(off.ok());
  CHECK_FALSE(off->overlap_steps);
  const auto on = ParseEngineConfig(R"({"overlap_steps": true})", "e.json");
  REQUIRE(on.ok());
  CHECK(on->overlap_steps);
  CHECK(Error(R"({"overlap_steps": 1})") ==
        "INVALID_ARGUMENT: e.json: 'overlap_steps' must be true or false, got 1");
}

TEST_CASE("engine config: errors name the file, the field and the problem", "[cpu]") {
  CHECK(Error(R"({"max_num_seq": 4})") == "INVALID_ARGUMENT: e.json: unknown key 'max_num_seq'");
  CHECK(Error(R"({"max_num_seqs": 0})") ==
        "INVALID_ARGUMENT: e.json: 'max_num_seqs' must be an integer in [1, 4096], got 0");
  CHECK(Error(R"({"scheduling_policy": "lifo"})") ==
        "INVALID_ARGUMENT: e.json: 'scheduling_policy' must be \"fcfs\" or \"priority\", got \"lifo\"");
  CHECK(Error(R"({"kv_cache": {"block_size": 16, "blocks": 4}})") ==
        "INVALID_ARGUMENT: e.json: 'kv_cache': unknown key 'blocks'");
  CHECK(Error(R"({"kv_cache": {"enable_prefix_caching": "yes"}})") ==
        "INVALID_ARGUMENT: e.json: 'kv_cache': 'enable_prefix_caching' must be true or false, got \"yes\"");
  CHECK(Error(R"({"qos": {"classes": [{"name": "a"}, {"name": "a"}]}})") ==
        "INVALID_ARGUMENT: e.json: 'qos': class 'a' is defined twice");
  CHECK(Error(R"({"qos": {"default_class": "b", "classes": [{"name": "a"}]}})") ==
        "INVALID_ARGUMENT: e.json: 'qos': default_class 'b' is not one of the classes");
  CHECK(Error(R"({"qos": {"classes": [{"name": "a", "max_running": -1}]}})") ==
        "INVALID_ARGUMENT: e.json: 'qos': 'classes'[0]: 'max_running' must be an integer in [0, 4096], got -1");
  CHECK(Error(R"({"qos": {"classes": []}})") ==
        "INVALID_ARGUMENT: e.json: 'qos': 'classes' must name at least one class");
  CHECK(Error("[]") == "INVALID_ARGUMENT: e.json: not a JSON object");
}

}  // namespace specd
