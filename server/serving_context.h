// What every RPC handler of the server shares: the engine, the model's tokenizer and config,
// the output workers and the observer of finished requests. Built once by SpecdServer; all of
// it outlives the gRPC server. Each member is safe to use from any gRPC thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/core/engine_core.h"
#include "engine/model/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/request_observer.h"
#include "server/worker_pool.h"

namespace specd {

struct ServingContext {
  // Set once everything below is in place (false while the model loads, and again once the
  // server drains).
  std::atomic<bool> accepting{false};
  std::atomic<bool> draining{false};
  EngineCore* engine = nullptr;
  const Tokenizer* tokenizer = nullptr;
  const ModelConfig* model = nullptr;
  WorkerPool* workers = nullptr;
  RequestObserver* observer = nullptr;
  std::atomic<uint64_t> next_request_number{0};

  bool ready() const { return accepting.load() && !draining.load(); }
  Status NotReadyStatus() const {
    return UnavailableError(draining ? "the server is shutting down" : "the model is loading");
  }

  // For requests that arrive without an id: "specd-<per-process random>-<n>", so that it does not
  // collide with ids clients choose (such as "req-0").
  std::string NewRequestId() {
    return "specd-" + instance_tag + "-" + std::to_string(next_request_number++);
  }
  std::string instance_tag;    // random hex, set at start-up
  std::string default_qos_class;  // the name a request without a class runs under
  std::string draft_model_path;   // the speculative-decoding draft model, if any
};

}  // namespace specd
