#include "engine/runner/cpu_weights.h"

namespace specd {
namespace {

std::vector<float> ToFloat(const ModelWeights& weights, const std::string& name) {
  const TensorView& tensor = weights.Get(name);
  std::vector<float> values(static_cast<size_t>(tensor.num_elements()));
  ConvertToFloat(tensor.dtype, tensor.data, values);
  return values;
}

std::vector<float> ToFloatIf(bool present, const ModelWeights& weights, const std::string& name) {
  return present ? ToFloat(weights, name) : std::vector<float>();
}

CpuLayerWeights LoadLayer(const ModelConfig& config, const ModelWeights& weights, int64_t layer) {
  const LayerWeightNames names = LayerNames(layer);
  return CpuLayerWeights{
      .input_norm = ToFloat(weights, names.input_norm),
      .q_proj = ToFloat(weights, names.q_proj),
      .k_proj = ToFloat(weights, names.k_proj),
      .v_proj = ToFloat(weights, names.v_proj),
      .q_bias = ToFloatIf(config.qkv_bias, weights, names.q_bias),
      .k_bias = ToFloatIf(config.qkv_bias, weights, names.k_bias),
      .v_bias = ToFloatIf(config.qkv_bias, weights, names.v_bias),
      .o_proj = ToFloat(weights, names.o_proj),
      .o_bias = ToFloatIf(config.o_proj_bias, weights, names.o_bias),
      .post_attention_norm = ToFloat(weights, names.post_attention_norm),
      .gate_proj = ToFloat(weights, names.gate_proj),
      .up_proj = ToFloat(weights, names.up_proj),
      .gate_bias = ToFloatIf(config.mlp_bias, weights, names.gate_bias),
      .up_bias = ToFloatIf(config.mlp_bias, weights, names.up_bias),
      .down_proj = ToFloat(weights, names.down_proj),
      .down_bias = ToFloatIf(config.mlp_bias, weights, names.down_bias),
  };
}

}  // namespace

CpuWeights LoadCpuWeights(const ModelConfig& config, const ModelWeights& weights) {
  CpuWeights cpu;
  cpu.embedding = ToFloat(weights, kEmbeddingName);
  for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    cpu.layers.push_back(LoadLayer(config, weights, layer));
  }
  cpu.final_norm = ToFloat(weights, kFinalNormName);
  if (!config.tie_word_embeddings) cpu.lm_head = ToFloat(weights, kLmHeadName);
  return cpu;
}

}  // namespace specd
