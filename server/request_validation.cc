#include "server/request_validation.h"

namespace specd {
namespace {

constexpr size_t kMaxRequestIdBytes = 256;
constexpr size_t kMaxCacheSaltBytes = 256;
constexpr uint32_t kMaxDraftTokens = 16;

StatusOr<std::vector<int32_t>> PromptTokens(const v1::GenerateRequest& request,
                                            const Tokenizer& tokenizer, const ModelConfig& model) {
  switch (request.prompt_case()) {
    case v1::GenerateRequest::kText: {
      if (request.text().empty()) return InvalidArgumentError("prompt: text is empty");
      auto ids = tokenizer.Encode(request.text(), /*add_special_tokens=*/true);
      if (!ids.ok()) return ids.status().WithContext("prompt: text");
      return ids;
    }
    case v1::GenerateRequest::kTokenIds: {
      const auto& ids = request.token_ids().ids();
      if (ids.empty()) return InvalidArgumentError("prompt: token_ids is empty");
      for (int i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= model.vocab_size) {
          return InvalidArgumentError("prompt: token_ids[" + std::to_string(i) + "] = " +
                                      std::to_string(ids[i]) + " is outside the vocabulary of " +
                                      std::to_string(model.vocab_size));
        }
      }
      return std::vector<int32_t>(ids.begin(), ids.end());
    }
    case v1::GenerateRequest::PROMPT_NOT_SET:
      break;
  }
  return InvalidArgumentError("prompt: set text or token_ids");
}

void ApplySampling(const v1::SamplingOptions& in, SamplingParams& out) {
  if (in.has_temperature()) out.temperature = in.temperature();
  if (in.has_top_k()) out.top_k = in.top_k();
  if (in.has_top_p()) out.top_p = in.top_p();
  if (in.has_min_p()) out.min_p = in.min_p();
  if (in.has_repetition_penalty()) out.repetition_penalty = in.repetition_penalty();
  if (in.has_presence_penalty()) out.presence_penalty = in.presence_penalty();
  if (in.has_frequency_penalty()) out.frequency_penalty = in.frequency_penalty();
  for (const auto& [token, bias] : in.logit_bias()) out.logit_bias[token] = bias;
  if (in.has_seed()) out.seed = in.seed();
}

Status ApplyStopping(const v1::StoppingOptions& in, SamplingParams& out) {
  if (in.has_max_tokens()) {
    if (in.max_tokens() > static_cast<uint32_t>(INT32_MAX)) {
      return InvalidArgumentError("max_tokens must be >= 1, got " + std::to_string(in.max_tokens()));
    }
    out.max_tokens = static_cast<int32_t>(in.max_tokens());
  }
  if (in.has_min_tokens()) out.min_tokens = static_cast<int32_t>(std::min<uint32_t>(in.min_tokens(), INT32_MAX));
  out.stop.assign(in.stop().begin(), in.stop().end());
  out.stop_token_ids.assign(in.stop_token_ids().begin(), in.stop_token_ids().end());
  if (in.has_ignore_eos()) out.ignore_eos = in.ignore_eos();
  if (in.has_include_stop_str_in_output()) out.include_stop_str_in_output = in.include_stop_str_in_output();
  return OkStatus();
}

Status CheckRequestFields(const v1::GenerateRequest& request) {
  if (request.request_id().size() > kMaxRequestIdBytes) {
    return InvalidArgumentError("request_id must be at most " + std::to_string(kMaxRequestIdBytes) + " bytes");
  }
  if (request.cache_salt().size() > kMaxCacheSaltBytes) {
    return InvalidArgumentError("cache_salt must be at most " + std::to_string(kMaxCacheSaltBytes) + " bytes");
  }
  const auto& speculation = request.speculation();
  if (speculation.has_max_draft_tokens() &&
      (speculation.max_draft_tokens() < 1 || speculation.max_draft_tokens() > kMaxDraftTokens)) {
    return InvalidArgumentError("speculation.max_draft_tokens must be in [1, " +
                                std::to_string(kMaxDraftTokens) + "], got " +
                                std::to_string(speculation.max_draft_tokens()));
  }
  const auto& response = request.response();
  if (response.has_detokenize() && !response.detokenize() && request.stopping().stop_size() > 0) {
    return InvalidArgumentError("stop strings need response.detokenize = true");
  }
  return OkStatus();
}

}  // namespace

StatusOr<ValidatedGenerate> ValidateGenerateRequest(const v1::GenerateRequest& request,
                                                    const Tokenizer& tokenizer,
                                                    const ModelConfig& model) {
  SPECD_RETURN_IF_ERROR(CheckRequestFields(request));
  ValidatedGenerate validated;
  EngineRequest& out = validated.request;
  out.request_id = request.request_id();
  ApplySampling(request.sampling(), out.sampling);
  SPECD_RETURN_IF_ERROR(ApplyStopping(request.stopping(), out.sampling));
  const auto& response = request.response();
  if (response.has_top_logprobs()) {
    out.sampling.top_logprobs = static_cast<int32_t>(std::min<uint32_t>(response.top_logprobs(), INT32_MAX));
  }
  SPECD_RETURN_IF_ERROR(out.sampling.Validate(model.vocab_size));
  validated.response.logprobs = response.logprobs() || out.sampling.top_logprobs > 0;
  validated.response.detokenize = !response.has_detokenize() || response.detokenize();
  out.speculation = !request.speculation().has_enabled() || request.speculation().enabled();
  out.max_draft_tokens = static_cast<int32_t>(request.speculation().max_draft_tokens());
  out.priority = request.priority();
  out.qos_class = request.qos_class();
  out.cache_salt = request.cache_salt();
  SPECD_ASSIGN_OR_RETURN(out.prompt_token_ids, PromptTokens(request, tokenizer, model));
  return validated;
}

}  // namespace specd
