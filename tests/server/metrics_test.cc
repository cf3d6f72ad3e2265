// /metrics of a running server: it parses as Prometheus text, and its counters match what the
// test sent.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "tests/server/test_server.h"
#include "tests/unit/metrics/prometheus_text_parser.h"

namespace specd {

TEST_CASE("server: /metrics parses and counts what was sent", "[cpu]") {
  ServerConfig config = testing::TinyServerConfig("server_metrics");
  config.metrics_port = 0;
  auto test = testing::StartServer(config);
  REQUIRE(test.server->metrics_port() > 0);

  int64_t prompt_tokens = 0, completion_tokens = 0;
  for (int i = 0; i < 5; ++i) {
    const auto result = testing::RunStream(*test.generation, testing::GreedyRequest("metrics " + std::to_string(i), 7 + i));
    REQUIRE(result.status.ok());
    prompt_tokens += result.messages.front().prompt_info().prompt_tokens();
    completion_tokens += static_cast<int64_t>(result.token_ids.size());
  }
  v1::GenerateRequest bad = testing::GreedyRequest("bad", 4);
  bad.mutable_sampling()->set_top_p(0);
  REQUIRE(testing::RunStream(*test.generation, bad).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(testing::WaitForIdle(*test.admin));

  httplib::Client client("127.0.0.1", test.server->metrics_port());
  const auto response = client.Get("/metrics");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  const auto parsed = metrics_test::ParsePrometheusText(response->body);
  REQUIRE(parsed.ok());
  const auto value = [&](std::string_view name, const metrics_test::Labels& labels = {}) {
    const auto found = parsed->Find(name, labels);
    INFO(name);
    REQUIRE(found.has_value());
    return *found;
  };
  CHECK(value("specd_requests_finished_total", {{"reason", "length"}, {"qos_class", "default"}}) == 5);
  CHECK(value("specd_requests_rejected_total", {{"code", "INVALID_ARGUMENT"}}) == 1);
  CHECK(value("specd_prompt_tokens_total") == prompt_tokens);
  CHECK(value("specd_generation_tokens_total") == completion_tokens);
  CHECK(value("specd_time_to_first_token_seconds_count") == 5);
  CHECK(value("specd_e2e_request_latency_seconds_count") == 5);
  CHECK(value("specd_inter_token_latency_seconds_count") == completion_tokens - 5);
  CHECK(value("specd_num_requests_running") == 0);
  CHECK(value("specd_num_requests_waiting") == 0);
  CHECK(value("specd_kv_cache_usage_ratio") == 0);
  CHECK(value("specd_prefix_cache_queries_tokens_total") >= prompt_tokens);
  CHECK(parsed->types.at("specd_time_to_first_token_seconds") == "histogram");
  CHECK(client.Get("/other")->status == 404);
}

}  // namespace specd
