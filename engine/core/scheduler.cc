#include "engine/core/scheduler.h"

#include <algorithm>

namespace specd {
namespace {

bool Contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool IsPreemptible(const Request& request) {
  return request.qos == nullptr || request.qos->preemptible;
}

// A fed sequence's token id and the pending token in its output history: any id in the vocabulary.
constexpr int32_t kPlaceholderToken = 0;

// Whether `request`, scheduled as `seq` with `num_scheduled` tokens, can run its next step before
// this one's token is known: the step samples exactly that one token at the end of the known
// tokens, and the next draw does not read the output tokens' values (penalties do), since the
// step ahead sees a placeholder for the pending one. Requests min_tokens still masks for wait too.
bool CanRunAhead(const Request& request, const ScheduledSequence& seq, int64_t num_scheduled) {
  const SamplingParams& sampling = request.sampling;
  return seq.sampling.has_value() && seq.num_draft_tokens == 0 && request.draft_token_ids.empty() &&
         seq.start_position + num_scheduled == request.num_tokens() &&
         sampling.repetition_penalty == 1.0f && sampling.presence_penalty == 0.0f &&
         sampling.frequency_penalty == 0.0f && sampling.min_tokens <= request.num_output_tokens();
}

}  // namespace

void StepPlan::Add(ScheduledSequence sequence, Request* request, int64_t num_tokens) {
  batch.sequences.push_back(std::move(sequence));
  requests.push_back(request);
  num_scheduled_tokens.push_back(num_tokens);
}

void StepPlan::Drop(const Request* request) {
  for (Request*& entry : requests) {
    if (entry == request) entry = nullptr;
  }
}

Scheduler::Scheduler(const EngineConfig& config, int64_t max_model_len,
                     std::vector<int32_t> eos_token_ids)
    : config_(config),
      max_model_len_(max_model_len),
      eos_token_ids_(std::move(eos_token_ids)),
      kv_(config.kv_cache) {}

int64_t Scheduler::BlocksFor(int64_t num_tokens) const {
  return (num_tokens + kv_.block_size() - 1) / kv_.block_size();
}

Status Scheduler::CheckFits(const Request& request) const {
  if (request.prompt_token_ids.empty()) return InvalidArgumentError("the prompt is empty");
  const int64_t total = request.num_prompt_tokens() + request.sampling.max_tokens;
  const std::string sizes = "prompt (" + std::to_string(request.num_prompt_tokens()) +
                            " tokens) + max_tokens (" + std::to_string(request.sampling.max_tokens) + ")";
  if (total > max_model_len_) {
    return InvalidArgumentError(sizes + " exceeds the context length " + std::to_string(max_model_len_));
  }
  if (BlocksFor(total) > kv_.num_blocks()) {
    return InvalidArgumentError(sizes + " needs " + std::to_string(BlocksFor(total)) +
                                " KV blocks but the whole cache has " + std::to_string(kv_.num_blocks()));
  }
  return OkStatus();
}

Scheduler::Key Scheduler::OrderKey(const Request& request) const {
  const int32_t class_priority = request.qos == nullptr ? 0 : request.qos->priority;
  const int32_t priority = config_.policy == SchedulingPolicy::kPriority ? request.priority : 0;
  return {class_priority, priority, request.arrival_index};
}

void Scheduler::AddRequest(std::unique_ptr<Request> request) {
  request->state = RequestState::kWaiting;
  waiting_.emplace(OrderKey(*request), request.get());
  const std::string id = request->request_id;
  requests_.emplace(id, std::move(request));
}

StepPlan Scheduler::Schedule(Clock::time_point now) {
  StepPlan plan;
  int64_t budget = config_.max_num_batched_tokens;
  reserved_blocks_ = ReservedBlocks();
  ScheduleRunning(plan, budget);
  // As in vLLM: a step that had to preempt admits nobody, so the freed blocks go to the
  // requests already running.
  if (plan.num_preempted == 0) ScheduleWaiting(plan, budget, now);
  return plan;
}

void Scheduler::ScheduleRunning(StepPlan& plan, int64_t& budget) {
  std::sort(running_.begin(), running_.end(),
            [this](const Request* a, const Request* b) { return OrderKey(*a) < OrderKey(*b); });
  size_t i = 0;
  while (i < running_.size() && budget > 0) {
    Request* request = running_[i];
    TrimDraftsToBudget(*request, budget);
    const int64_t num_tokens = std::min(
        request->num_tokens() + static_cast<int64_t>(request->draft_token_ids.size()) - request->num_computed_tokens,
        budget);
    kv_.FreeOutsideWindow(*request);  // before allocating: what it frees may serve this step
    bool preempted_self = false;
    while (num_tokens > 0) {
      if (AllocateFor(*request, num_tokens, {})) {
        AddToPlan(*request, num_tokens, plan);
        budget -= num_tokens;
        break;
      }
      Request* victim = PickVictim(plan);
      if (victim == nullptr) break;  // non-preemptible and blocked: try again next step
      Preempt(*victim);
      ++plan.num_preempted;
      if (victim == request) {
        preempted_self = true;
        break;
      }
    }
    if (!preempted_self) ++i;  // a preempted request left running_, so i already points past it
  }
}

void Scheduler::ScheduleWaiting(StepPlan& plan, int64_t& budget, Clock::time_point now) {
  auto it = waiting_.begin();
  while (it != waiting_.end() && budget > 0 &&
         static_cast<int64_t>(running_.size()) < config_.max_num_seqs) {
    Request& request = *it->second;
    if (!ClassHasRoom(request)) {
      ++it;
      continue;
    }
    const PrefixMatch prefix = kv_.FindPrefix(request);
    const int64_t num_tokens = std::min(request.num_tokens() - prefix.num_tokens, budget);
    if (!IsPreemptible(request) &&
        BlocksFor(request.num_prompt_tokens() + request.sampling.max_tokens) >
            kv_.num_free_blocks() - reserved_blocks_) {
      break;  // its whole-length reservation does not fit yet
    }
    if (!AllocateFor(request, num_tokens, prefix)) break;  // keep the order: no skipping ahead
    it = waiting_.erase(it);
    request.num_computed_tokens = prefix.num_tokens;
    request.draft_num_computed = 0;  // the draft model's KV is recomputed, cached blocks or not
    if (!request.timings.first_scheduled) {
      request.timings.first_scheduled = now;
      request.num_cached_tokens = prefix.num_tokens;
    }
    request.state = RequestState::kRunning;
    running_.push_back(&request);
    AddToPlan(request, num_tokens, plan);
    budget -= num_tokens;
  }
}

// Non-preemptible requests draw on their reservation; the others may only use blocks that no
// reservation holds.
bool Scheduler::AllocateFor(Request& request, int64_t num_tokens, const PrefixMatch& prefix,
                            int64_t num_lookahead_tokens) {
  const int64_t have = TableSize(request);
  if (IsPreemptible(request)) {
    const int64_t need = BlocksFor(request.num_computed_tokens + prefix.num_tokens + num_tokens +
                                   num_lookahead_tokens) - have;
    if (need > kv_.num_free_blocks() - reserved_blocks_) return false;
    return kv_.Allocate(request, num_tokens, prefix, num_lookahead_tokens);
  }
  const bool admitting = request.state == RequestState::kWaiting;
  if (!kv_.Allocate(request, num_tokens, prefix, num_lookahead_tokens)) return false;
  // The request's reservation (what its whole length may still claim) appears on admission and
  // shrinks by what each allocation gives it.
  const int64_t whole = BlocksFor(request.num_prompt_tokens() + request.sampling.max_tokens);
  const int64_t before = admitting ? 0 : std::max<int64_t>(0, whole - have);
  reserved_blocks_ += std::max<int64_t>(0, whole - TableSize(request)) - before;
  return true;
}

// Drafts that do not fit this step's budget (after the request's real tokens) are dropped.
void Scheduler::TrimDraftsToBudget(Request& request, int64_t budget) const {
  const int64_t real = request.num_tokens() - request.num_computed_tokens;
  const auto keep = static_cast<size_t>(std::max<int64_t>(0, budget - real));
  const size_t drafts = request.draft_token_ids.size();
  if (drafts <= keep) return;
  if (!request.draft_probs.empty()) request.draft_probs.resize(request.draft_probs.size() / drafts * keep);
  request.draft_token_ids.resize(keep);
}

std::vector<Request*> Scheduler::DecodingRequests() const {
  std::vector<Request*> decoding;
  for (Request* request : running_) {
    if (request->num_computed_tokens == request->num_tokens() - 1) decoding.push_back(request);
  }
  return decoding;
}

StepPlan Scheduler::ScheduleAhead(const StepPlan& in_flight) {
  if (!CanScheduleAhead(in_flight)) return {};
  reserved_blocks_ = ReservedBlocks();
  // One token per request of in_flight, which fit max_num_batched_tokens with at least one each.
  StepPlan ahead;
  for (size_t i = 0; i < in_flight.requests.size(); ++i) {
    Request* request = in_flight.requests[i];
    if (request == nullptr || FinishesByLengthWithNextToken(*request)) continue;
    // What this frees lies wholly before the window of in_flight's query (Update has not run),
    // so neither step reads it, and only steps launched after these can be given it.
    kv_.FreeOutsideWindow(*request);
    // On failure the blocks given to requests before stay theirs as look-ahead slots; the next
    // Schedule uses them.
    if (!AllocateFor(*request, request->num_tokens() - request->num_computed_tokens, {},
                     /*num_lookahead_tokens=*/1)) {
      return {};
    }
    AddFedToPlan(*request, static_cast<int32_t>(i), ahead);
  }
  return ahead;
}

// Nobody waits (ScheduleAhead would keep them waiting) and every running request is in
// in_flight, able to run ahead.
bool Scheduler::CanScheduleAhead(const StepPlan& in_flight) const {
  if (!waiting_.empty()) return false;
  size_t num_requests = 0;
  for (size_t i = 0; i < in_flight.requests.size(); ++i) {
    const Request* request = in_flight.requests[i];
    if (request == nullptr) continue;
    if (!CanRunAhead(*request, in_flight.batch.sequences[i], in_flight.num_scheduled_tokens[i])) return false;
    ++num_requests;
  }
  return num_requests == running_.size();
}

// StopReason's length conditions, one token from now.
bool Scheduler::FinishesByLengthWithNextToken(const Request& request) const {
  return request.num_output_tokens() + 1 >= request.sampling.max_tokens ||
         request.num_tokens() + 1 >= max_model_len_;
}

bool Scheduler::AllocateDraftSlots(Request& request, int64_t num_draft_tokens) {
  reserved_blocks_ = ReservedBlocks();
  return AllocateFor(request, request.num_tokens() - request.num_computed_tokens, {}, num_draft_tokens);
}

int64_t Scheduler::TableSize(const Request& request) const {
  return kv_.HasBlocks(request.request_id)
             ? static_cast<int64_t>(kv_.BlockTable(request.request_id).size()) : 0;
}

int64_t Scheduler::ReservedBlocks() const {
  int64_t reserved = 0;
  for (const Request* request : running_) {
    if (IsPreemptible(*request)) continue;
    const int64_t whole = BlocksFor(request->num_prompt_tokens() + request->sampling.max_tokens);
    reserved += std::max<int64_t>(0, whole - TableSize(*request));
  }
  return reserved;
}

// The last-ordered preemptible running request that is not part of this step yet.
Request* Scheduler::PickVictim(const StepPlan& plan) const {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    Request* candidate = *it;
    if (!IsPreemptible(*candidate)) continue;
    if (std::find(plan.requests.begin(), plan.requests.end(), candidate) != plan.requests.end()) continue;
    return candidate;
  }
  return nullptr;
}

