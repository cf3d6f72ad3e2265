// SpecConfig parsing (see spec_config.h). Pure functions; any thread.
//
// 'method' is required. The draft_model method also needs 'draft_model' (a non-empty string);
// every other key may be absent and then keeps the SpecConfig default. Keys of another method
// (ngram_* under draft_model, draft_model under n_gram_lookup, anything under none) are still
// checked but unused, so switching a preset's method needs no other edit. The range and
// ordering checks apply to the config as a whole, defaults included:
//
//   1 <= fallback_chunk_size <= chunk_size <= max_spec_tokens <= 16
//   1 <= ngram_min <= ngram_max <= 16
//   0 <= acceptance_target <= 1,   1 <= max_batch_size <= 4096
#include "engine/spec/spec_config.h"

#include <nlohmann/json.hpp>

#include "engine/base/json_fields.h"

namespace specd {
namespace {

constexpr int64_t kMaxSpecTokens = 16;
constexpr int64_t kMaxNgram = 16;
constexpr int64_t kMaxBatchSize = 4096;  // the engine's max_num_seqs limit

StatusOr<SpecMethod> ParseMethod(const JsonFields& fields) {
  if (fields.Find("method") == nullptr) return fields.Error("missing required field 'method'");
  SPECD_ASSIGN_OR_RETURN(const std::string name, fields.String("method", ""));
  if (name == "draft_model") return SpecMethod::kDraftModel;
  if (name == "n_gram_lookup") return SpecMethod::kNgramLookup;
  if (name == "none") return SpecMethod::kNone;
  return fields.Error("'method' must be \"draft_model\", \"n_gram_lookup\" or \"none\", got \"" +
                      name + "\"");
}

// An integer field in [min, max], or `value` unchanged when the field is absent.
Status ReadInt(const JsonFields& fields, const std::string& key, int64_t min, int64_t max,
               int32_t& value) {
  SPECD_ASSIGN_OR_RETURN(const int64_t read, fields.IntInRange(key, value, min, max));
  value = static_cast<int32_t>(read);
  return OkStatus();
}

// A number field in [0, 1], or `value` unchanged when the field is absent.
Status ReadFraction(const JsonFields& fields, const std::string& key, double& value) {
  const nlohmann::json* json = fields.Find(key);
  if (json == nullptr) return OkStatus();
  if (!json->is_number() || json->get<double>() < 0.0 || json->get<double>() > 1.0) {
    return fields.Error("'" + key + "' must be a number in [0, 1], got " + json->dump());
  }
  value = json->get<double>();
  return OkStatus();
}

Status ParseModels(const JsonFields& fields, SpecConfig& config) {
  SPECD_ASSIGN_OR_RETURN(config.draft_model, fields.String("draft_model", ""));
  SPECD_ASSIGN_OR_RETURN(config.verifier_model, fields.String("verifier_model", ""));
  if (config.method == SpecMethod::kDraftModel && config.draft_model.empty()) {
    return fields.Error("the draft_model method needs 'draft_model'");
  }
  return OkStatus();
}

Status ParseDraftLength(const JsonFields& fields, SpecConfig& config) {
  SPECD_RETURN_IF_ERROR(ReadInt(fields, "chunk_size", 1, kMaxSpecTokens, config.chunk_size));
  SPECD_RETURN_IF_ERROR(ReadInt(fields, "max_spec_tokens", 1, kMaxSpecTokens, config.max_spec_tokens));
  SPECD_RETURN_IF_ERROR(ReadFraction(fields, "acceptance_target", config.acceptance_target));
  SPECD_RETURN_IF_ERROR(
      ReadInt(fields, "fallback_chunk_size", 1, kMaxSpecTokens, config.fallback_chunk_size));
  if (config.fallback_chunk_size > config.chunk_size || config.chunk_size > config.max_spec_tokens) {
    return fields.Error("need fallback_chunk_size <= chunk_size <= max_spec_tokens");
  }
  return OkStatus();
}

Status ParseNgramAndBatch(const JsonFields& fields, SpecConfig& config) {
  SPECD_RETURN_IF_ERROR(ReadInt(fields, "ngram_min", 1, kMaxNgram, config.ngram_min));
  SPECD_RETURN_IF_ERROR(ReadInt(fields, "ngram_max", 1, kMaxNgram, config.ngram_max));
  if (config.ngram_min > config.ngram_max) return fields.Error("need ngram_min <= ngram_max");
  return ReadInt(fields, "max_batch_size", 1, kMaxBatchSize, config.max_batch_size);
}

StatusOr<SpecConfig> FromJson(const nlohmann::json& json, const std::string& source) {
  const JsonFields fields(json, source);
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"method", "draft_model", "verifier_model",
      "chunk_size", "max_spec_tokens", "acceptance_target", "fallback_chunk_size", "ngram_min",
      "ngram_max", "max_batch_size"}));
  SpecConfig config;
  SPECD_ASSIGN_OR_RETURN(config.method, ParseMethod(fields));
  SPECD_RETURN_IF_ERROR(ParseModels(fields, config));
  SPECD_RETURN_IF_ERROR(ParseDraftLength(fields, config));
  SPECD_RETURN_IF_ERROR(ParseNgramAndBatch(fields, config));
  return config;
}

}  // namespace

StatusOr<SpecConfig> ParseSpecConfig(const std::string& json_text, const std::string& source) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJsonObject(json_text, source));
  return FromJson(json, source);
}

StatusOr<SpecConfig> LoadSpecConfig(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(const nlohmann::json json, ReadJsonObjectFile(path));
  return FromJson(json, path);
}

std::vector<int64_t> FullDraftStepTokens(const SpecConfig& config) {
  std::vector<int64_t> tokens;
  if (!config.enabled()) return tokens;
  for (int64_t batch = 1; batch <= config.max_batch_size; batch *= 2) tokens.push_back((config.chunk_size + 1) * batch);
  return tokens;
}

}  // namespace specd
