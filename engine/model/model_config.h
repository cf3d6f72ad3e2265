// The model hyper-parameters specd needs, read from a Hugging Face folder's config.json
// (and generation_config.json for eos ids).
//
// Supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM. Both config.json forms are
// read: the classic one (rope_theta, rope_scaling) and the one transformers 5 writes
// (rope_parameters). Anything else is refused at load with a message naming the file and field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

enum class Architecture { kLlama, kMistral, kQwen2 };
const char* ArchitectureName(Architecture architecture);  // "LlamaForCausalLM", ...

enum class RopeType { kDefault, kLinear, kLlama3 };

struct RopeConfig {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  double factor = 1.0;  // linear and llama3
  // llama3 only:
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;     // Qwen2 always; Llama with attention_bias
  bool o_proj_bias = false;  // Llama with attention_bias
  bool mlp_bias = false;     // Llama with mlp_bias
  // Keys more than sliding_window - 1 positions behind the query are masked (Mistral).
  std::optional<int64_t> sliding_window;
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;  // config.json's and generation_config.json's, deduplicated
  std::string torch_dtype;             // as written ("bfloat16"); informational

  int64_t q_size() const { return num_attention_heads * head_dim; }
  int64_t kv_size() const { return num_key_value_heads * head_dim; }
};

// Reads DIR/config.json and, if present, DIR/generation_config.json.
// NOT_FOUND for a missing config.json, INVALID_ARGUMENT for malformed or inconsistent content,
// UNIMPLEMENTED for an architecture or feature specd does not support.
StatusOr<ModelConfig> LoadModelConfig(const std::string& model_dir);

// The same from JSON text; `source` names the file in error messages.
StatusOr<ModelConfig> ParseModelConfig(const std::string& config_json, const std::string& source);

}  // namespace specd
