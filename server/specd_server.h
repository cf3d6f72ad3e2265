// SpecdServer: `specd serve` assembled. Start listens first (readiness NOT_SERVING, Generate
// answers UNAVAILABLE), then loads the tokenizer and model, starts the engine and turns ready.
//
// Health (grpc.health.v1): "" is liveness, SERVING while the engine loop keeps ticking;
// "specd.v1.Generation" is readiness, SERVING only between the end of loading and the start
// of a drain. Reflection is on, so grpcurl-style tools work without our protos.
// Shutdown (SIGTERM): readiness NOT_SERVING, new requests UNAVAILABLE, running streams finish
// up to the drain timeout (then end UNAVAILABLE), the gRPC server stops.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "engine/base/status.h"
#include "engine/spec/proposer.h"
#include "engine/spec/spec_config.h"
#include "server/admin_service.h"
#include "server/generation_service.h"
#include "server/metrics/metrics_http_server.h"
#include "server/metrics/metrics_registry.h"
#include "server/metrics/server_metrics.h"
#include "server/request_telemetry.h"
#include "server/server_config.h"
#include "server/serving_context.h"

namespace specd {

inline constexpr char kReadinessService[] = "specd.v1.Generation";

class SpecdServer {
 public:
  static StatusOr<std::unique_ptr<SpecdServer>> Start(const ServerConfig& config);
  ~SpecdServer();  // Shutdown()

  int grpc_port() const { return grpc_port_; }
  // The /metrics port, or -1 when the config turned the endpoint off.
  int metrics_port() const { return metrics_http_ ? metrics_http_->port() : -1; }
  // Drains and stops; idempotent.
  void Shutdown();

 private:
  explicit SpecdServer(const ServerConfig& config);
  Status Listen();
  Status ServeMetrics();
  Status Load();
  Status EnableSpeculation();
  StatusOr<std::unique_ptr<ModelRunner>> MakeRunner(const std::string& model_dir, int64_t num_blocks,
                                                     int64_t reserved_bytes_per_block = 0,
                                                     const std::vector<int64_t>& verify_step_tokens = {}) const;
  StatusOr<int64_t> DraftKvBytesPerBlock() const;
  StatusOr<std::vector<int64_t>> VerifyStepTokens() const;
  StatusOr<std::unique_ptr<Proposer>> LoadDraftProposer(const SpecConfig& spec);
  metrics::EngineStatsSnapshot EngineSnapshot() const;
  void WatchLiveness();

  const ServerConfig config_;
  const std::chrono::steady_clock::time_point started_;
  metrics::MetricsRegistry metrics_registry_;
  metrics::ServerMetrics metrics_;
  RequestTelemetry telemetry_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_http_;
  ServingContext serving_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelConfig model_;
  EngineConfig engine_config_;  // config_.engine with the KV block count the runner chose
  std::unique_ptr<EngineCore> engine_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<GenerationService> generation_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread liveness_thread_;
  bool shut_down_ = false;
};

}  // namespace specd
