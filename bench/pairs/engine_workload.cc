#include "bench/pairs/engine_workload.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace specd::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Collects one request's tokens until its final delta.
class CollectingSink : public OutputSink {
 public:
  void OnDelta(const RequestDelta& delta) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const TokenOutput& token : delta.tokens) tokens_.push_back(token.token);
    if (delta.finish_reason.has_value()) {
      finish_ = delta.finish_reason;
      error_ = delta.error_message;
    }
    cv_.notify_all();
  }

  // The tokens, once the request ended by its length; otherwise how it ended.
  StatusOr<std::vector<int32_t>> Wait(const std::string& id) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return finish_.has_value(); });
    if (*finish_ != FinishReason::kLength) {
      return InternalError("request " + id + " ended with " + FinishReasonName(*finish_) + " " + error_);
    }
    return tokens_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int32_t> tokens_;
  std::optional<FinishReason> finish_;
  std::string error_;
};

}  // namespace

StatusOr<std::vector<std::vector<int32_t>>> EngineWorkload::Group(EngineCore& engine, size_t first, size_t count) {
  std::vector<std::pair<std::string, std::shared_ptr<CollectingSink>>> submitted;
  for (size_t i = first; i < first + count; ++i) {
    SamplingParams sampling;
    sampling.temperature = 0.0f;
    sampling.max_tokens = jobs_[i].max_tokens;
    sampling.ignore_eos = true;
    auto sink = std::make_shared<CollectingSink>();
    const std::string id = "harness-" + std::to_string(next_id_++);
    SPECD_RETURN_IF_ERROR(engine.Submit({.request_id = id, .prompt_token_ids = jobs_[i].prompt, .sampling = sampling,
                                         .priority = 0, .qos_class = "", .cache_salt = "pass-" + std::to_string(pass_),
                                         .deadline = std::nullopt, .sink = sink}));
    submitted.emplace_back(id, sink);
  }
  std::vector<std::vector<int32_t>> tokens;
  for (auto& [id, sink] : submitted) {
    SPECD_ASSIGN_OR_RETURN(auto request_tokens, sink->Wait(id));
    tokens.push_back(std::move(request_tokens));
  }
  return tokens;
}

StatusOr<std::vector<std::vector<int32_t>>> EngineWorkload::Pass(EngineCore& engine) {
  ++pass_;
  const size_t group = batch_ > 0 ? static_cast<size_t>(batch_) : jobs_.size();
  std::vector<std::vector<int32_t>> tokens;
  for (size_t first = 0; first < jobs_.size(); first += group) {
    SPECD_ASSIGN_OR_RETURN(auto group_tokens, Group(engine, first, std::min(group, jobs_.size() - first)));
    for (auto& request_tokens : group_tokens) tokens.push_back(std::move(request_tokens));
  }
  return tokens;
}

StatusOr<VariantRun> EngineWorkload::Time(EngineCore& engine, const RunSettings& settings) {
  SPECD_RETURN_IF_ERROR(Pass(engine).status());
  VariantRun run;
  std::vector<std::vector<int32_t>> tokens;
  for (int i = 0; i < settings.repeats; ++i) {
    const Clock::time_point start = Clock::now();
    SPECD_ASSIGN_OR_RETURN(tokens, Pass(engine));
    run.samples_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  int64_t generated = 0;
  for (const auto& request_tokens : tokens) {
    generated += static_cast<int64_t>(request_tokens.size());
    run.outputs.token_ids.insert(run.outputs.token_ids.end(), request_tokens.begin(), request_tokens.end());
  }
  run.tokens_per_iteration = static_cast<double>(generated);
  return run;
}

}  // namespace specd::bench
