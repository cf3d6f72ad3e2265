// Generation.Generate end to end through our C++ stub, on loopback: what a stream carries,
// every error row of the API, overload, cancellation, deadlines, slow readers, concurrency.
#include <atomic>
#include <cmath>
#include <future>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/server/test_server.h"

namespace specd {
namespace {

using testing::GreedyRequest;
using testing::RunStream;
using testing::StreamResult;

std::vector<int32_t> Tokenize(v1::Generation::Stub& stub, const std::string& text) {
  grpc::ClientContext context;
  v1::TokenizeRequest request;
  request.set_text(text);
  v1::TokenizeResponse response;
  REQUIRE(stub.Tokenize(&context, request, &response).ok());
  return {response.token_ids().begin(), response.token_ids().end()};
}

std::string Detokenize(v1::Generation::Stub& stub, const std::vector<int32_t>& ids) {
  grpc::ClientContext context;
  v1::DetokenizeRequest request;
  request.mutable_token_ids()->Assign(ids.begin(), ids.end());
  v1::DetokenizeResponse response;
  REQUIRE(stub.Detokenize(&context, request, &response).ok());
  return response.text();
}

}  // namespace

TEST_CASE("server: a stream carries prompt info, token deltas and a finish with usage", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_stream"));
  const StreamResult result = RunStream(*test.generation, GreedyRequest("hello world", 12));
  REQUIRE(result.status.ok());
  REQUIRE(result.messages.size() >= 3);
  const auto& info = result.messages.front();
  REQUIRE(info.has_prompt_info());
  CHECK(info.prompt_info().prompt_tokens() == Tokenize(*test.generation, "hello world").size());
  CHECK(!info.request_id().empty());
  REQUIRE(result.has_finish());
  const auto& finish = result.messages.back().finish();
  CHECK(finish.reason() == v1::FINISH_REASON_LENGTH);
  CHECK(finish.usage().completion_tokens() == 12);
  CHECK(result.token_ids.size() == 12);
  CHECK(finish.usage().prompt_tokens() == info.prompt_info().prompt_tokens());
  CHECK(finish.timings().total_seconds() >= finish.timings().time_to_first_token_seconds());
  CHECK(result.text == Detokenize(*test.generation, result.token_ids));
  for (const auto& message : result.messages) CHECK(message.request_id() == info.request_id());

  // A long prompt twice: the same tokens, and the second time its full blocks (16 tokens each,
  // the last prompt token always computed) come from the prefix cache.
  const std::string long_prompt(40, 'a');
  const StreamResult cold = RunStream(*test.generation, GreedyRequest(long_prompt, 6));
  const StreamResult warm = RunStream(*test.generation, GreedyRequest(long_prompt, 6));
  CHECK(warm.token_ids == cold.token_ids);
  CHECK(cold.messages.front().prompt_info().cached_tokens() == 0);
  const uint32_t prompt_tokens = warm.messages.front().prompt_info().prompt_tokens();
  CHECK(warm.messages.front().prompt_info().cached_tokens() == (prompt_tokens - 1) / 16 * 16);
  CHECK(warm.messages.back().finish().usage().cached_tokens() == warm.messages.front().prompt_info().cached_tokens());
  CHECK(testing::WaitForIdle(*test.admin));
}

TEST_CASE("server: every bad request is INVALID_ARGUMENT naming the field", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_errors"));
  struct Row {
    std::string name;
    std::function<void(v1::GenerateRequest&)> edit;
    std::string message;
  };
  const std::vector<Row> rows = {
      {"no prompt", [](auto& r) { r.clear_prompt(); }, "prompt: set text or token_ids"},
      {"empty text", [](auto& r) { r.set_text(""); }, "prompt: text is empty"},
      {"empty ids", [](auto& r) { r.mutable_token_ids(); }, "prompt: token_ids is empty"},
      {"id out of vocabulary", [](auto& r) { r.mutable_token_ids()->add_ids(512); },
       "prompt: token_ids[0] = 512 is outside the vocabulary of 512"},
      {"beyond the context", [](auto& r) { r.mutable_stopping()->set_max_tokens(4096); },
       "exceeds the context length 4096"},
      {"negative temperature", [](auto& r) { r.mutable_sampling()->set_temperature(-1); },
       "temperature must be >= 0, got -1"},
      {"NaN temperature", [](auto& r) { r.mutable_sampling()->set_temperature(std::nanf("")); },
       "temperature must be >= 0, got nan"},
      {"top_p 0", [](auto& r) { r.mutable_sampling()->set_top_p(0); }, "top_p must be in (0, 1], got 0"},
      {"top_p 1.5", [](auto& r) { r.mutable_sampling()->set_top_p(1.5); }, "top_p must be in (0, 1], got 1.5"},
      {"negative top_k", [](auto& r) { r.mutable_sampling()->set_top_k(-1); }, "top_k must be >= 0"},
      {"min_p 2", [](auto& r) { r.mutable_sampling()->set_min_p(2); }, "min_p must be in [0, 1], got 2"},
      {"21 logprobs", [](auto& r) { r.mutable_response()->set_top_logprobs(21); },
       "top_logprobs must be in [0, 20], got 21"},
      {"17 stop strings", [](auto& r) { for (int i = 0; i < 17; ++i) r.mutable_stopping()->add_stop("s" + std::to_string(i)); },
       "stop must be at most 16 strings"},
      {"long stop string", [](auto& r) { r.mutable_stopping()->add_stop(std::string(300, 'x')); },
       "stop[0] must be at most 256 bytes, got 300"},
      {"max_tokens 0", [](auto& r) { r.mutable_stopping()->set_max_tokens(0); }, "max_tokens must be >= 1, got 0"},
      {"min_tokens above max", [](auto& r) { r.mutable_stopping()->set_min_tokens(20); }, "min_tokens must be in [0, max_tokens]"},
      {"penalty range", [](auto& r) { r.mutable_sampling()->set_presence_penalty(3); }, "presence_penalty must be in [-2, 2], got 3"},
      {"logit bias id", [](auto& r) { (*r.mutable_sampling()->mutable_logit_bias())[9999] = 1; }, "logit_bias token id must be in [0, 512)"},
      {"stop token id", [](auto& r) { r.mutable_stopping()->add_stop_token_ids(-3); }, "stop_token_ids[0] must be in [0, 512)"},
      {"unknown QoS class", [](auto& r) { r.set_qos_class("gold"); }, "qos_class 'gold' is not one of the server's QoS classes"},
      {"stop without text", [](auto& r) { r.mutable_stopping()->add_stop("x"); r.mutable_response()->set_detokenize(false); },
       "stop strings need response.detokenize = true"},
      {"draft cap", [](auto& r) { r.mutable_speculation()->set_max_draft_tokens(99); },
       "speculation.max_draft_tokens must be in [1, 16], got 99"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    v1::GenerateRequest request = GreedyRequest("hello", 8);
    row.edit(request);
    const StreamResult result = RunStream(*test.generation, request);
    CHECK(result.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(result.status.error_message(), Catch::Contains(row.message));
    CHECK(result.messages.empty());
  }
}

TEST_CASE("server: a duplicate request id in flight is refused", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_duplicate"));
  v1::GenerateRequest request = GreedyRequest("hello", 3000);
  request.set_request_id("same");
  grpc::ClientContext context;
  auto reader = test.generation->Generate(&context, request);
  v1::GenerateResponse first;
  REQUIRE(reader->Read(&first));  // "same" is in flight now
  const StreamResult second = RunStream(*test.generation, request);
  CHECK(second.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(second.status.error_message() == "request_id 'same' is already in flight");
  context.TryCancel();
  while (reader->Read(&first)) {}
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(testing::WaitForIdle(*test.admin));
}

TEST_CASE("server: a full queue answers RESOURCE_EXHAUSTED while running streams go on", "[cpu]") {
  ServerConfig config = testing::TinyServerConfig("server_full");
  config.engine.max_num_seqs = 1;
  config.engine.max_queued_requests = 2;
  auto test = testing::StartServer(config);
  const auto wait_for_load = [&](uint32_t running, uint32_t waiting) {
    for (int tries = 0; tries < 1000; ++tries) {
      grpc::ClientContext context;
      v1::Load load;
      REQUIRE(test.admin->GetLoad(&context, v1::GetLoadRequest(), &load).ok());
      if (load.running() == running && load.waiting() == waiting) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL("the load never reached " << running << " running, " << waiting << " waiting");
  };
  const auto long_stream = [&test] { return RunStream(*test.generation, GreedyRequest("long", 3000)); };
  std::vector<std::future<StreamResult>> streams;
  streams.push_back(std::async(std::launch::async, long_stream));
  wait_for_load(1, 0);
  streams.push_back(std::async(std::launch::async, long_stream));
  streams.push_back(std::async(std::launch::async, long_stream));
  wait_for_load(1, 2);
  const StreamResult refused = RunStream(*test.generation, GreedyRequest("one more", 4));
  CHECK(refused.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(refused.status.error_message() == "the waiting queue is full (2 requests)");
  for (auto& stream : streams) {
    const StreamResult result = stream.get();
    CHECK(result.status.ok());
    CHECK(result.token_ids.size() == 3000);
  }
}

TEST_CASE("server: cancel, deadline and a failed client all free the KV cache", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_cancel"));
  SECTION("cancel mid-stream") {
    grpc::ClientContext context;
    auto reader = test.generation->Generate(&context, GreedyRequest("cancel me", 3000));
    v1::GenerateResponse message;
    for (int i = 0; i < 4; ++i) REQUIRE(reader->Read(&message));
    context.TryCancel();
    while (reader->Read(&message)) {}
    CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  }
  SECTION("client deadline") {
    const StreamResult result = RunStream(*test.generation, GreedyRequest("too slow", 3000), 0.05);
    CHECK(result.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  SECTION("operator abort") {
    v1::GenerateRequest request = GreedyRequest("abort me", 3000);
    request.set_request_id("victim");
    grpc::ClientContext context;
    auto reader = test.generation->Generate(&context, request);
    v1::GenerateResponse message;
    REQUIRE(reader->Read(&message));
    grpc::ClientContext admin_context;
    v1::AbortRequest abort;
    abort.set_request_id("victim");
    v1::AbortResponse aborted;
    REQUIRE(test.admin->Abort(&admin_context, abort, &aborted).ok());
    while (reader->Read(&message)) {}
    CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
    grpc::ClientContext again;
    CHECK(test.admin->Abort(&again, abort, &aborted).error_code() == grpc::StatusCode::NOT_FOUND);
  }
  CHECK(testing::WaitForIdle(*test.admin));
}

TEST_CASE("server: a reader that never reads stalls neither the engine nor other streams", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_slow_reader"));
  grpc::ClientContext stalled_context;
  auto stalled = test.generation->Generate(&stalled_context, GreedyRequest("never read", 3000));
  const StreamResult other = RunStream(*test.generation, GreedyRequest("fast reader", 200));
  CHECK(other.status.ok());
  CHECK(other.token_ids.size() == 200);
  stalled_context.TryCancel();
  v1::GenerateResponse message;
  while (stalled->Read(&message)) {}
  stalled->Finish();
  CHECK(testing::WaitForIdle(*test.admin));
}

TEST_CASE("server: 64 concurrent streams with random cancellation lose nothing", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_concurrent"));
  std::mt19937 rng(64);
  std::vector<v1::GenerateRequest> requests;
  for (int i = 0; i < 64; ++i) {
    v1::GenerateRequest request = GreedyRequest("stream " + std::to_string(i) + std::string(static_cast<size_t>(i % 7), '!'), 8 + i % 24);
    if (i % 3 == 0) {  // seeded sampling must be batch-independent too
      request.mutable_sampling()->set_temperature(0.9f);
      request.mutable_sampling()->set_seed(static_cast<uint64_t>(i));
    }
    requests.push_back(request);
  }
  std::vector<std::vector<int32_t>> alone;
  for (const auto& request : requests) alone.push_back(RunStream(*test.generation, request).token_ids);

  std::vector<bool> cancel(64);
  for (auto&& c : cancel) c = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
  std::vector<std::future<StreamResult>> streams;
  for (int i = 0; i < 64; ++i) {
    streams.push_back(std::async(std::launch::async, [&, i] {
      if (!cancel[static_cast<size_t>(i)]) return RunStream(*test.generation, requests[static_cast<size_t>(i)]);
      grpc::ClientContext context;
      auto reader = test.generation->Generate(&context, requests[static_cast<size_t>(i)]);
      v1::GenerateResponse message;
      reader->Read(&message);
      context.TryCancel();
      while (reader->Read(&message)) {}
      StreamResult result;
      result.status = reader->Finish();
      return result;
    }));
  }
  int completed = 0;
  for (int i = 0; i < 64; ++i) {
    const StreamResult result = streams[static_cast<size_t>(i)].get();
    CAPTURE(i);
    if (cancel[static_cast<size_t>(i)]) {
      CHECK((result.status.error_code() == grpc::StatusCode::CANCELLED || result.status.ok()));
      continue;
    }
    CHECK(result.status.ok());
    CHECK(result.token_ids == alone[static_cast<size_t>(i)]);
    ++completed;
  }
  CHECK(completed > 32);
  CHECK(testing::WaitForIdle(*test.admin));
}

TEST_CASE("server: draining refuses new requests and lets running streams finish", "[cpu]") {
  auto test = testing::StartServer(testing::TinyServerConfig("server_drain"));
  grpc::ClientContext context;
  auto reader = test.generation->Generate(&context, GreedyRequest("finish me", 1000));
  v1::GenerateResponse message;
  REQUIRE(reader->Read(&message));
  auto shutdown = std::async(std::launch::async, [&test] { test.server->Shutdown(); });
  StreamResult refused;
  for (int tries = 0; tries < 200; ++tries) {  // until the drain has begun
    refused = RunStream(*test.generation, GreedyRequest("too late", 4));
    if (!refused.status.ok()) break;
  }
  CHECK(refused.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  std::vector<int32_t> ids;
  bool finished = false;
  while (reader->Read(&message)) {
    if (message.has_delta()) ids.insert(ids.end(), message.delta().token_ids().begin(), message.delta().token_ids().end());
    finished = message.has_finish();
  }
  CHECK(reader->Finish().ok());
  CHECK(finished);
  CHECK(ids.size() == 1000);
  shutdown.get();
}

}  // namespace specd
