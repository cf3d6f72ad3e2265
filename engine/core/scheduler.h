// Scheduler: the V1 rule over running and waiting requests. Engine thread only.
//
// Each step closes every request's gap (num_tokens - num_computed_tokens, plus draft tokens)
// under a token budget, running requests first, then waiting ones in order, so prompt chunks,
// decodes and (later) verifications share a step:
//
//   budget 8:   running A (decode)   [.] 1 token
//               running B (prefill)  [.....] 5 tokens (chunk of a long prompt)
//               waiting C            [..] 2 tokens (first chunk; admitted)
//
// Order: (QoS class priority, request priority under the "priority" policy, arrival). When the
// KV cache runs out, the last-ordered preemptible running request not yet scheduled this step
// is preempted by recompute (blocks freed, back to waiting with num_computed_tokens = 0; the
// prefix cache makes the redo cheap). Requests of non-preemptible classes reserve blocks for
// their whole length at admission, so they always progress and are never preempted.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "engine/base/status.h"
#include "engine/core/engine_config.h"
#include "engine/core/output_sink.h"
#include "engine/core/request.h"
#include "engine/kv/kv_cache_manager.h"
#include "engine/runner/model_runner.h"

namespace specd {

// One step's work: the runner's batch and, in the same order, the requests it came from.
struct StepPlan {
  SchedulerOutput batch;
  // nullptr where the request finished while the step was in flight (Drop): entries keep their
  // indices, which match the runner's output.
  std::vector<Request*> requests;
  std::vector<int64_t> num_scheduled_tokens;  // drafts included
  int32_t num_preempted = 0;
  // Ids the batch's spans point to that the Requests do not hold contiguously: a sequence's last
  // token followed by its drafts; a fed sequence's placeholder token and its output history with
  // the pending token. A deque keeps them in place.
  std::deque<std::vector<int32_t>> token_buffers;

  bool empty() const { return requests.empty(); }
  void Add(ScheduledSequence sequence, Request* request, int64_t num_tokens);
  // Forgets `request` (it is about to be destroyed); its batch entry stays.
  void Drop(const Request* request);
};

struct SchedulerStats {
  int64_t num_preemptions = 0;
  int64_t num_verify_steps = 0;     // request-steps that verified drafts
  int64_t num_drafted_tokens = 0;   // drafts verified
  int64_t num_accepted_tokens = 0;  // of those, accepted
};

class Scheduler {
 public:
  Scheduler(const EngineConfig& config, int64_t max_model_len, std::vector<int32_t> eos_token_ids);

  // Why a request could never run (prompt + max_tokens beyond the context or the whole cache),
  // or OK. INVALID_ARGUMENT naming the numbers.
  Status CheckFits(const Request& request) const;

  // Stops freeing KV blocks that fell out of the model's sliding window (a draft model shares the
  // block tables). Precondition: no request holds blocks.
  void KeepBlocksOutsideWindow() { kv_.KeepBlocksOutsideWindow(); }

  // Takes a new request into the waiting queue. Precondition: CheckFits(request).ok().
  void AddRequest(std::unique_ptr<Request> request);

  StepPlan Schedule(Clock::time_point now);

  // The step after `in_flight` (launched, Update not run yet) for the same requests, built now so
  // that it can be launched before `in_flight`'s output is back (overlapped steps):
  //
  //   in_flight:  request at [computed ... num_tokens) samples token t at position num_tokens
  //   ahead:      position num_tokens, token t fed from in_flight's sequence (fed_from_sequence)
  //
  // Each request gets a look-ahead KV slot for it. Empty (use Schedule after Update) unless
  // nobody waits, every running request is in `in_flight` and samples one token there at the end
  // of its known tokens, without drafts, penalties (they read the output tokens) or min_tokens
  // still masking, and the cache has room. Requests that finish by length with in_flight's token
  // are left out. Precondition: Update(in_flight) has not run.
  StepPlan ScheduleAhead(const StepPlan& in_flight);