void Scheduler::Preempt(Request& request) {
  kv_.Free(request.request_id);
  running_.erase(std::find(running_.begin(), running_.end(), &request));
  request.num_computed_tokens = 0;
  request.draft_num_computed = 0;
  request.draft_probs.clear();
  request.draft_token_ids.clear();
  request.state = RequestState::kWaiting;
  ++request.num_preemptions;
  ++stats_.num_preemptions;
  waiting_.emplace(OrderKey(request), &request);
}

bool Scheduler::ClassHasRoom(const Request& request) const {
  if (request.qos == nullptr || request.qos->max_running == 0) return true;
  const auto same_class = std::count_if(running_.begin(), running_.end(),
                                        [&](const Request* r) { return r->qos == request.qos; });
  return same_class < request.qos->max_running;
}

void Scheduler::AddToPlan(Request& request, int64_t num_tokens, StepPlan& plan) const {
  ScheduledSequence seq;
  const auto computed = static_cast<size_t>(request.num_computed_tokens);
  const int64_t num_drafts = static_cast<int64_t>(request.draft_token_ids.size());
  if (num_drafts == 0) {
    seq.token_ids = std::span<const int32_t>(request.all_token_ids).subspan(computed, static_cast<size_t>(num_tokens));
  } else {
    // The request's last token(s) and its drafts, contiguous in a buffer the plan owns.
    std::vector<int32_t>& buffer = plan.token_buffers.emplace_back(request.all_token_ids.begin() + static_cast<int64_t>(computed),
                                                                  request.all_token_ids.end());
    buffer.insert(buffer.end(), request.draft_token_ids.begin(), request.draft_token_ids.end());
    seq.token_ids = buffer;
    seq.num_draft_tokens = static_cast<int32_t>(num_drafts);
    seq.draft_probs = request.draft_probs;
  }
  seq.start_position = request.num_computed_tokens;
  seq.block_table = kv_.BlockTable(request.request_id);
  if (request.num_computed_tokens + num_tokens == request.num_tokens() + num_drafts) {
    // The step reaches the end of the known tokens: it yields the next token (after verifying
    // the drafts, whose positions each get logits).
    for (int64_t i = num_tokens - num_drafts - 1; i < num_tokens; ++i) {
      seq.logits_indices.push_back(static_cast<int32_t>(i));
    }
    seq.sampling = SamplingRowFor(request, request.output_token_ids);
  }
  plan.Add(std::move(seq), &request, num_tokens);
}

