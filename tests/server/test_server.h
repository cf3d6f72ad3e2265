// An in-process specd server on an ephemeral loopback port over a tiny random model, and stubs
// to talk to it.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "server/specd_server.h"
#include "specd/v1/admin.grpc.pb.h"
#include "specd/v1/generation.grpc.pb.h"

namespace specd::testing {

struct TestServer {
  std::unique_ptr<SpecdServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Generation::Stub> generation;
  std::unique_ptr<v1::Admin::Stub> admin;
};

// A config for a tiny model made in a fresh folder: listen 127.0.0.1:0, no metrics port.
ServerConfig TinyServerConfig(const std::string& name);
TestServer StartServer(const ServerConfig& config);

// The outcome of one Generate stream read to its end.
struct StreamResult {
  grpc::Status status;
  std::vector<v1::GenerateResponse> messages;
  std::vector<int32_t> token_ids;
  std::string text;
  bool has_finish() const { return !messages.empty() && messages.back().has_finish(); }
};
StreamResult RunStream(v1::Generation::Stub& stub, const v1::GenerateRequest& request,
                       double timeout_seconds = 60);

v1::GenerateRequest GreedyRequest(const std::string& text, uint32_t max_tokens);

// Polls Admin.GetLoad until nothing runs and the KV cache is empty; false on timeout.
bool WaitForIdle(v1::Admin::Stub& admin, double timeout_seconds = 10);

}  // namespace specd::testing