  // After the runner ran `plan`: advances num_computed_tokens, appends sampled tokens, finishes
  // requests that hit a stop condition. Returns one delta per request with news. `in_flight`:
  // the step launched after `plan` (ScheduleAhead), from which finished requests are dropped.
  std::vector<RequestDelta> Update(const StepPlan& plan, const ModelOutput& output,
                                   Clock::time_point now, StepPlan* in_flight = nullptr);

  // Ends a request in any state: frees its blocks and returns its final delta; nullopt when the
  // id is unknown (already finished or never submitted).
  std::optional<RequestDelta> Finish(const std::string& request_id, FinishReason reason,
                                     const std::string& message, Clock::time_point now);

  // Running requests whose next step is a decode (their KV is complete but for the last token):
  // the ones a proposer may draft for.
  std::vector<Request*> DecodingRequests() const;
  const std::vector<Request*>& RunningRequests() const { return running_; }
  // Gives a decoding request room for `num_draft_tokens` look-ahead slots beyond its next token;
  // false (nothing changed) when the cache cannot, without preempting anyone.
  bool AllocateDraftSlots(Request& request, int64_t num_draft_tokens);

  // Ids of unfinished requests whose deadline is at or before `now`.
  std::vector<std::string> ExpiredRequests(Clock::time_point now) const;
  // Ids of every unfinished request.
  std::vector<std::string> RequestIds() const;

  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  bool empty() const { return requests_.empty(); }
  const Request* Find(const std::string& request_id) const;
  const KvCacheManager& kv_cache() const { return kv_; }
  const SchedulerStats& stats() const { return stats_; }

  // KV invariants, plus: every running request holds blocks covering its computed tokens,
  // waiting ones hold none, and the queues and the request table agree.
  Status CheckInvariants() const;

 private:
  using Key = std::tuple<int32_t, int32_t, uint64_t>;
  Key OrderKey(const Request& request) const;

  void ScheduleRunning(StepPlan& plan, int64_t& budget);
  void ScheduleWaiting(StepPlan& plan, int64_t& budget, Clock::time_point now);
  bool AllocateFor(Request& request, int64_t num_tokens, const PrefixMatch& prefix,
                   int64_t num_lookahead_tokens = 0);
  void TrimDraftsToBudget(Request& request, int64_t budget) const;
  void ApplySampled(Request& request, int64_t num_scheduled, int32_t num_drafts,
                    const std::vector<SampledToken>& sampled, RequestDelta& delta);
  Request* PickVictim(const StepPlan& plan) const;
  void Preempt(Request& request);
  void AddToPlan(Request& request, int64_t num_tokens, StepPlan& plan) const;
  bool CanScheduleAhead(const StepPlan& in_flight) const;
  bool FinishesByLengthWithNextToken(const Request& request) const;
  void AddFedToPlan(Request& request, int32_t fed_from_sequence, StepPlan& plan) const;
  SamplingRow SamplingRowFor(const Request& request, std::span<const int32_t> output_token_ids) const;
  int64_t ReservedBlocks() const;  // recomputed from scratch: O(running)
  int64_t TableSize(const Request& request) const;
  int64_t BlocksFor(int64_t num_tokens) const;
  bool ClassHasRoom(const Request& request) const;
  std::optional<FinishReason> StopReason(const Request& request) const;
  RequestDelta MakeDelta(const Request& request) const;
  void Remove(Request& request);

  EngineConfig config_;
  int64_t max_model_len_;
  std::vector<int32_t> eos_token_ids_;
  KvCacheManager kv_;
  std::unordered_map<std::string, std::unique_ptr<Request>> requests_;
  std::map<Key, Request*> waiting_;
  std::vector<Request*> running_;  // kept in OrderKey order
  SchedulerStats stats_;
  // Blocks that non-preemptible running requests may still claim; set at the start of each
  // Schedule and kept current through it.
  int64_t reserved_blocks_ = 0;
};

}  // namespace specd
