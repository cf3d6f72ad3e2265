// The CPU runner's copy of a model's weights, converted to fp32 at load.
// Matrices keep Hugging Face's [out_features, in_features] row-major layout. Biases a model
// lacks are empty vectors. Immutable after construction.
#pragma once

#include <vector>

#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"

namespace specd {

struct CpuLayerWeights {
  std::vector<float> input_norm;           // [hidden]
  std::vector<float> q_proj, k_proj, v_proj;  // [q_size | kv_size, hidden]
  std::vector<float> q_bias, k_bias, v_bias;  // [q_size | kv_size] or empty
  std::vector<float> o_proj;               // [hidden, q_size]
  std::vector<float> o_bias;               // [hidden] or empty
  std::vector<float> post_attention_norm;  // [hidden]
  std::vector<float> gate_proj, up_proj;   // [intermediate, hidden]
  std::vector<float> gate_bias, up_bias;   // [intermediate] or empty
  std::vector<float> down_proj;            // [hidden, intermediate]
  std::vector<float> down_bias;            // [hidden] or empty
};

struct CpuWeights {
  std::vector<float> embedding;   // [vocab, hidden]
  std::vector<CpuLayerWeights> layers;
  std::vector<float> final_norm;  // [hidden]
  std::vector<float> lm_head;     // [vocab, hidden]; empty when tied to the embedding

  const std::vector<float>& output_projection() const { return lm_head.empty() ? embedding : lm_head; }
};

CpuWeights LoadCpuWeights(const ModelConfig& config, const ModelWeights& weights);

}  // namespace specd
