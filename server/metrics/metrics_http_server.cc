#include "server/metrics/metrics_http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include <httplib.h>

#include "engine/base/check.h"
#include "engine/base/logging.h"

namespace specd::metrics {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";
// Scrapes are rare and cheap: a couple of workers is plenty.
constexpr size_t kWorkerThreads = 2;
// Short, so that Stop() does not wait long on an idle keep-alive scraper connection.
constexpr time_t kKeepAliveTimeoutSeconds = 1;
constexpr auto kReadyPollInterval = std::chrono::milliseconds(1);

// SO_REUSEADDR only. cpp-httplib's default also sets SO_REUSEPORT on Linux, which would let a
// second server bind a port that is already listening instead of failing.
void ReuseAddressOnly(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

// "host:port", or "[host]:port" for an IPv6 literal.
std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(const MetricsRegistry* registry, std::string host, int port)
    : registry_(registry), host_(std::move(host)), requested_port_(port) {
  SPECD_CHECK(registry_ != nullptr);
  SPECD_CHECK(port >= 0 && port <= 65535) << "port " << port;
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::ConfigureServer() {
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server_->set_socket_options(ReuseAddressOnly);
  server_->set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry_->RenderText(), kContentType);
  });
}

Status MetricsHttpServer::Bind() {
  errno = 0;
  if (requested_port_ == 0) {
    bound_port_ = server_->bind_to_any_port(host_);
  } else {
    bound_port_ = server_->bind_to_port(host_, requested_port_) ? requested_port_ : -1;
  }
  if (bound_port_ > 0) return OkStatus();
  const int error = errno;
  bound_port_ = 0;
  server_.reset();
  const std::string reason = error != 0 ? std::error_code(error, std::generic_category()).message()
                                        : "address not available";
  return UnavailableError("metrics HTTP server cannot listen on " +
                          HostPort(host_, requested_port_) + ": " + reason);
}

Status MetricsHttpServer::Start() {
  SPECD_CHECK(!running()) << "MetricsHttpServer started twice";
  ConfigureServer();
  SPECD_RETURN_IF_ERROR(Bind());
  listen_returned_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // httplib's stop() is a no-op until listen has begun: wait for it, so Stop() always works.
  while (!server_->is_running() && !listen_returned_) {
    std::this_thread::sleep_for(kReadyPollInterval);
  }
  if (listen_returned_) {  // listen gave up at once (it does not say why)
    thread_.join();
    server_.reset();
    return InternalError("metrics HTTP server on " + HostPort(host_, bound_port_) +
                         " stopped right after it started");
  }
  GetLogger("server")->info("metrics endpoint on http://{}/metrics", HostPort(host_, bound_port_));
  return OkStatus();
}

void MetricsHttpServer::Stop() {
  if (!running()) return;
  server_->stop();
  thread_.join();
  server_.reset();
  GetLogger("server")->info("metrics endpoint on {} stopped", HostPort(host_, bound_port_));
}

}  // namespace specd::metrics
