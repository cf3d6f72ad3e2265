// MetricsHttpServer: GET /metrics on an ephemeral port answers the registry's text with the
// Prometheus content type; other paths and methods answer 404; a port in use is a clear error;
// Stop joins and the server can start again.
#include "server/metrics/metrics_http_server.h"

#include <httplib.h>

#include <catch2/catch.hpp>

#include "tests/unit/metrics/prometheus_text_parser.h"

namespace specd::metrics {
namespace {

constexpr const char* kHost = "127.0.0.1";

TEST_CASE("GET /metrics answers the registry's exposition", "[cpu]") {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("hits_total", "Hits.").Get();
  MetricsHttpServer server(&registry, kHost, 0);
  REQUIRE(server.Start().ok());
  REQUIRE(server.running());
  REQUIRE(server.port() > 0);

  httplib::Client client(kHost, server.port());
  counter.Increment(3);
  auto result = client.Get("/metrics");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(result->body == "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 3\n");

  counter.Increment();
  result = client.Get("/metrics?name[]=hits_total");
  REQUIRE(result);
  const auto parsed = metrics_test::ParsePrometheusText(result->body);
  REQUIRE(parsed.ok());
  CHECK(parsed->Find("hits_total") == 4);
  server.Stop();
  CHECK_FALSE(server.running());
}

TEST_CASE("anything but GET /metrics is 404", "[cpu]") {
  MetricsRegistry registry;
  MetricsHttpServer server(&registry, kHost, 0);
  REQUIRE(server.Start().ok());
  httplib::Client client(kHost, server.port());
  for (const char* path : {"/", "/healthz", "/metrics/", "/metricsx", "/favicon.ico"}) {
    const auto result = client.Get(path);
    REQUIRE(result);
    CHECK(result->status == 404);
  }
  const auto post = client.Post("/metrics", "x", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 404);
}

TEST_CASE("a port already listening is refused with host:port in the message", "[cpu]") {
  MetricsRegistry registry;
  MetricsHttpServer first(&registry, kHost, 0);
  REQUIRE(first.Start().ok());
  MetricsHttpServer second(&registry, kHost, first.port());
  const Status status = second.Start();
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == StatusCode::kUnavailable);
  const std::string host_port = std::string(kHost) + ":" + std::to_string(first.port());
  INFO(status.message());
  CHECK(status.message().find(host_port) != std::string::npos);
  CHECK(status.message().find("in use") != std::string::npos);
  CHECK_FALSE(second.running());
  second.Stop();  // no-op
  // The first server still answers.
  httplib::Client client(kHost, first.port());
  const auto result = client.Get("/metrics");
  REQUIRE(result);
  CHECK(result->status == 200);
}

TEST_CASE("an address that is not local is refused with host:port in the message", "[cpu]") {
  MetricsRegistry registry;
  MetricsHttpServer server(&registry, "203.0.113.7", 9400);  // TEST-NET-3: never local
  const Status status = server.Start();
  REQUIRE_FALSE(status.ok());
  INFO(status.message());
  CHECK(status.message().find("203.0.113.7:9400") != std::string::npos);
  CHECK_FALSE(server.running());
}

TEST_CASE("a server stops with a keep-alive scraper connected and starts again", "[cpu]") {
  MetricsRegistry registry;
  registry.AddGauge("up", "Up.").Get().Set(1);
  MetricsHttpServer server(&registry, kHost, 0);
  REQUIRE(server.Start().ok());
  {
    httplib::Client client(kHost, server.port());
    client.set_keep_alive(true);
    for (int i = 0; i < 3; ++i) {
      const auto result = client.Get("/metrics");
      REQUIRE(result);
      CHECK(result->status == 200);
    }
    server.Stop();
  }
  REQUIRE(server.Start().ok());
  httplib::Client client(kHost, server.port());
  const auto result = client.Get("/metrics");
  REQUIRE(result);
  CHECK(result->body == "# HELP up Up.\n# TYPE up gauge\nup 1\n");
}

TEST_CASE("a stopped server refuses connections; destruction stops a running one", "[cpu]") {
  MetricsRegistry registry;
  int port = 0;
  {
    MetricsHttpServer server(&registry, kHost, 0);
    REQUIRE(server.Start().ok());
    port = server.port();
  }
  httplib::Client client(kHost, port);
  client.set_connection_timeout(std::chrono::milliseconds(500));
  CHECK_FALSE(client.Get("/metrics"));
}

}  // namespace
}  // namespace specd::metrics
