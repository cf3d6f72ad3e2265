// EngineCore: the engine thread and the only doors into it (DESIGN.md, "The data path").
//
//   any thread:    Submit(request) ──▶ inbox (bounded)      Abort(id) ──▶ abort queue
//   engine thread: drain inbox + aborts + deadlines → Scheduler::Schedule → ModelRunner::Launch
//                  → [Scheduler::ScheduleAhead → Launch] → Collect (logits → sampled tokens)
//                  → Scheduler::Update → RequestDelta → OutputSink
//
// Overlapped steps (EngineConfig::overlap_steps; not while the spec decoder may draft):
//
//   pass 1:  Schedule, Launch(n) ─ ScheduleAhead, Launch(n+1) ─ Collect(n) ─ Update(n)
//   pass 2:                        ScheduleAhead, Launch(n+2) ─ Collect(n+1) ─ Update(n+1)  ...
//
// Step n + 1 carries the same decoding requests, each fed the token step n samples for it, so the
// runner never waits for the host between them. Whenever ScheduleAhead cannot build the step
// (arrivals waiting, prefills, drafts, penalties, a full cache), nothing is launched ahead and the
// next pass starts with Schedule again: an arrival waits at most one extra step. A request that
// finishes while a step is in flight (stop token, abort, deadline) is dropped from that step, whose
// output for it is ignored. A step launched ahead that the runner refuses fails like any other
// step: its requests end with FinishReason::kError once the step before has been collected.
//
// The engine thread owns the Scheduler (and with it the KV cache manager) and the runner.
// Every submitted request gets exactly one final delta (a finish reason), whatever happens: stop,
// length, abort, deadline, runner error, Drain timeout or Stop. An idle engine sleeps on the
// inbox; with unfinished requests or a step in flight it keeps stepping, also through steps that
// schedule nothing. Stop collects a step in flight before the runner can go.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "engine/core/engine_config.h"
#include "engine/core/output_sink.h"
#include "engine/core/scheduler.h"
#include "engine/core/spec_decoder.h"
#include "engine/model/model_config.h"
#include "engine/runner/model_runner.h"

namespace specd {

// What a client asks for; Submit copies it into a Request.
struct EngineRequest {
  std::string request_id;  // unique among unfinished requests
  std::vector<int32_t> prompt_token_ids;
  SamplingParams sampling;
  int32_t priority = 0;    // lower runs first under the "priority" policy
  std::string qos_class;   // empty: the config's default class
  std::string cache_salt;  // separates prefix-cache namespaces
  std::optional<Clock::time_point> deadline;
  std::shared_ptr<OutputSink> sink;
  bool speculation = true;          // false: never draft for this request
  int32_t max_draft_tokens = 0;     // the request's cap on draft tokens per step; 0: the server's
};

#ifdef NDEBUG
inline constexpr bool kDebugBuild = false;
#else
inline constexpr bool kDebugBuild = true;
#endif

struct EngineStats {
  int64_t num_running = 0;
  int64_t num_waiting = 0;  // in the scheduler and the inbox
  double kv_usage = 0.0;
  int64_t prefix_queried_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t num_preemptions = 0;
  int64_t spec_verify_steps = 0;      // request-steps that verified drafts
  int64_t spec_drafted_tokens = 0;
  int64_t spec_accepted_tokens = 0;
  int64_t num_steps = 0;
  int64_t num_steps_ahead = 0;  // launched before the step before them was collected
  int64_t num_finished = 0;
  double last_step_ms = 0.0;
  Clock::time_point last_tick;  // the loop's last pass: liveness
};

class EngineCore {
 public:
  // `check_invariants`: verify scheduler and KV invariants after every step (on in debug
  // builds and in tests; a violation aborts through SPECD_CHECK).
  EngineCore(const EngineConfig& config, std::unique_ptr<ModelRunner> runner,
             const ModelConfig& model, bool check_invariants = kDebugBuild);

  // Turns speculative decoding on: after every step the decoder drafts for decoding requests.
  // Call before Start.
  void EnableSpeculation(std::unique_ptr<SpecDecoder> decoder);
  ~EngineCore();  // Stop()
  EngineCore(const EngineCore&) = delete;
  EngineCore& operator=(const EngineCore&) = delete;

  void Start();

  // Thread-safe. INVALID_ARGUMENT for a bad request (naming the field) or an id in flight,
  // RESOURCE_EXHAUSTED when max_queued_requests are waiting, UNAVAILABLE while draining or
  // stopped. On OK the sink will get exactly one final delta.
  Status Submit(EngineRequest request);

  // Thread-safe; the request ends within one step with `reason`. Unknown ids are ignored.
  void Abort(const std::string& request_id, FinishReason reason = FinishReason::kAbort);

  // Stops admitting; waits up to `timeout` for unfinished requests, then ends the rest with
  // FinishReason::kShutdown. Returns once none is left.
  void Drain(std::chrono::milliseconds timeout);

  // Aborts whatever is left and joins the engine thread. Idempotent.
  void Stop();

  EngineStats stats() const;
  size_t num_unfinished() const;
  bool IsInFlight(const std::string& request_id) const;

 private:
  void Loop();
  bool TakeWork(std::vector<std::unique_ptr<Request>>& arrivals,
                std::vector<std::pair<std::string, FinishReason>>& aborts);
  void Admit(std::vector<std::unique_ptr<Request>> arrivals);
  void Step();
  std::optional<StepPlan> LaunchedStep(Clock::time_point start);
  void WaitWhileBlocked();
  Status LaunchAhead(const StepPlan& plan);
  std::vector<RequestDelta> FailStep(const StepPlan& plan, const Status& error, Clock::time_point now);
  void EndStep(const std::vector<RequestDelta>& deltas, Clock::time_point start);
  std::optional<RequestDelta> FinishRequest(const std::string& request_id, FinishReason reason,
                                            const std::string& message, Clock::time_point now);
  void Deliver(const RequestDelta& delta);
  void FinishAll(FinishReason reason, const std::string& message);
  void PublishAndDeliver(const std::vector<RequestDelta>& deltas, std::optional<double> step_ms);
  void PublishStats(std::optional<double> step_ms);
  StatusOr<std::unique_ptr<Request>> MakeRequest(EngineRequest request);

  const EngineConfig config_;
  const ModelConfig model_;
  const bool check_invariants_;
  std::unique_ptr<ModelRunner> runner_;
  Scheduler scheduler_;  // engine thread only
  std::unique_ptr<SpecDecoder> spec_decoder_;  // engine thread only; null: no speculation
  // Engine thread only: the step launched ahead (ScheduleAhead) and not collected yet.
  std::optional<StepPlan> in_flight_;
  int64_t num_steps_ahead_ = 0;  // engine thread only; published in stats_
  std::unordered_map<std::string, std::shared_ptr<OutputSink>> sinks_;  // engine thread only

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;     // new work or stop, for the engine thread
  std::condition_variable finished_; // a request finished, for Drain
  std::deque<std::unique_ptr<Request>> inbox_;
  std::vector<std::pair<std::string, FinishReason>> aborts_;
  std::unordered_set<std::string> live_ids_;
  int64_t final_deliveries_in_flight_ = 0;
  uint64_t next_arrival_ = 0;
  std::mt19937_64 seed_source_{std::random_device{}()};
  bool draining_ = false;
  bool stop_requested_ = false;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace specd
