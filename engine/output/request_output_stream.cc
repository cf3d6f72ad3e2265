#include "engine/output/request_output_stream.h"

#include <algorithm>

namespace specd {

RequestOutputStream::RequestOutputStream(const Tokenizer* tokenizer, const SamplingParams& sampling,
                                         std::function<void()> end_request)
    : sampling_(sampling),
      end_request_(std::move(end_request)),
      stop_matcher_(tokenizer == nullptr ? std::vector<std::string>() : sampling.stop,
                    sampling.include_stop_str_in_output) {
  if (tokenizer != nullptr) {
    detokenizer_.emplace(*tokenizer, /*skip_special_tokens=*/true, /*continues_prompt=*/true);
  }
}

void RequestOutputStream::OnDelta(const RequestDelta& delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(delta);
  ready_.notify_one();
}

std::optional<StreamOutput> RequestOutputStream::Next(std::chrono::milliseconds timeout) {
  if (finished_) return std::nullopt;
  std::deque<RequestDelta> deltas;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
    deltas.swap(queue_);
  }
  StreamOutput output;
  for (const RequestDelta& delta : deltas) {
    Absorb(delta, output);
    if (finished_) break;
  }
  return output;
}

void RequestOutputStream::Absorb(const RequestDelta& delta, StreamOutput& output) {
  output.last = delta;
  for (const TokenOutput& token : delta.tokens) {
    output.tokens.push_back(token);
    if (!detokenizer_) continue;
    // Detokenizing an id the engine produced cannot fail: the engine checks ids against the
    // model's vocabulary, which covers the tokenizer's.
    const auto piece = detokenizer_->Append(std::span(&token.token, 1));
    if (piece.ok() && AppendText(*piece, output)) return;
  }
  if (!delta.finish_reason) return;
  output.error_message = delta.error_message;
  if (*delta.finish_reason == FinishReason::kStop && !delta.tokens.empty() &&
      std::count(sampling_.stop_token_ids.begin(), sampling_.stop_token_ids.end(),
                 delta.tokens.back().token) > 0) {
    output.matched_stop_token = delta.tokens.back().token;
  }
  if (detokenizer_) {
    if (AppendText(detokenizer_->Finish(), output)) return;
    output.text += stop_matcher_.Flush();
  }
  Finish(*delta.finish_reason, output);
}

bool RequestOutputStream::AppendText(const std::string& piece, StreamOutput& output) {
  StopStringMatcher::Result result = stop_matcher_.Append(piece);
  output.text += result.text;
  if (!result.stop_index) return false;
  output.matched_stop = sampling_.stop[*result.stop_index];
  Finish(FinishReason::kStop, output);
  if (end_request_) end_request_();
  return true;
}

void RequestOutputStream::Finish(FinishReason reason, StreamOutput& output) {
  output.finish_reason = reason;
  finished_ = true;
}

}  // namespace specd
