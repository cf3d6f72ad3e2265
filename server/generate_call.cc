#include "server/generate_call.h"

#include <deque>
#include <mutex>
#include <optional>

#include "engine/output/request_output_stream.h"
#include "server/request_validation.h"
#include "server/status_mapping.h"

namespace specd {
namespace {

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

v1::Timings ToTimings(const RequestTimings& t) {
  v1::Timings timings;
  const auto end = t.finished.value_or(Clock::now());
  if (t.first_scheduled) timings.set_queue_seconds(Seconds(*t.first_scheduled - t.arrival));
  if (t.first_token) {
    timings.set_time_to_first_token_seconds(Seconds(*t.first_token - t.arrival));
    timings.set_decode_seconds(Seconds(end - *t.first_token));
  }
  timings.set_total_seconds(Seconds(end - t.arrival));
  return timings;
}

v1::FinishReason ToProto(FinishReason reason) {
  return reason == FinishReason::kLength ? v1::FINISH_REASON_LENGTH : v1::FINISH_REASON_STOP;
}

// The client's deadline on the engine's clock, if it set one.
std::optional<Clock::time_point> EngineDeadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(deadline - std::chrono::system_clock::now());
}

}  // namespace

// The engine's OutputSink for one call, and the state machine of its writes. Shared by the
// engine (until the final delta) and the reactor (until OnDone).
class GenerateCall::Bridge : public OutputSink, public std::enable_shared_from_this<Bridge> {
 public:
  Bridge(GenerateCall* call, ServingContext& serving, const ValidatedGenerate& validated,
         std::string request_id)
      : call_(call),
        serving_(serving),
        request_id_(std::move(request_id)),
        qos_class_(validated.request.qos_class.empty() ? serving.default_qos_class
                                                       : validated.request.qos_class),
        settings_(validated.response),
        stream_(validated.response.detokenize ? serving.tokenizer : nullptr, validated.request.sampling,
                [this] { serving_.engine->Abort(request_id_, FinishReason::kStop); }) {}

  const std::string& request_id() const { return request_id_; }

  // Engine thread.
  void OnDelta(const RequestDelta& delta) override {
    if (!delta.tokens.empty() && previous_token_time_ && delta.timings.last_token) {
      serving_.observer->OnTokens(static_cast<int>(delta.tokens.size()),
                                  Seconds(*delta.timings.last_token - *previous_token_time_));
    }
    if (delta.timings.last_token) previous_token_time_ = delta.timings.last_token;
    stream_.OnDelta(delta);
    std::lock_guard<std::mutex> lock(mutex_);
    if (call_ == nullptr || write_in_flight_ || pump_scheduled_ || finish_called_) return;
    pump_scheduled_ = true;
    serving_.workers->Post([self = shared_from_this()] { self->Pump(); });
  }

  void Pump() {
    std::lock_guard<std::mutex> lock(mutex_);
    pump_scheduled_ = false;
    PumpLocked();
  }

  void OnWriteDone(bool ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    write_in_flight_ = false;
    outbox_.pop_front();  // the message just written (ClientGoneLocked keeps it)
    if (!ok) ClientGoneLocked();
    PumpLocked();
  }