// One token at position num_tokens(): the one the step launched before samples for the request
// (its sequence `fed_from_sequence`). The request then samples the token after it.
void Scheduler::AddFedToPlan(Request& request, int32_t fed_from_sequence, StepPlan& plan) const {
  ScheduledSequence seq;
  seq.token_ids = plan.token_buffers.emplace_back(1, kPlaceholderToken);
  seq.fed_from_sequence = fed_from_sequence;
  seq.start_position = request.num_tokens();
  seq.block_table = kv_.BlockTable(request.request_id);
  seq.logits_indices = {0};
  // The pending token counts in the history's length: the draw for output position n uses n.
  std::vector<int32_t>& history = plan.token_buffers.emplace_back(request.output_token_ids);
  history.push_back(kPlaceholderToken);
  seq.sampling = SamplingRowFor(request, history);
  plan.Add(std::move(seq), &request, 1);
}

SamplingRow Scheduler::SamplingRowFor(const Request& request, std::span<const int32_t> output_token_ids) const {
  return SamplingRow{.logits = {},
                     .params = &request.sampling,
                     .seed = request.seed,
                     .prompt_token_ids = request.prompt_token_ids,
                     .output_token_ids = output_token_ids,
                     .eos_token_ids = eos_token_ids_};
}

std::vector<RequestDelta> Scheduler::Update(const StepPlan& plan, const ModelOutput& output,
                                            Clock::time_point now, StepPlan* in_flight) {
  std::vector<RequestDelta> deltas;
  for (size_t i = 0; i < plan.requests.size(); ++i) {
    if (plan.requests[i] == nullptr) continue;  // finished while the step was in flight
    Request& request = *plan.requests[i];
    const int32_t num_drafts = plan.batch.sequences[i].num_draft_tokens;
    const std::vector<SampledToken> no_tokens;
    const auto& sampled = i < output.sampled.size() ? output.sampled[i] : no_tokens;
    RequestDelta delta;
    ApplySampled(request, plan.num_scheduled_tokens[i], num_drafts, sampled, delta);
    if (sampled.empty()) continue;
    if (!request.timings.first_token) request.timings.first_token = now;
    request.timings.last_token = now;
    const bool finished = delta.finish_reason.has_value();
    if (finished) request.timings.finished = now;
    RequestDelta full = MakeDelta(request);
    full.tokens = std::move(delta.tokens);
    full.finish_reason = delta.finish_reason;
    if (finished) {
      full.accepted_per_position = request.accepted_per_position;
      if (in_flight != nullptr) in_flight->Drop(&request);
      Remove(request);
    }
    deltas.push_back(std::move(full));
  }
  return deltas;
}

