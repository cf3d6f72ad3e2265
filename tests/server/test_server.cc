#include "tests/server/test_server.h"

#include <thread>

#include <catch2/catch.hpp>

#include "tests/model_fixtures.h"

namespace specd::testing {

ServerConfig TinyServerConfig(const std::string& name) {
  RandomModelOptions model = TinyLlamaOptions();
  model.vocab_size = 512;
  model.max_position_embeddings = 4096;
  ServerConfig config;
  config.model = MakeRandomModel(name, model);
  config.listen = "127.0.0.1:0";
  config.metrics_port = -1;
  config.drain_timeout_seconds = 5;
  config.engine.max_num_batched_tokens = 256;
  config.engine.max_num_seqs = 32;
  config.engine.max_queued_requests = 64;
  config.engine.kv_cache = {.num_blocks = 1024, .block_size = 16, .enable_prefix_caching = true};
  return config;
}

TestServer StartServer(const ServerConfig& config) {
  auto server = SpecdServer::Start(config);
  REQUIRE(server.status().ToString() == "OK");
  TestServer test;
  test.server = std::move(server).value();
  test.channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(test.server->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  test.generation = v1::Generation::NewStub(test.channel);
  test.admin = v1::Admin::NewStub(test.channel);
  return test;
}

StreamResult RunStream(v1::Generation::Stub& stub, const v1::GenerateRequest& request,
                       double timeout_seconds) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)));
  auto reader = stub.Generate(&context, request);
  StreamResult result;
  v1::GenerateResponse message;
  while (reader->Read(&message)) {
    if (message.has_delta()) {
      result.token_ids.insert(result.token_ids.end(), message.delta().token_ids().begin(),
                              message.delta().token_ids().end());
      result.text += message.delta().text();
    }
    result.messages.push_back(message);
  }
  result.status = reader->Finish();
  return result;
}

v1::GenerateRequest GreedyRequest(const std::string& text, uint32_t max_tokens) {
  v1::GenerateRequest request;
  request.set_text(text);
  request.mutable_sampling()->set_temperature(0.0f);
  request.mutable_stopping()->set_max_tokens(max_tokens);
  request.mutable_stopping()->set_ignore_eos(true);
  return request;
}

bool WaitForIdle(v1::Admin::Stub& admin, double timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext context;
    v1::Load load;
    if (admin.GetLoad(&context, v1::GetLoadRequest(), &load).ok() && load.running() == 0 &&
        load.waiting() == 0 && load.kv_cache_usage() == 0.0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace specd::testing
