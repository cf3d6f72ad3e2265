// ServerConnection: the gRPC channel to one `specd serve` and its three service stubs
// (specd.v1.Generation, specd.v1.Admin, grpc.health.v1.Health), plus the per-call deadline
// of --timeout-s. Used from specd-cli's one thread, and by specd-bench (whose streams call
// Prepare and the stubs from several threads: gRPC stubs are thread-safe, Prepare is const).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "engine/base/flag_parser.h"
#include "engine/base/status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "specd/v1/admin.grpc.pb.h"
#include "specd/v1/generation.grpc.pb.h"

namespace specd::cli {

constexpr char kDefaultServer[] = "127.0.0.1:50051";

struct ConnectionOptions {
  std::string address = kDefaultServer;      // --server HOST:PORT
  std::optional<double> timeout_seconds;     // --timeout-s X (> 0); none: no deadline
};

// Reads --server (or the flag named `address_flag`: specd-bench's --target) and --timeout-s.
// INVALID_ARGUMENT for an empty address or a timeout <= 0.
StatusOr<ConnectionOptions> ConnectionOptionsFromFlags(const FlagParser& flags,
                                                       const std::string& address_flag = "server");

class ServerConnection {
 public:
  explicit ServerConnection(ConnectionOptions options);

  // Sets the deadline of --timeout-s (from now) on a context for one call.
  void Prepare(grpc::ClientContext& context) const;

  const std::string& address() const { return options_.address; }
  v1::Generation::Stub& generation() { return *generation_; }
  v1::Admin::Stub& admin() { return *admin_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }

 private:
  ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Generation::Stub> generation_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace specd::cli