// Advances the request by what the runner computed and sampled: the accepted drafts' KV counts
// as computed, the rejected ones' does not (their slots are simply overwritten later). Tokens are
// appended one by one so that a stop inside an accepted run cuts the output exactly there.
void Scheduler::ApplySampled(Request& request, int64_t num_scheduled, int32_t num_drafts,
                             const std::vector<SampledToken>& sampled, RequestDelta& delta) {
  const int32_t accepted = sampled.empty() ? 0 : static_cast<int32_t>(sampled.size()) - 1;
  request.num_computed_tokens += num_scheduled - (num_drafts - accepted);
  request.draft_token_ids.clear();
  request.draft_probs.clear();
  if (num_drafts > 0) {
    request.last_drafted = num_drafts;
    request.last_accepted = accepted;
    request.num_drafted_tokens += num_drafts;
    request.num_accepted_tokens += accepted;
    if (request.accepted_per_position.size() < static_cast<size_t>(num_drafts)) {
      request.accepted_per_position.resize(static_cast<size_t>(num_drafts));
    }
    for (int32_t position = 0; position < accepted; ++position) ++request.accepted_per_position[static_cast<size_t>(position)];
    ++stats_.num_verify_steps;
    stats_.num_drafted_tokens += num_drafts;
    stats_.num_accepted_tokens += accepted;
  }
  for (const SampledToken& token : sampled) {
    request.AppendOutputToken(token.token);
    delta.tokens.push_back({token.token, token.logprob, token.rank, token.top_logprobs});
    if (const auto reason = StopReason(request)) {
      delta.finish_reason = reason;
      break;
    }
  }
  // The draft model's KV is valid up to the last token it saw unchanged; the newest token is
  // always new to it.
  request.draft_num_computed = std::min(request.draft_num_computed, request.num_tokens() - 1);
  kv_.CacheComputedBlocks(request);
}

