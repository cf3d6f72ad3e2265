// MetricsHttpServer: serves GET /metrics (the registry's text, Content-Type
// "text/plain; version=0.0.4; charset=utf-8") over plain HTTP on its own listener thread plus a
// small worker pool (cpp-httplib). Any other path or method answers 404.
//
// Threads: Start and Stop are called by the owner (main) thread; requests are answered on the
// server's threads, which call MetricsRegistry::RenderText. The registry must outlive the
// server. The destructor stops a running server.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "engine/base/status.h"
#include "server/metrics/metrics_registry.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace specd::metrics {

class MetricsHttpServer {
 public:
  // `port` 0 picks an ephemeral port (see port() after Start).
  MetricsHttpServer(const MetricsRegistry* registry, std::string host, int port);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Binds host:port and starts serving; returns once the server accepts connections.
  // UNAVAILABLE naming host:port when the address cannot be bound (in use, not local).
  // Precondition: not running.
  Status Start();
  // Stops accepting, finishes requests in flight and joins the threads. No-op when not running.
  void Stop();

  bool running() const { return thread_.joinable(); }
  // The bound port once started (the ephemeral one when constructed with 0).
  int port() const { return bound_port_; }
  const std::string& host() const { return host_; }

 private:
  void ConfigureServer();
  Status Bind();

  const MetricsRegistry* registry_;
  const std::string host_;
  const int requested_port_;
  int bound_port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace specd::metrics
