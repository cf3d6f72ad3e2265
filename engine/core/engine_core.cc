#include "engine/core/engine_core.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "engine/base/logging.h"

namespace specd {
namespace {

// How long a step that scheduled nothing waits for new work before trying again.
constexpr auto kBlockedStepWait = std::chrono::milliseconds(1);
// How often an idle engine wakes to show it is alive.
constexpr auto kIdleTick = std::chrono::milliseconds(500);

// The engine config with the KV cache freeing blocks that fell out of the model's sliding window.
EngineConfig WithModelWindow(EngineConfig config, const ModelConfig& model) {
  if (model.sliding_window) {
    config.kv_cache.sliding_window = static_cast<int32_t>(std::min<int64_t>(*model.sliding_window, INT32_MAX));
  }
  return config;
}

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

EngineCore::EngineCore(const EngineConfig& config, std::unique_ptr<ModelRunner> runner,
                       const ModelConfig& model, bool check_invariants)
    : config_(config),
      model_(model),
      check_invariants_(check_invariants),
      runner_(std::move(runner)),
      scheduler_(WithModelWindow(config, model), model.max_position_embeddings, model.eos_token_ids) {
  const KvCacheShape shape = runner_->kv_cache_shape();
  SPECD_CHECK(shape.num_blocks >= config.kv_cache.num_blocks && shape.block_size == config.kv_cache.block_size)
      << "the runner's KV cache (" << shape.num_blocks << " blocks of " << shape.block_size
      << ") does not match the engine config";
}

EngineCore::~EngineCore() { Stop(); }

void EngineCore::EnableSpeculation(std::unique_ptr<SpecDecoder> decoder) {
  std::lock_guard<std::mutex> lock(mutex_);
  SPECD_CHECK(!thread_.joinable()) << "EnableSpeculation after Start";
  // A draft model reads the same block tables, maybe without the target's window (or behind it).
  scheduler_.KeepBlocksOutsideWindow();
  spec_decoder_ = std::move(decoder);
}

void EngineCore::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  SPECD_CHECK(!thread_.joinable()) << "EngineCore started twice";
  stats_.last_tick = Clock::now();
  thread_ = std::thread([this] { Loop(); });
}

StatusOr<std::unique_ptr<Request>> EngineCore::MakeRequest(EngineRequest in) {
  if (in.request_id.empty()) return InvalidArgumentError("request_id is empty");
  if (in.sink == nullptr) return InvalidArgumentError("request " + in.request_id + " has no output sink");
  SPECD_RETURN_IF_ERROR(in.sampling.Validate(model_.vocab_size));
  for (int32_t token : in.prompt_token_ids) {
    if (token < 0 || token >= model_.vocab_size) {
      return InvalidArgumentError("prompt token id " + std::to_string(token) +
                                  " is outside the vocabulary of " + std::to_string(model_.vocab_size));
    }
  }
  auto request = std::make_unique<Request>();
  request->qos = config_.FindQosClass(in.qos_class.empty() ? config_.default_qos_class : in.qos_class);
  if (request->qos == nullptr) {
    return InvalidArgumentError("qos_class '" + in.qos_class + "' is not one of the server's QoS classes");
  }
  request->request_id = std::move(in.request_id);
  request->prompt_token_ids = std::move(in.prompt_token_ids);
  request->all_token_ids = request->prompt_token_ids;
  request->sampling = std::move(in.sampling);
  request->priority = in.priority;
  request->cache_salt = std::move(in.cache_salt);
  request->deadline = in.deadline;
  request->sink = std::move(in.sink);
  request->spec_enabled = in.speculation;
  request->spec_max_draft_tokens = in.max_draft_tokens;
  request->timings.arrival = Clock::now();
  SPECD_RETURN_IF_ERROR(scheduler_.CheckFits(*request));  // reads immutable configuration only
  return request;
}

Status EngineCore::Submit(EngineRequest in) {
  SPECD_ASSIGN_OR_RETURN(std::unique_ptr<Request> request, MakeRequest(std::move(in)));
  std::lock_guard<std::mutex> lock(mutex_);
  if (draining_ || stop_requested_) return UnavailableError("the engine is draining");
  if (live_ids_.count(request->request_id) > 0) {
    return InvalidArgumentError("request_id '" + request->request_id + "' is already in flight");
  }
  if (static_cast<int64_t>(inbox_.size()) + stats_.num_waiting >= config_.max_queued_requests) {
    return ResourceExhaustedError("the waiting queue is full (" +
                                  std::to_string(config_.max_queued_requests) + " requests)");
  }
  request->arrival_index = next_arrival_++;
  request->seed = request->sampling.seed ? *request->sampling.seed : seed_source_();
  live_ids_.insert(request->request_id);
  inbox_.push_back(std::move(request));
  wake_.notify_one();
  return OkStatus();
}

void EngineCore::Abort(const std::string& request_id, FinishReason reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_ids_.count(request_id) == 0) return;
  aborts_.emplace_back(request_id, reason);
  wake_.notify_one();
}