std::optional<FinishReason> Scheduler::StopReason(const Request& request) const {
  const int32_t last = request.output_token_ids.back();
  const SamplingParams& sampling = request.sampling;
  if (!sampling.ignore_eos && Contains(eos_token_ids_, last)) return FinishReason::kStop;
  if (Contains(sampling.stop_token_ids, last)) return FinishReason::kStop;
  if (request.num_output_tokens() >= sampling.max_tokens) return FinishReason::kLength;
  if (request.num_tokens() >= max_model_len_) return FinishReason::kLength;
  return std::nullopt;
}

std::optional<RequestDelta> Scheduler::Finish(const std::string& request_id, FinishReason reason,
                                              const std::string& message, Clock::time_point now) {
  const auto it = requests_.find(request_id);
  if (it == requests_.end()) return std::nullopt;
  Request& request = *it->second;
  request.timings.finished = now;
  RequestDelta delta = MakeDelta(request);
  delta.finish_reason = reason;
  delta.error_message = message;
  delta.accepted_per_position = request.accepted_per_position;
  Remove(request);
  return delta;
}

RequestDelta Scheduler::MakeDelta(const Request& request) const {
  RequestDelta delta;
  delta.request_id = request.request_id;
  delta.num_prompt_tokens = request.num_prompt_tokens();
  delta.num_cached_tokens = request.num_cached_tokens;
  delta.num_output_tokens = request.num_output_tokens();
  delta.num_preemptions = request.num_preemptions;
  delta.num_drafted_tokens = request.num_drafted_tokens;
  delta.num_accepted_tokens = request.num_accepted_tokens;
  delta.timings = request.timings;
  return delta;
}

void Scheduler::Remove(Request& request) {
  if (request.state == RequestState::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), &request));
  } else if (request.state == RequestState::kWaiting) {
    waiting_.erase(OrderKey(request));
  }
  kv_.Free(request.request_id);  // also drops the hashes of a request that only looked up a prefix
  request.state = RequestState::kFinished;
  const std::string id = request.request_id;  // the key must outlive the erase
  requests_.erase(id);  // destroys the request: keep this last
}

std::vector<std::string> Scheduler::ExpiredRequests(Clock::time_point now) const {
  std::vector<std::string> expired;
  for (const auto& [id, request] : requests_) {
    if (request->deadline && *request->deadline <= now) expired.push_back(id);
  }
  return expired;
}

std::vector<std::string> Scheduler::RequestIds() const {
  std::vector<std::string> ids;
  for (const auto& entry : requests_) ids.push_back(entry.first);
  return ids;
}

const Request* Scheduler::Find(const std::string& request_id) const {
  const auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : it->second.get();
}

Status Scheduler::CheckInvariants() const {
  SPECD_RETURN_IF_ERROR(kv_.CheckInvariants());
  if (waiting_.size() + running_.size() != requests_.size()) {
    return InternalError("scheduler: waiting + running != requests");
  }
  for (const Request* request : running_) {
    if (request->state != RequestState::kRunning) return InternalError(request->request_id + ": in running_ but not running");
    if (!kv_.HasBlocks(request->request_id) ||
        static_cast<int64_t>(kv_.BlockTable(request->request_id).size()) * kv_.block_size() <
            request->num_computed_tokens) {
      return InternalError(request->request_id + ": running without blocks for its computed tokens");
    }
  }
  for (const auto& [key, request] : waiting_) {
    if (request->state != RequestState::kWaiting) return InternalError(request->request_id + ": queued but not waiting");
    if (kv_.HasBlocks(request->request_id)) return InternalError(request->request_id + ": waiting with blocks");
    if (request->num_computed_tokens != 0) return InternalError(request->request_id + ": waiting with computed tokens");
  }
  return OkStatus();
}

}  // namespace specd