  void OnCancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    ClientGoneLocked();
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    call_ = nullptr;
  }

 private:
  // Drops the messages nobody will read (but the one being written, which OnWriteDone pops)
  // and ends the request in the engine.
  void ClientGoneLocked() {
    if (client_gone_) return;
    client_gone_ = true;
    outbox_.erase(write_in_flight_ ? std::next(outbox_.begin()) : outbox_.begin(), outbox_.end());
    serving_.engine->Abort(request_id_, FinishReason::kAbort);
  }

  // One message out at a time; the final status after the last message. Once the client is
  // gone, the stream is still read to its end (to learn the final status), its messages dropped.
  void PumpLocked() {
    if (call_ == nullptr || write_in_flight_ || finish_called_) return;
    while (!final_status_ && (outbox_.empty() || client_gone_)) {
      auto output = stream_.Next(std::chrono::milliseconds(0));
      if (!output) break;
      Translate(*output);
      if (client_gone_) outbox_.clear();
    }
    if (!outbox_.empty()) {
      write_in_flight_ = true;
      call_->StartWrite(&outbox_.front());
      return;
    }
    if (final_status_) {
      finish_called_ = true;
      call_->Finish(ToGrpcStatus(*final_status_));
    }
  }

  v1::GenerateResponse& NewMessage() {
    outbox_.emplace_back();
    outbox_.back().set_request_id(request_id_);
    return outbox_.back();
  }

  void Translate(const StreamOutput& output) {
    if (!prompt_info_sent_) {
      prompt_info_sent_ = true;
      auto* info = NewMessage().mutable_prompt_info();
      info->set_prompt_tokens(static_cast<uint32_t>(output.last.num_prompt_tokens));
      info->set_cached_tokens(static_cast<uint32_t>(output.last.num_cached_tokens));
    }
    completion_tokens_ += static_cast<int64_t>(output.tokens.size());
    if (!output.tokens.empty() || !output.text.empty()) AddDelta(output);
    if (output.finish_reason) Finish(output);
  }

  void AddDelta(const StreamOutput& output) {
    auto* delta = NewMessage().mutable_delta();
    delta->set_text(output.text);
    for (const TokenOutput& token : output.tokens) {
      delta->add_token_ids(token.token);
      if (!settings_.logprobs) continue;
      auto* logprob = delta->add_logprobs();
      logprob->set_token_id(token.token);
      logprob->set_logprob(token.logprob);
      logprob->set_rank(static_cast<uint32_t>(token.rank));
      for (const TokenLogprob& top : token.top_logprobs) {
        auto* entry = logprob->add_top();
        entry->set_token_id(top.token);
        entry->set_logprob(top.logprob);
      }
    }
  }

  void Finish(const StreamOutput& output) {
    const FinishReason reason = *output.finish_reason;
    serving_.observer->OnFinished({request_id_, qos_class_, reason, output.last});
    final_status_ = client_gone_ ? Status(StatusCode::kCancelled, "the client went away")
                                 : FinishStatus(reason, output.error_message);
    if (!final_status_->ok()) return;
    auto* finish = NewMessage().mutable_finish();
    finish->set_reason(ToProto(reason));
    if (output.matched_stop) finish->set_stop_string(*output.matched_stop);
    if (output.matched_stop_token) finish->set_stop_token_id(*output.matched_stop_token);
    auto* usage = finish->mutable_usage();
    usage->set_prompt_tokens(static_cast<uint32_t>(output.last.num_prompt_tokens));
    usage->set_completion_tokens(static_cast<uint32_t>(completion_tokens_));
    usage->set_cached_tokens(static_cast<uint32_t>(output.last.num_cached_tokens));
    usage->set_draft_tokens(static_cast<uint32_t>(output.last.num_drafted_tokens));
    usage->set_accepted_tokens(static_cast<uint32_t>(output.last.num_accepted_tokens));
    *finish->mutable_timings() = ToTimings(output.last.timings);
  }

  std::mutex mutex_;  // guards everything below but the engine-thread-only previous_token_time_
  GenerateCall* call_;
  ServingContext& serving_;
  const std::string request_id_;
  const std::string qos_class_;
  const ResponseSettings settings_;
  RequestOutputStream stream_;
  std::deque<v1::GenerateResponse> outbox_;
  bool write_in_flight_ = false;
  bool pump_scheduled_ = false;
  bool finish_called_ = false;
  bool client_gone_ = false;
  bool prompt_info_sent_ = false;
  int64_t completion_tokens_ = 0;
  std::optional<Status> final_status_;
  std::optional<Clock::time_point> previous_token_time_;
};

GenerateCall::GenerateCall(grpc::CallbackServerContext* context, const v1::GenerateRequest* request,
                           ServingContext& serving) {
  auto validated = ValidateGenerateRequest(*request, *serving.tokenizer, *serving.model);
  if (!validated.ok()) {
    serving.observer->OnRejected(validated.status());
    Finish(ToGrpcStatus(validated.status()));
    return;
  }
  const std::string id = validated->request.request_id.empty() ? serving.NewRequestId()
                                                               : validated->request.request_id;
  bridge_ = std::make_shared<Bridge>(this, serving, *validated, id);
  EngineRequest engine_request = std::move(validated->request);
  engine_request.request_id = id;
  engine_request.deadline = EngineDeadline(*context);
  engine_request.sink = bridge_;
  const Status submitted = serving.engine->Submit(std::move(engine_request));
  if (!submitted.ok()) {
    bridge_->Detach();
    serving.observer->OnRejected(submitted);
    Finish(ToGrpcStatus(submitted));
  }
}

void GenerateCall::OnWriteDone(bool ok) { bridge_->OnWriteDone(ok); }

void GenerateCall::OnCancel() {
  if (bridge_) bridge_->OnCancel();
}

void GenerateCall::OnDone() {
  if (bridge_) bridge_->Detach();
  delete this;
}

}  // namespace specd
