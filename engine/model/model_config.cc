#include "engine/model/model_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/base/json_fields.h"

namespace specd {
namespace {

using Json = nlohmann::json;

StatusOr<Architecture> ParseArchitecture(const Json& json, const std::string& source) {
  std::string name;
  const auto architectures = json.find("architectures");
  if (architectures != json.end() && architectures->is_array() && !architectures->empty() &&
      (*architectures)[0].is_string()) {
    name = (*architectures)[0].get<std::string>();
  } else if (json.contains("model_type") && json["model_type"].is_string()) {
    name = json["model_type"].get<std::string>();
  } else {
    return InvalidArgumentError(source + ": missing 'architectures' (and 'model_type')");
  }
  if (name == "LlamaForCausalLM" || name == "llama") return Architecture::kLlama;
  if (name == "MistralForCausalLM" || name == "mistral") return Architecture::kMistral;
  if (name == "Qwen2ForCausalLM" || name == "qwen2") return Architecture::kQwen2;
  return UnimplementedError(source + ": architecture '" + name +
                            "' is not supported (supported: LlamaForCausalLM, "
                            "MistralForCausalLM, Qwen2ForCausalLM)");
}

// rope_scaling (classic) and rope_parameters (transformers 5) share their inner keys.
StatusOr<RopeConfig> ParseRope(const Json& json, const std::string& source) {
  const bool has_parameters = json.contains("rope_parameters") && !json["rope_parameters"].is_null();
  const std::string key = has_parameters ? "rope_parameters" : "rope_scaling";
  RopeConfig rope;
  SPECD_ASSIGN_OR_RETURN(rope.theta, JsonFields(json, source).PositiveNumber("rope_theta", 10000.0));
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return rope;
  if (!it->is_object()) return InvalidArgumentError(source + ": '" + key + "' must be an object");
  const JsonFields fields(*it, source + ": '" + key + "'");
  SPECD_ASSIGN_OR_RETURN(rope.theta, fields.PositiveNumber("rope_theta", rope.theta));
  std::string type = "default";
  for (const char* type_key : {"rope_type", "type"}) {
    if (const Json* value = fields.Find(type_key); value != nullptr && value->is_string()) {
      type = value->get<std::string>();
      break;
    }
  }
  if (type == "default") return rope;
  if (type != "linear" && type != "llama3") {
    return UnimplementedError(source + ": rope type '" + type +
                              "' is not supported (supported: default, linear, llama3)");
  }
  rope.type = type == "linear" ? RopeType::kLinear : RopeType::kLlama3;
  SPECD_ASSIGN_OR_RETURN(rope.factor, fields.PositiveNumber("factor", 0.0));
  if (rope.factor <= 0) return InvalidArgumentError(fields.source() + ": missing 'factor'");
  if (rope.type == RopeType::kLinear) return rope;
  SPECD_ASSIGN_OR_RETURN(rope.low_freq_factor, fields.PositiveNumber("low_freq_factor", 1.0));
  SPECD_ASSIGN_OR_RETURN(rope.high_freq_factor, fields.PositiveNumber("high_freq_factor", 4.0));
  if (rope.high_freq_factor <= rope.low_freq_factor) {
    return InvalidArgumentError(fields.source() + ": high_freq_factor must exceed low_freq_factor");
  }
  SPECD_ASSIGN_OR_RETURN(rope.original_max_position_embeddings,
                         fields.PositiveInt("original_max_position_embeddings", std::nullopt));
  return rope;
}

Status ReadShape(const JsonFields& fields, ModelConfig& config) {
  SPECD_ASSIGN_OR_RETURN(config.vocab_size, fields.PositiveInt("vocab_size", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.hidden_size, fields.PositiveInt("hidden_size", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.intermediate_size,
                         fields.PositiveInt("intermediate_size", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.num_hidden_layers,
                         fields.PositiveInt("num_hidden_layers", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.num_attention_heads,
                         fields.PositiveInt("num_attention_heads", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.num_key_value_heads,
                         fields.PositiveInt("num_key_value_heads", config.num_attention_heads));
  if (config.hidden_size % config.num_attention_heads != 0 && fields.Find("head_dim") == nullptr) {
    return InvalidArgumentError(fields.source() +
                                ": hidden_size is not a multiple of num_attention_heads and "
                                "no head_dim is given");
  }
  SPECD_ASSIGN_OR_RETURN(config.head_dim, fields.PositiveInt("head_dim", config.hidden_size /
                                                                          config.num_attention_heads));
  if (config.num_attention_heads % config.num_key_value_heads != 0) {
    return InvalidArgumentError(fields.source() + ": num_attention_heads (" +
                                std::to_string(config.num_attention_heads) +
                                ") is not a multiple of num_key_value_heads (" +
                                std::to_string(config.num_key_value_heads) + ")");
  }
  if (config.head_dim % 2 != 0) {
    return InvalidArgumentError(fields.source() + ": head_dim must be even for rotary embeddings");
  }
  SPECD_ASSIGN_OR_RETURN(config.max_position_embeddings,
                         fields.PositiveInt("max_position_embeddings", std::nullopt));
  SPECD_ASSIGN_OR_RETURN(config.rms_norm_eps, fields.PositiveNumber("rms_norm_eps", 1e-6));
  return OkStatus();
}

// Bias and window options, which differ per architecture.
Status ReadArchitectureOptions(const JsonFields& fields, ModelConfig& config) {
  switch (config.architecture) {
    case Architecture::kLlama: {
      SPECD_ASSIGN_OR_RETURN(const bool attention_bias, fields.Bool("attention_bias", false));
      config.qkv_bias = config.o_proj_bias = attention_bias;
      SPECD_ASSIGN_OR_RETURN(config.mlp_bias, fields.Bool("mlp_bias", false));
      return OkStatus();
    }
    case Architecture::kMistral:
      if (fields.Find("sliding_window") != nullptr) {
        SPECD_ASSIGN_OR_RETURN(config.sliding_window,
                               fields.PositiveInt("sliding_window", std::nullopt));
      }
      return OkStatus();
    case Architecture::kQwen2: {
      config.qkv_bias = true;
      SPECD_ASSIGN_OR_RETURN(const bool use_sliding_window, fields.Bool("use_sliding_window", false));
      if (use_sliding_window) {
        return UnimplementedError(fields.source() + ": Qwen2 use_sliding_window is not supported");
      }
      return OkStatus();
    }
  }
  return OkStatus();
}

void AddEosIds(const std::vector<int32_t>& ids, ModelConfig& config) {
  for (int32_t id : ids) {
    if (std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), id) ==
        config.eos_token_ids.end()) {
      config.eos_token_ids.push_back(id);
    }
  }
}

Status ReadSpecialTokens(const JsonFields& fields, ModelConfig& config) {
  SPECD_ASSIGN_OR_RETURN(const auto bos, fields.TokenIds("bos_token_id"));
  if (bos.size() > 1) return InvalidArgumentError(fields.source() + ": bos_token_id must be one id");
  if (!bos.empty()) config.bos_token_id = bos[0];
  SPECD_ASSIGN_OR_RETURN(const auto eos, fields.TokenIds("eos_token_id"));
  AddEosIds(eos, config);
  for (int32_t id : config.eos_token_ids) {
    if (id >= config.vocab_size) {
      return InvalidArgumentError(fields.source() + ": eos_token_id " + std::to_string(id) +
                                  " is outside the vocabulary");
    }
  }
  return OkStatus();
}

}  // namespace

const char* ArchitectureName(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama: return "LlamaForCausalLM";
    case Architecture::kMistral: return "MistralForCausalLM";
    case Architecture::kQwen2: return "Qwen2ForCausalLM";
  }
  return "unknown";
}

StatusOr<ModelConfig> ParseModelConfig(const std::string& config_json, const std::string& source) {
  SPECD_ASSIGN_OR_RETURN(const Json json, ParseJsonObject(config_json, source));
  const JsonFields fields(json, source);
  ModelConfig config;
  SPECD_ASSIGN_OR_RETURN(config.architecture, ParseArchitecture(json, source));
  if (const Json* act = fields.Find("hidden_act"); act != nullptr && *act != "silu") {
    return UnimplementedError(source + ": hidden_act " + act->dump() + " is not supported (silu only)");
  }
  SPECD_RETURN_IF_ERROR(ReadShape(fields, config));
  SPECD_ASSIGN_OR_RETURN(config.rope, ParseRope(json, source));
  SPECD_ASSIGN_OR_RETURN(config.tie_word_embeddings, fields.Bool("tie_word_embeddings", false));
  SPECD_RETURN_IF_ERROR(ReadArchitectureOptions(fields, config));
  SPECD_RETURN_IF_ERROR(ReadSpecialTokens(fields, config));
  for (const char* dtype_key : {"torch_dtype", "dtype"}) {
    if (const Json* dtype = fields.Find(dtype_key); dtype != nullptr && dtype->is_string()) {
      config.torch_dtype = dtype->get<std::string>();
    }
  }
  return config;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) return NotFoundError(model_dir + ": model folder not found");
  const std::string config_path = (fs::path(model_dir) / "config.json").string();
  if (!fs::exists(config_path, ec)) return NotFoundError(config_path + ": file not found");
  std::ifstream in(config_path);
  std::stringstream text;
  text << in.rdbuf();
  SPECD_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(text.str(), config_path));

  const std::string generation_path = (fs::path(model_dir) / "generation_config.json").string();
  if (fs::exists(generation_path, ec)) {
    SPECD_ASSIGN_OR_RETURN(const Json generation, ReadJsonObjectFile(generation_path));
    ModelConfig from_generation = config;
    from_generation.eos_token_ids.clear();
    SPECD_RETURN_IF_ERROR(ReadSpecialTokens(JsonFields(generation, generation_path), from_generation));
    AddEosIds(from_generation.eos_token_ids, config);
    if (!config.bos_token_id) config.bos_token_id = from_generation.bos_token_id;
  }
  return config;
}

}  // namespace specd
