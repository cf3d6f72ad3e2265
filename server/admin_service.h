// Admin service: model and server info, load, and aborting a request. gRPC threads.
#pragma once

#include <chrono>
#include <string>

#include "server/serving_context.h"
#include "specd/v1/admin.grpc.pb.h"

namespace specd {

struct ServerIdentity {
  std::string version;
  std::string effective_config_json;
  std::string model_path;
  std::string runner;
  std::chrono::steady_clock::time_point started;
};

class AdminService : public v1::Admin::CallbackService {
 public:
  AdminService(ServingContext& serving, ServerIdentity identity)
      : serving_(serving), identity_(std::move(identity)) {}

  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const v1::GetServerInfoRequest* request,
                                          v1::ServerInfo* response) override;
  grpc::ServerUnaryReactor* GetLoad(grpc::CallbackServerContext* context,
                                    const v1::GetLoadRequest* request, v1::Load* response) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* context,
                                  const v1::AbortRequest* request, v1::AbortResponse* response) override;

 private:
  ServingContext& serving_;
  const ServerIdentity identity_;
};

}  // namespace specd
