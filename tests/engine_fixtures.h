// Engine test helpers: a sink that records deltas, a fast fake runner, and a way to run a set of
// requests through an EngineCore to completion.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/engine_core.h"
#include "engine/runner/synchronous_steps.h"

namespace specd::testing {

// Records every delta of one request; thread-safe.
class CollectingSink : public OutputSink {
 public:
  void OnDelta(const RequestDelta& delta) override;

  // Waits (up to `timeout`) for the final delta; false on timeout.
  bool WaitFinished(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::vector<int32_t> tokens() const;
  std::vector<RequestDelta> deltas() const;
  int num_finishes() const;
  std::optional<FinishReason> finish_reason() const;
  std::string error_message() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<RequestDelta> deltas_;
};

// A runner without a model: the next-token logits of a position are a pure function of the
// token at that position and the position, so recomputation gives the same tokens. It checks
// each batch like a real runner would (ValidateBatch) and can be told to fail.
class FakeRunner : public ModelRunner {
 public:
  FakeRunner(const ModelConfig& config, KvCacheShape shape) : config_(config), shape_(shape) {}
  Status Launch(const SchedulerOutput& batch) override;
  StatusOr<ModelOutput> Collect() override;
  KvCacheShape kv_cache_shape() const override { return shape_; }

  // When set, a step fails with this status while the predicate holds for the batch.
  std::function<Status(const SchedulerOutput&)> fault;
  int64_t num_executes() const { return num_executes_; }
  // Sequences of launched batches fed from the step before (fed_from_sequence >= 0); any thread.
  int64_t num_fed_sequences() const { return num_fed_sequences_.load(); }
  // Steps launched and not collected; any thread.
  int64_t num_steps_in_flight() const { return num_steps_in_flight_.load(); }

 private:
  StatusOr<ModelOutput> Run(const SchedulerOutput& batch);

  SynchronousSteps steps_;
  ModelConfig config_;
  KvCacheShape shape_;
  int64_t num_executes_ = 0;
  std::atomic<int64_t> num_fed_sequences_{0};
  std::atomic<int64_t> num_steps_in_flight_{0};
};

// An EngineCore over a FakeRunner shaped like the config's KV cache, checking invariants every step.
struct FakeEngine {
  FakeRunner* runner;  // owned by the engine
  std::unique_ptr<EngineCore> engine;
};
FakeEngine MakeFakeEngine(const EngineConfig& config, bool start = true);

// A model config for FakeRunner: vocab 64, context 512, eos id 1.
ModelConfig FakeModelConfig();

// Greedy sampling with max_tokens.
SamplingParams Greedy(int32_t max_tokens);

struct Submitted {
  std::string id;
  std::shared_ptr<CollectingSink> sink;
};

// Submits a request (REQUIREs OK) and returns its sink.
Submitted SubmitOk(EngineCore& engine, const std::string& id, std::vector<int32_t> prompt,
                   SamplingParams sampling, int32_t priority = 0, const std::string& qos = "");

}  // namespace specd::testing