void EngineCore::Drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  draining_ = true;
  const auto all_done = [this] { return live_ids_.empty() && final_deliveries_in_flight_ == 0; };
  if (!finished_.wait_for(lock, timeout, all_done)) {
    GetLogger("engine")->warn("drain timeout: aborting {} unfinished requests", live_ids_.size());
    for (const auto& id : live_ids_) aborts_.emplace_back(id, FinishReason::kShutdown);
    wake_.notify_one();
    finished_.wait(lock, all_done);
  }
}

void EngineCore::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

EngineStats EngineCore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

bool EngineCore::IsInFlight(const std::string& request_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_ids_.count(request_id) > 0;
}

size_t EngineCore::num_unfinished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_ids_.size();
}

// Waits for work when idle; returns false when the engine must stop.
bool EngineCore::TakeWork(std::vector<std::unique_ptr<Request>>& arrivals,
                          std::vector<std::pair<std::string, FinishReason>>& aborts) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto has_work = [this] { return !inbox_.empty() || !aborts_.empty() || stop_requested_; };
  if (scheduler_.empty() && !in_flight_) {
    // Timed, so that last_tick (liveness) keeps advancing while idle.
    wake_.wait_for(lock, kIdleTick, has_work);
  }
  stats_.last_tick = Clock::now();
  stats_.num_waiting += static_cast<int64_t>(inbox_.size());  // they wait in the scheduler now
  for (auto& request : inbox_) arrivals.push_back(std::move(request));
  inbox_.clear();
  aborts.swap(aborts_);
  return !stop_requested_;
}

void EngineCore::Loop() {
  while (true) {
    std::vector<std::unique_ptr<Request>> arrivals;
    std::vector<std::pair<std::string, FinishReason>> aborts;
    const bool keep_running = TakeWork(arrivals, aborts);
    Admit(std::move(arrivals));
    const Clock::time_point now = Clock::now();
    std::vector<RequestDelta> deltas;
    for (const auto& [id, reason] : aborts) {
      if (auto delta = FinishRequest(id, reason, "", now)) deltas.push_back(std::move(*delta));
    }
    for (const auto& id : scheduler_.ExpiredRequests(now)) {
      if (auto delta = FinishRequest(id, FinishReason::kDeadline, "deadline exceeded", now)) {
        deltas.push_back(std::move(*delta));
      }
    }
    if (!deltas.empty()) PublishAndDeliver(deltas, std::nullopt);
    if (!keep_running) {
      FinishAll(FinishReason::kShutdown, "the engine stopped");
      return;
    }
    // A step in flight is collected even when all its requests are gone.
    if (!scheduler_.empty() || in_flight_) Step();
  }
}

void EngineCore::Admit(std::vector<std::unique_ptr<Request>> arrivals) {
  for (auto& request : arrivals) {
    sinks_[request->request_id] = request->sink;
    scheduler_.AddRequest(std::move(request));
  }
}

