// Speculative decoding through the server: a spec config turns it on, greedy output does not
// change, usage and /metrics report drafts, a request can turn it off.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "tests/model_fixtures.h"
#include "tests/server/test_server.h"
#include "tests/test_paths.h"
#include "tests/unit/metrics/prometheus_text_parser.h"

namespace specd {
namespace {

std::string WriteSpecConfig(const std::string& name, const std::string& json) {
  const std::string path = testing::MakeScratchDir(name) + "/spec.json";
  testing::WriteFile(path, json);
  return path;
}

}  // namespace

TEST_CASE("server: speculative decoding keeps greedy output and reports its drafts", "[cpu]") {
  ServerConfig plain_config = testing::TinyServerConfig("spec_server_plain");
  auto plain = testing::StartServer(plain_config);
  ServerConfig spec_config = plain_config;
  spec_config.metrics_port = 0;
  spec_config.spec_config = WriteSpecConfig("spec_server", R"({"method": "draft_model", "draft_model": ")" +
      plain_config.model + R"(", "verifier_model": ")" + plain_config.model +
      R"(", "chunk_size": 4, "max_spec_tokens": 4, "acceptance_target": 0.5, "fallback_chunk_size": 2})");
  auto spec = testing::StartServer(spec_config);

  const auto request = testing::GreedyRequest("speculate on this", 40);
  const auto expected = testing::RunStream(*plain.generation, request);
  const auto drafted = testing::RunStream(*spec.generation, request);
  REQUIRE(drafted.status.ok());
  CHECK(drafted.token_ids == expected.token_ids);
  CHECK(drafted.text == expected.text);
  const auto& usage = drafted.messages.back().finish().usage();
  CHECK(usage.draft_tokens() > 0);
  CHECK(usage.accepted_tokens() == usage.draft_tokens());  // the target drafting for itself
  CHECK(expected.messages.back().finish().usage().draft_tokens() == 0);

  auto off = request;
  off.mutable_speculation()->set_enabled(false);
  const auto undrafted = testing::RunStream(*spec.generation, off);
  CHECK(undrafted.token_ids == expected.token_ids);
  CHECK(undrafted.messages.back().finish().usage().draft_tokens() == 0);

  grpc::ClientContext context;
  v1::ModelInfo info;
  REQUIRE(spec.admin->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  CHECK(info.draft_model_path() == plain_config.model);

  httplib::Client client("127.0.0.1", spec.server->metrics_port());
  const auto parsed = metrics_test::ParsePrometheusText(client.Get("/metrics")->body);
  REQUIRE(parsed.ok());
  CHECK(parsed->Find("specd_spec_decode_draft_tokens_total") == usage.draft_tokens());
  CHECK(parsed->Find("specd_spec_decode_acceptance_rate") == 1.0);
  CHECK(parsed->Find("specd_spec_decode_accepted_per_position_total{position=\"0\"}") > 0);
}

TEST_CASE("server: a spec config whose verifier is not the served model is refused", "[cpu]") {
  ServerConfig config = testing::TinyServerConfig("spec_server_bad");
  config.spec_config = WriteSpecConfig("spec_server_bad", R"({"method": "draft_model", "draft_model": ")" +
      config.model + R"(", "verifier_model": "models/specd-code-target"})");
  const auto server = SpecdServer::Start(config);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().ToString() == "INVALID_ARGUMENT: " + config.spec_config +
                                          ": verifier_model models/specd-code-target is not the served model " +
                                          config.model);
}

}  // namespace specd
