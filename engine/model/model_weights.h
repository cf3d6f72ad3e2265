// The weights of a Llama-family model folder, every tensor checked against the config.
//
// Hugging Face names (LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM share them):
//   model.embed_tokens.weight                      [vocab, hidden]
//   model.layers.{i}.input_layernorm.weight        [hidden]
//   model.layers.{i}.self_attn.{q,k,v}_proj.weight [q_size | kv_size, hidden]  (+ .bias if qkv_bias)
//   model.layers.{i}.self_attn.o_proj.weight       [hidden, q_size]            (+ .bias if o_proj_bias)
//   model.layers.{i}.post_attention_layernorm.weight [hidden]
//   model.layers.{i}.mlp.{gate,up}_proj.weight     [intermediate, hidden]      (+ .bias if mlp_bias)
//   model.layers.{i}.mlp.down_proj.weight          [hidden, intermediate]      (+ .bias if mlp_bias)
//   model.norm.weight                              [hidden]
//   lm_head.weight                                 [vocab, hidden]  (absent when tied)
// Immutable after Load: safe to read from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/model/model_config.h"
#include "engine/model/weight_store.h"

namespace specd {

struct WeightSpec {
  std::string name;
  std::vector<int64_t> shape;
};

// Every tensor the config calls for, in a fixed order (embedding, layers, norm, head).
std::vector<WeightSpec> ExpectedWeights(const ModelConfig& config);

// Tensor names of one decoder layer.
struct LayerWeightNames {
  std::string input_norm, q_proj, k_proj, v_proj, o_proj, q_bias, k_bias, v_bias, o_bias;
  std::string post_attention_norm, gate_proj, up_proj, down_proj, gate_bias, up_bias, down_bias;
};
LayerWeightNames LayerNames(int64_t layer);
inline constexpr char kEmbeddingName[] = "model.embed_tokens.weight";
inline constexpr char kFinalNormName[] = "model.norm.weight";
inline constexpr char kLmHeadName[] = "lm_head.weight";

class ModelWeights {
 public:
  // Opens the folder's safetensors and checks each expected tensor: present (NOT_FOUND),
  // right shape (INVALID_ARGUMENT), and bf16, fp16 or fp32 (UNIMPLEMENTED). Messages name the
  // tensor and the file.
  static StatusOr<std::unique_ptr<ModelWeights>> Load(const std::string& model_dir,
                                                      const ModelConfig& config);

  // A tensor Load checked. Precondition: `name` is one of ExpectedWeights(config).
  const TensorView& Get(const std::string& name) const;

 private:
  explicit ModelWeights(std::unique_ptr<WeightStore> store) : store_(std::move(store)) {}
  Status CheckTensor(const WeightSpec& spec) const;

  std::unique_ptr<WeightStore> store_;
};

}  // namespace specd
