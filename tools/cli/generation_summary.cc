// Gathering a Generate stream into a JSON summary (see generation_summary.h).
#include "tools/cli/generation_summary.h"

namespace specd::cli {
namespace {

nlohmann::json UsageJson(const v1::Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens()},   {"completion_tokens", usage.completion_tokens()},
          {"cached_tokens", usage.cached_tokens()},   {"draft_tokens", usage.draft_tokens()},
          {"accepted_tokens", usage.accepted_tokens()}};
}

nlohmann::json TimingsJson(const v1::Timings& timings) {
  return {{"queue_seconds", timings.queue_seconds()},
          {"time_to_first_token_seconds", timings.time_to_first_token_seconds()},
          {"decode_seconds", timings.decode_seconds()},
          {"total_seconds", timings.total_seconds()}};
}

}  // namespace

std::string FinishReasonName(v1::FinishReason reason) {
  switch (reason) {
    case v1::FINISH_REASON_STOP:
      return "stop";
    case v1::FINISH_REASON_LENGTH:
      return "length";
    default:
      return "unspecified";
  }
}

void GenerationSummary::Add(const v1::GenerateResponse& response) {
  if (request_id_.empty()) request_id_ = response.request_id();
  switch (response.kind_case()) {
    case v1::GenerateResponse::kPromptInfo:
      prompt_tokens_ = response.prompt_info().prompt_tokens();
      break;
    case v1::GenerateResponse::kDelta:
      token_ids_.insert(token_ids_.end(), response.delta().token_ids().begin(),
                        response.delta().token_ids().end());
      text_ += response.delta().text();
      break;
    case v1::GenerateResponse::kFinish:
      finish_ = response.finish();
      break;
    case v1::GenerateResponse::KIND_NOT_SET:
      break;
  }
}

nlohmann::json GenerationSummary::ToJson() const {
  nlohmann::json json = {{"request_id", request_id_}, {"token_ids", token_ids_}, {"text", text_}};
  if (prompt_tokens_) json["prompt_tokens"] = *prompt_tokens_;
  if (!finish_) return json;
  json["finish_reason"] = FinishReasonName(finish_->reason());
  if (finish_->has_stop_string()) json["stop_string"] = finish_->stop_string();
  if (finish_->has_stop_token_id()) json["stop_token_id"] = finish_->stop_token_id();
  json["usage"] = UsageJson(finish_->usage());
  json["timings"] = TimingsJson(finish_->timings());
  return json;
}

}  // namespace specd::cli
