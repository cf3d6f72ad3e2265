#include <catch2/catch.hpp>

#include "server/server_config.h"
#include "server/status_mapping.h"
#include "tests/test_paths.h"

namespace specd {
namespace {

std::string Error(const std::string& json) {
  const auto config = ParseServerConfig(json, "s.json");
  REQUIRE_FALSE(config.ok());
  return config.status().ToString();
}

}  // namespace

TEST_CASE("server config: the CPU preset loads and round-trips through ToJson", "[cpu]") {
  const auto preset = LoadServerConfig(testing::SourceDir() + "/configs/serve_cpu.json");
  REQUIRE(preset.ok());
  CHECK(preset->model == "models/specd-code-target");
  CHECK(preset->listen == "127.0.0.1:50051");
  CHECK(preset->metrics_port == 9400);
  CHECK(preset->engine.kv_cache.num_blocks == 2048);
  CHECK(preset->cuda_graphs);
  const auto again = ParseServerConfig(preset->ToJson().dump(), "round trip");
  REQUIRE(again.ok());
  CHECK(again->ToJson() == preset->ToJson());
}

TEST_CASE("server config: the GPU preset turns CUDA graphs on, and a config can turn them off", "[cpu]") {
  const auto preset = LoadServerConfig(testing::SourceDir() + "/configs/serve_gpu.json");
  REQUIRE(preset.ok());
  CHECK(preset->runner == "cuda");
  CHECK(preset->cuda_graphs);
  const auto off = ParseServerConfig(R"({"runner": "cuda", "cuda_graphs": false})", "off.json");
  REQUIRE(off.ok());
  CHECK_FALSE(off->cuda_graphs);
  CHECK(off->ToJson()["cuda_graphs"] == false);
}

TEST_CASE("server config: errors name the key", "[cpu]") {
  CHECK(Error(R"({"modle": "x"})") == "INVALID_ARGUMENT: s.json: unknown key 'modle'");
  CHECK(Error(R"({"runner": "tpu"})") ==
        "INVALID_ARGUMENT: s.json: 'runner' must be \"cpu\" or \"cuda\", got \"tpu\"");
  CHECK(Error(R"({"gpu_memory_utilization": 1.5})") ==
        "INVALID_ARGUMENT: s.json: 'gpu_memory_utilization' must be at most 1");
  CHECK(Error(R"({"cuda_graphs": "yes"})") == "INVALID_ARGUMENT: s.json: 'cuda_graphs' must be true or false, got \"yes\"");
  CHECK(Error(R"({"listen": "50051"})") == "INVALID_ARGUMENT: s.json: 'listen' must be HOST:PORT, got \"50051\"");
  CHECK(Error(R"({"metrics_port": 70000})") ==
        "INVALID_ARGUMENT: s.json: 'metrics_port' must be an integer in [-1, 65535], got 70000");
  CHECK(Error(R"({"drain_timeout_seconds": 0})") ==
        "INVALID_ARGUMENT: s.json: 'drain_timeout_seconds' must be a positive number, got 0");
  CHECK(Error(R"({"log_level": "loud"})") ==
        "INVALID_ARGUMENT: s.json: 'log_level' must be trace, debug, info, warn, error, critical or off, got \"loud\"");
  CHECK(Error(R"({"engine": {"max_num_seqs": -1}})") ==
        "INVALID_ARGUMENT: s.json: 'engine': 'max_num_seqs' must be an integer in [1, 4096], got -1");
  CHECK(LoadServerConfig("/no/such.json").status().ToString() == "FAILED_PRECONDITION: /no/such.json: cannot open");
}

TEST_CASE("status mapping: each code maps to the gRPC code of the same name", "[cpu]") {
  const std::vector<std::pair<StatusCode, grpc::StatusCode>> rows = {
      {StatusCode::kOk, grpc::StatusCode::OK},
      {StatusCode::kCancelled, grpc::StatusCode::CANCELLED},
      {StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED},
      {StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED},
      {StatusCode::kInternal, grpc::StatusCode::INTERNAL},
      {StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
  };
  for (const auto& [ours, theirs] : rows) {
    const grpc::Status mapped = ToGrpcStatus(Status(ours, ours == StatusCode::kOk ? "" : "why"));
    CHECK(mapped.error_code() == theirs);
    if (ours != StatusCode::kOk) CHECK(mapped.error_message() == "why");
  }
}

TEST_CASE("status mapping: finish reasons end streams with the right status", "[cpu]") {
  CHECK(FinishStatus(FinishReason::kStop, "").ok());
  CHECK(FinishStatus(FinishReason::kLength, "").ok());
  CHECK(FinishStatus(FinishReason::kAbort, "").ToString() == "CANCELLED: the request was aborted");
  CHECK(FinishStatus(FinishReason::kDeadline, "").ToString() == "DEADLINE_EXCEEDED: deadline exceeded");
  CHECK(FinishStatus(FinishReason::kError, "device lost").ToString() == "INTERNAL: device lost");
  CHECK(FinishStatus(FinishReason::kShutdown, "").ToString() == "UNAVAILABLE: the server is shutting down");
}

}  // namespace specd