// Collects one step (launching it first unless it is in flight already) and updates the requests
// from its output. Before collecting, it launches the step after it when the scheduler can build
// that one ahead, so the runner never waits for the host between them.
void EngineCore::Step() {
  const Clock::time_point start = Clock::now();
  std::optional<StepPlan> plan = LaunchedStep(start);
  if (!plan) return;
  const Status ahead_launched = LaunchAhead(*plan);
  const StatusOr<ModelOutput> output = runner_->Collect();
  const Clock::time_point now = Clock::now();
  std::vector<RequestDelta> deltas;
  if (output.ok()) {
    deltas = scheduler_.Update(*plan, *output, now, in_flight_ ? &*in_flight_ : nullptr);
    // Drafts would continue the tokens known now, before the step ahead's token.
    if (spec_decoder_ && !in_flight_) spec_decoder_->ProposeDrafts(scheduler_);
  } else {
    deltas = FailStep(*plan, output.status(), now);
  }
  if (!ahead_launched.ok()) {
    // The step ahead did not run: its requests end as those of any failed step, after the step
    // before delivered their tokens (or finished them).
    const StepPlan failed = std::move(*in_flight_);
    in_flight_.reset();
    const std::vector<RequestDelta> failed_deltas = FailStep(failed, ahead_launched, now);
    deltas.insert(deltas.end(), failed_deltas.begin(), failed_deltas.end());
  }
  EndStep(deltas, start);
}

// The step to collect now: the one in flight, or a new one, launched. nullopt when there is none:
// nobody could be scheduled (after a short wait), or the runner refused the new step (its
// requests are finished).
std::optional<StepPlan> EngineCore::LaunchedStep(Clock::time_point start) {
  if (in_flight_) return std::exchange(in_flight_, std::nullopt);
  StepPlan plan = scheduler_.Schedule(start);
  if (plan.empty()) {
    WaitWhileBlocked();
    return std::nullopt;
  }
  if (const Status launched = runner_->Launch(plan.batch); !launched.ok()) {
    EndStep(FailStep(plan, launched, Clock::now()), start);
    return std::nullopt;
  }
  return plan;
}

// Every unfinished request is blocked this step (on KV space, say): waits briefly for arrivals or
// aborts instead of spinning, then the loop tries again.
void EngineCore::WaitWhileBlocked() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, kBlockedStepWait, [this] { return !inbox_.empty() || !aborts_.empty() || stop_requested_; });
}

// Builds the step after `plan` (launched, not collected) ahead into in_flight_ and launches it,
// when the scheduler can. Drafts need the verified tokens first, so no step runs ahead while the
// spec decoder may draft (Step then proposes no drafts until one is collected without a step
// ahead). Returns the runner's refusal, with the refused step left in in_flight_ for Step to fail
// once `plan` is updated.
Status EngineCore::LaunchAhead(const StepPlan& plan) {
  if (!config_.overlap_steps || (spec_decoder_ && spec_decoder_->MayDraft(scheduler_))) return OkStatus();
  StepPlan ahead = scheduler_.ScheduleAhead(plan);
  if (ahead.empty()) return OkStatus();
  in_flight_ = std::move(ahead);
  ++num_steps_ahead_;
  return runner_->Launch(in_flight_->batch);
}

// Ends the requests of a step the runner could not run with kError and its message.
std::vector<RequestDelta> EngineCore::FailStep(const StepPlan& plan, const Status& error, Clock::time_point now) {
  std::vector<std::string> ids;
  for (const Request* request : plan.requests) {
    if (request != nullptr) ids.push_back(request->request_id);
  }
  GetLogger("engine")->error("step failed, ending its {} requests: {}", ids.size(), error.ToString());
  std::vector<RequestDelta> deltas;
  for (const auto& id : ids) {
    if (auto delta = FinishRequest(id, FinishReason::kError, error.message(), now)) deltas.push_back(std::move(*delta));
  }
  return deltas;
}

