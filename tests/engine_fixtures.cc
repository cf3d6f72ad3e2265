#include "tests/engine_fixtures.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include "engine/runner/batch_validation.h"
#include "engine/runner/row_sampling.h"

namespace specd::testing {

void CollectingSink::OnDelta(const RequestDelta& delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  deltas_.push_back(delta);
  cv_.notify_all();
}

bool CollectingSink::WaitFinished(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] {
    return !deltas_.empty() && deltas_.back().finish_reason.has_value();
  });
}

std::vector<int32_t> CollectingSink::tokens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int32_t> tokens;
  for (const auto& delta : deltas_) {
    for (const auto& token : delta.tokens) tokens.push_back(token.token);
  }
  return tokens;
}

std::vector<RequestDelta> CollectingSink::deltas() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return deltas_;
}

int CollectingSink::num_finishes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int count = 0;
  for (const auto& delta : deltas_) count += delta.finish_reason.has_value() ? 1 : 0;
  return count;
}

std::optional<FinishReason> CollectingSink::finish_reason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return deltas_.empty() ? std::nullopt : deltas_.back().finish_reason;
}

std::string CollectingSink::error_message() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return deltas_.empty() ? "" : deltas_.back().error_message;
}

Status FakeRunner::Launch(const SchedulerOutput& batch) {
  num_fed_sequences_ += std::count_if(batch.sequences.begin(), batch.sequences.end(),
                                      [](const ScheduledSequence& seq) { return seq.fed_from_sequence >= 0; });
  const Status launched = steps_.Launch(batch, [this](const SchedulerOutput& fed) { return Run(fed); });
  if (launched.ok()) ++num_steps_in_flight_;
  return launched;
}

StatusOr<ModelOutput> FakeRunner::Collect() {
  StatusOr<ModelOutput> output = steps_.Collect();
  if (output.ok()) --num_steps_in_flight_;
  return output;
}

StatusOr<ModelOutput> FakeRunner::Run(const SchedulerOutput& batch) {
  ++num_executes_;
  SPECD_RETURN_IF_ERROR(ValidateBatch(batch, config_, shape_));
  if (fault) SPECD_RETURN_IF_ERROR(fault(batch));
  ModelOutput output;
  output.vocab_size = config_.vocab_size;
  for (const auto& seq : batch.sequences) {
    for (int32_t index : seq.logits_indices) {
      const uint64_t token = static_cast<uint64_t>(seq.token_ids[static_cast<size_t>(index)]);
      const uint64_t position = static_cast<uint64_t>(seq.start_position + index);
      for (int64_t v = 0; v < config_.vocab_size; ++v) {
        const uint64_t mix = (token * 2654435761u + position * 40503u + static_cast<uint64_t>(v) * 97u) % 1009u;
        output.logits.push_back(static_cast<float>(mix) / 100.0f);
      }
    }
  }
  SampleRequestedRows(batch, output);
  return output;
}

FakeEngine MakeFakeEngine(const EngineConfig& config, bool start) {
  auto runner = std::make_unique<FakeRunner>(
      FakeModelConfig(), KvCacheShape{config.kv_cache.num_blocks, config.kv_cache.block_size});
  FakeRunner* raw = runner.get();
  auto engine = std::make_unique<EngineCore>(config, std::move(runner), FakeModelConfig(),
                                             /*check_invariants=*/true);
  if (start) engine->Start();
  return {raw, std::move(engine)};
}

ModelConfig FakeModelConfig() {
  ModelConfig config;
  config.vocab_size = 64;
  config.max_position_embeddings = 512;
  config.eos_token_ids = {1};
  return config;
}

SamplingParams Greedy(int32_t max_tokens) {
  SamplingParams sampling;
  sampling.temperature = 0.0f;
  sampling.max_tokens = max_tokens;
  return sampling;
}

Submitted SubmitOk(EngineCore& engine, const std::string& id, std::vector<int32_t> prompt,
                   SamplingParams sampling, int32_t priority, const std::string& qos) {
  auto sink = std::make_shared<CollectingSink>();
  EngineRequest request{.request_id = id, .prompt_token_ids = std::move(prompt),
                        .sampling = std::move(sampling), .priority = priority, .qos_class = qos,
                        .cache_salt = "", .deadline = std::nullopt, .sink = sink};
  const Status status = engine.Submit(std::move(request));
  REQUIRE(status.ToString() == "OK");
  return {id, sink};
}

}  // namespace specd::testing