void EngineCore::EndStep(const std::vector<RequestDelta>& deltas, Clock::time_point start) {
  if (check_invariants_) {
    const Status invariants = scheduler_.CheckInvariants();
    SPECD_CHECK(invariants.ok()) << invariants.ToString();
  }
  PublishAndDeliver(deltas, MillisecondsSince(start));
}

// Scheduler::Finish for a request that may be part of the step in flight: the step forgets it
// first (its output for the request is ignored when collected).
std::optional<RequestDelta> EngineCore::FinishRequest(const std::string& request_id, FinishReason reason,
                                                      const std::string& message, Clock::time_point now) {
  if (in_flight_) {
    if (const Request* request = scheduler_.Find(request_id)) in_flight_->Drop(request);
  }
  return scheduler_.Finish(request_id, reason, message, now);
}

// Stats first, so that whoever hears of a delta sees stats that include its step.
void EngineCore::PublishAndDeliver(const std::vector<RequestDelta>& deltas,
                                   std::optional<double> step_ms) {
  PublishStats(step_ms);
  for (const RequestDelta& delta : deltas) Deliver(delta);
}

void EngineCore::Deliver(const RequestDelta& delta) {
  const auto it = sinks_.find(delta.request_id);
  SPECD_CHECK(it != sinks_.end()) << "delta for unknown request " << delta.request_id;
  const std::shared_ptr<OutputSink> sink = it->second;
  if (!delta.finish_reason) {
    sink->OnDelta(delta);
    return;
  }
  // The id is free again before the client hears of the finish, so it can be reused at once;
  // Drain still waits until the final delta is out.
  sinks_.erase(it);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live_ids_.erase(delta.request_id);
    ++final_deliveries_in_flight_;
  }
  sink->OnDelta(delta);
  std::lock_guard<std::mutex> lock(mutex_);
  --final_deliveries_in_flight_;
  ++stats_.num_finished;
  finished_.notify_all();
}

void EngineCore::FinishAll(FinishReason reason, const std::string& message) {
  // Requests submitted after the loop's last inbox drain are ended too.
  std::vector<std::unique_ptr<Request>> late;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& request : inbox_) late.push_back(std::move(request));
    inbox_.clear();
  }
  Admit(std::move(late));
  if (in_flight_) {
    // No step may stay launched on a runner about to be destroyed; its output is of no use now.
    [[maybe_unused]] const StatusOr<ModelOutput> ignored = runner_->Collect();
    in_flight_.reset();
  }
  const Clock::time_point now = Clock::now();
  std::vector<RequestDelta> deltas;
  for (const auto& id : scheduler_.RequestIds()) {
    if (auto delta = FinishRequest(id, reason, message, now)) deltas.push_back(std::move(*delta));
  }
  PublishAndDeliver(deltas, std::nullopt);
}

void EngineCore::PublishStats(std::optional<double> step_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.num_running = static_cast<int64_t>(scheduler_.num_running());
  stats_.num_waiting = static_cast<int64_t>(scheduler_.num_waiting());
  stats_.kv_usage = scheduler_.kv_cache().Usage();
  stats_.prefix_queried_tokens = scheduler_.kv_cache().stats().queried_tokens;
  stats_.prefix_hit_tokens = scheduler_.kv_cache().stats().hit_tokens;
  stats_.num_preemptions = scheduler_.stats().num_preemptions;
  stats_.spec_verify_steps = scheduler_.stats().num_verify_steps;
  stats_.spec_drafted_tokens = scheduler_.stats().num_drafted_tokens;
  stats_.spec_accepted_tokens = scheduler_.stats().num_accepted_tokens;
  stats_.num_steps_ahead = num_steps_ahead_;
  if (step_ms) {
    stats_.last_step_ms = *step_ms;
    ++stats_.num_steps;
  }
}

}  // namespace specd
